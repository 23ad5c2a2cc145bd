"""The pipeline, end to end: the one place that strings I/O steps together.

:meth:`Pipeline.start` first (making a Pipeline touches nothing): the config's
known-article files loaded (:mod:`monitor.seed_import`), the feed list synced.

A poll cycle, per feed (feeds run concurrently; one failing never stops the
others)::

    fetch ──> parse ──> identify ──> fingerprint ──> match ──> judge ──> store
    (HTTP)   (bytes→    (stable      (dedup           (watch    (new?      (entries, matches,
              Entry)     key)         features)        rules)    copy?      alert queue: one txn)
                                                                 alerts?)
             └── monitor.prepare: one job in a worker ───┘ └──── writer thread ────┘

A cycle's feeds run on the fetcher's own event loop, in its thread, beside
their downloads. Parsing and the pure per-entry work after it run as one job
in a worker process (large documents) or a thread, and come back as values.
Every database step runs in one writer thread, a feed at a time, so a feed's
entries are stored before the next feed's are judged against them. The
caller's event loop stays free for the scheduler and the ops endpoint.

Judging a feed's new entries alternates reads and decisions; every decision
is :mod:`monitor.intake`'s, over values, and this module only reads what it
needs and writes what it decided::

    read (writer thread)                     decide (monitor.intake, pure)
    stored keys, older keys' texts  ──────>  unseen: which entries are new
                                             admit: date, backfill, lookup scope
    duplicate lookup in the index   <──────  Lookup.ALL or Lookup.PENDING
    the copied story's standing     ──────>  judge: original, copy or story member;
    store entries, queue alerts     <──────  story outcome; the alerts to queue for

A digest run, per alert::

    pending items ──> build ──> outbox ──> relay (render, send) ──> ledger
    (store)          (pure)     (digest +   (email, webhook)        (sent only
                                deliveries,                          after the
                                one txn)                             send succeeded)

Every stage between fetch and relay is a pure function over value objects
(:mod:`monitor.types`, :mod:`monitor.intake`) with ``now`` and settings passed
in. This module holds no decisions of its own beyond ordering them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import random
import socket
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from monitor.config import AlertConfig, Config, FeedConfig, in_quiet_hours
from monitor.dedup.settings import with_overrides
from monitor.errors import (
    FeedError,
    PermanentFetchError,
    StoreError,
    TransientFetchError,
)
from monitor.fetch.client import Fetcher
from monitor.fetch.policy import max_jitter, next_poll_at, with_retry_after
from monitor.fetch.unchanged import body_hash
from monitor.ops.failpoints import failpoint
from monitor.store.feedstate import FeedState, PollRecord
from monitor.types import Digest, FetchResult, NewEntry, ParsedFeed
from monitor.words import counted, noun
from monitor.writer import Batched, Done, Writer

if TYPE_CHECKING:  # the senders (httpx clients, SMTP, templates) load when a digest goes out
    from monitor.dedup.cache import FeatureCache
    from monitor.dedup.features import Features
    from monitor.dedup.index import DedupIndex
    from monitor.dedup.pending import PendingStories
    from monitor.dedup.tailed import TailedIndex
    from monitor.deliver.relay import RelayOutcome
    from monitor.fetch.settings import FetchSettings
    from monitor.fulltext import TeaserFilter
    from monitor.intake import IntakeSettings
    from monitor.parse.pool import ParserPool
    from monitor.prepare import PreparedEntry, RuleSource
    from monitor.rules import RuleSet, WatchSpec
    from monitor.store.dedup_index import DatabaseDedupIndex
    from monitor.store.express import ExpressFeeds
    from monitor.store.outbox import Delivery
    from monitor.store.store import Store

# A poll of unchanged feeds (every feed answering 304) parses, judges and fingerprints
# nothing: the parsers, the intake decisions, the dedup indexes and the compiled rules are
# imported and built where first used, not at start-up (about 60 ms of a 304 cycle's CPU).

log = logging.getLogger(__name__)

POLL_RESULT = "poll_result"
"""Marks the log records that a feed's result or the cycle's summary makes; ``monitor poll``
prints those itself on a terminal, and drops the record so that each shows once."""

Clock = Callable[[], datetime]
_T = TypeVar("_T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What one feed's poll did."""

    url: str
    status: str
    """``updated``, ``not_modified`` or ``error``."""
    seen: int = 0
    """Items in the feed document."""
    new: int = 0
    """Items stored for the first time."""
    matched: int = 0
    """New items that matched at least one watch."""
    queued: int = 0
    """New items queued for at least one alert."""
    duplicates: int = 0
    """New items that copy an article already known (joined to its story or suppressed)."""
    error: str | None = None
    error_kind: str = ""
    """A metrics label for the error (``timeout``, ``http_5xx``, ``parse``...)."""
    name: str = ""
    """The feed's configured name (its display name)."""
    note: str | None = None
    """What the size caps cut from the document (``fetch.max_items_per_feed``...)."""


@dataclass(frozen=True, slots=True)
class PollSummary:
    """What a whole poll cycle did."""

    feeds: tuple[FeedOutcome, ...]
    started_at: datetime
    finished_at: datetime

    @property
    def new(self) -> int:
        return sum(f.new for f in self.feeds)

    @property
    def matched(self) -> int:
        return sum(f.matched for f in self.feeds)

    @property
    def errors(self) -> tuple[FeedOutcome, ...]:
        return tuple(f for f in self.feeds if f.status == "error")

    def line(self) -> str:
        seconds = (self.finished_at - self.started_at).total_seconds()
        unchanged = sum(1 for f in self.feeds if f.status == "not_modified")
        duplicates = sum(f.duplicates for f in self.feeds)
        return (
            f"poll: {counted(len(self.feeds), 'feed')} in {seconds:.1f}s, "
            f"{self.new} new {noun(self.new, 'entry', 'entries')}, {self.matched} matched, "
            f"{counted(duplicates, 'duplicate')}, {unchanged} unchanged, "
            f"{len(self.errors)} failed"
        )


@dataclass(frozen=True, slots=True)
class DigestSummary:
    """What a digest run did for one alert."""

    alert: str
    built: Digest | None
    deliveries: tuple[RelayOutcome, ...] = field(default_factory=tuple)


def watch_specs(config: Config) -> list[WatchSpec]:
    from monitor.rules import WatchSpec

    return [
        WatchSpec(w.name, w.query, w.exclude, w.min_score, w.min_focus, w.guards)
        for w in config.watches
    ]


def rule_source(config: Config) -> RuleSource:
    """The watches with all they are compiled with: aliases, ``rules:`` settings, guards."""
    from monitor.prepare import RuleSource

    return RuleSource.of(
        watch_specs(config), config.aliases, config.rules.settings, config.guard_queries()
    )


def compile_rules(config: Config) -> RuleSet:
    return rule_source(config).compile()


def intake_settings(config: Config) -> IntakeSettings:
    """What :mod:`monitor.intake` decides by, from the config."""
    from monitor.intake import AlertRoute, IntakeSettings

    retention, dedup = config.retention, with_overrides(config.dedup)
    return IntakeSettings(
        backfill_window=config.fetch.backfill_window,
        retention=retention.entries if retention.enabled else None,
        future_allowance=config.fetch.future_allowance,
        lookup_unmatched=dedup.lookup_unmatched,
        skip_unmatched=dedup.skips_unmatched,
        alerts=tuple(AlertRoute(a.name, frozenset(a.watches)) for a in config.alerts),
    )


def _due_again(
    feed: FeedConfig, result: FetchResult, settings: FetchSettings, rng: random.Random
) -> datetime:
    """When a feed fetched whole (a 200 or a 304) is due again: the interval counts from its
    own fetch, not from the batch's start, so a feed fetched late in a long batch does not
    come due early."""
    return next_poll_at(feed.interval, 0, None, result.fetched_at, settings, rng)


async def _answer(
    fetcher: Fetcher, state: FeedState, answer: FetchResult | Exception | None
) -> FetchResult:
    """A feed's fetch: ``answer``, when the express pass fetched it already (raised, when
    that fetch failed), or the fetcher's."""
    if answer is None:
        return await fetcher.fetch(state.fetch_url or state.url, state.etag, state.last_modified)
    if isinstance(answer, Exception):
        raise answer
    return answer


def feed_label(feed: FeedConfig) -> str:
    """A feed as logs name it: its configured name, and its address to find it by."""
    return f"{feed.display_name} ({feed.url})"


class _ParseSlot:
    """A feed's place among those parsed and waiting for the writer (``fetch.parse_ahead``):
    taken before its parse, given back when its poll ends (stored and committed, or failed).
    Used on the event loop only."""

    def __init__(self, places: asyncio.Semaphore) -> None:
        self._places = places
        self._held = False

    async def take(self) -> None:
        await self._places.acquire()
        self._held = True

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._places.release()


_PARSING = ("monitor.intake", "monitor.prepare", "monitor.sources")
"""What a feed's first parse imports (a quarter of a second of CPU)."""
_ARTICLES = (
    "monitor.enrich",
    "monitor.fetch.article",
    "monitor.fulltext",
    "monitor.parse.extract",
    "monitor.prepare",
    "monitor.store.articles",
)
"""What reading a ``full_text`` feed's articles imports."""


_IMPORTING: dict[tuple[asyncio.AbstractEventLoop, tuple[str, ...]], asyncio.Future[None]] = {}
"""The imports :func:`_imported` has under way, by loop and names."""


async def _imported(names: Sequence[str]) -> None:
    """Import ``names`` in a thread, the first time: a feed's steps run on the downloads'
    loop, where a first import would hold up every download in flight.

    A feed that comes while the import runs waits for the same import, and the feeds
    waiting go on in the order they came: a module under import is in ``sys.modules``
    already, half made, so that alone would let a later feed past an earlier one (and
    onto the half-made module)."""
    key = (asyncio.get_running_loop(), tuple(names))
    running = _IMPORTING.get(key)
    if running is None:
        if all(name in sys.modules for name in names):
            return
        running = _IMPORTING[key] = asyncio.ensure_future(asyncio.to_thread(_import_all, names))
        running.add_done_callback(partial(_import_ended, key))
    await asyncio.shield(running)  # one feed cancelled does not cancel the others' import


def _import_ended(
    key: tuple[asyncio.AbstractEventLoop, tuple[str, ...]], done: asyncio.Future[None]
) -> None:
    _IMPORTING.pop(key, None)
    if not done.cancelled():
        done.exception()  # each waiter got it; retrieved here too, should none be left


def _import_all(names: Sequence[str]) -> None:
    for name in names:
        importlib.import_module(name)


class Pipeline:
    """One configured monitor: config, compiled rules, store and clock.

    Making one touches nothing: :meth:`start` brings the database in line with the
    config (its feeds, its known articles) before the first poll.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        counted: bool = True,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.rng = rng or random.Random()
        self.counted = counted
        """Whether polls and deliveries are counted in :mod:`monitor.ops.metrics`: in the
        daemon, which serves them; a one-shot command has no one to serve them to, and
        does not import the Prometheus client (#14)."""
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.dedup = with_overrides(config.dedup)
        self._parsers: ParserPool | None = None
        self._teasers: TeaserFilter | None = None  # built when a full_text feed needs it
        self.started = False

    # Built on first use (a cycle of unchanged feeds needs none of them).

    @cached_property
    def rules(self) -> RuleSet:
        return compile_rules(self.config)

    @cached_property
    def _rule_source(self) -> RuleSource:
        return rule_source(self.config)

    @cached_property
    def _intake(self) -> IntakeSettings:
        return intake_settings(self.config)

    @cached_property
    def _features(self) -> FeatureCache:
        from monitor.dedup.cache import FeatureCache

        return FeatureCache(self.dedup.feature_cache_size, self.dedup.scheme.tag)

    @cached_property
    def _pending(self) -> PendingStories:
        from monitor.dedup.pending import PendingStories

        return PendingStories()

    @cached_property
    def _tailed(self) -> TailedIndex:
        from monitor.dedup.tailed import TailedIndex

        return TailedIndex(self.dedup.memory_gap_seconds)

    def start(self, polling: bool = False) -> Pipeline:
        """Bring the database in line with the config, once: the config's known-article
        files loaded (:mod:`monitor.seed_import`), the feed list synced. Safe from several
        replicas at once; returns the pipeline, started.

        ``polling``: a poll of every feed comes next (``monitor poll``), so feeds never
        parsed start the parser processes at once.
        """
        if not self.started:
            if self.config.seeds:
                from monitor.seed_import import load_fingerprint_files

                load_fingerprint_files(self.store, self.config.seeds, self.clock())
            fetch = self.config.fetch
            unparsed = self.store.sync_feeds(
                ((f.url, f.display_name, f.interval) for f in self.config.feeds),
                jitter=lambda wait: max_jitter(wait, fetch),
            )
            if polling and unparsed:
                # Feeds never parsed (a first start, new feeds): their first poll parses,
                # so the parser processes start now, beside the rest of the start-up and
                # not after it (bench/peers.py, cold cycle of 1,000 feeds: see #14's notes).
                # Last: nothing after it can fail and leave them running.
                self._parser_pool().warm()
            self.started = True
        return self

    # --- poll ----------------------------------------------------------------------------

    async def poll(
        self,
        feeds: Sequence[FeedConfig] | None = None,
        owner: str | None = None,
        progress: Callable[[FeedOutcome], None] | None = None,
        states: Mapping[str, FeedState] | None = None,
        express: ExpressPass | None = None,
    ) -> PollSummary:
        """Poll ``feeds`` (default: all) once, within the global and per-host limits.

        ``owner`` is the replica that leased the feeds; its leases are released
        as each poll is recorded. ``states``: the feeds' states, when the caller has
        just read them (a feed not among them reads its own). ``progress`` is called
        with each feed's outcome, from the downloads' thread. ``express``: the express
        pass this poll finishes (:func:`poll_express`): a feed it fetched takes its
        answer instead of asking again, and the summary counts its feeds too.
        """
        if not self.started:
            raise RuntimeError("Pipeline.start() must run before the first poll")
        chosen = tuple(self.config.feeds if feeds is None else feeds)
        started = self.clock() if express is None else express.started_at
        answers = dict(express.fetched) if express is not None else {}
        # Database work runs in one writer thread (monitor.writer), in turn and with
        # group commits: the event loop stays free (the scheduler, the ops endpoint),
        # and a feed's entries are stored before the next feed's are judged against them.
        writer = Writer(self.store, on_rollback=self._forget_uncommitted)
        # Unchanged feeds (the most common poll by far) are recorded many to a statement.
        unchanged = Batched(writer, partial(self._record_unchanged, owner))
        async with writer, Fetcher(self.config.fetch, self.clock) as fetcher:
            # Backpressure: downloads must not run far ahead of the writer, or parsed
            # feeds pile up in memory waiting for it.
            in_flight = asyncio.Semaphore(2 * self.config.fetch.concurrency)
            # And parsed feeds, many times the size of their bodies, wait for the writer
            # in a short line: a body waits unparsed until a place is free.
            parse_slots = asyncio.Semaphore(self.config.fetch.parse_ahead)
            if states is None:
                urls = [feed.url for feed in chosen]
                try:
                    states = await writer.run(lambda: Done(self.store.feed_states_for(urls)))
                except StoreError:
                    states = {}  # each feed reads its own state, and fails alone if it must
            known = states
            if any(
                (state := known.get(feed.url)) is None or state.body_hash is None for feed in chosen
            ):
                # A feed never parsed: this cycle parses, so the parser processes start now,
                # beside the first downloads, not in the way of the first parse.
                self._parser_pool().warm()

            async def one(feed: FeedConfig) -> FeedOutcome:
                try:
                    async with in_flight:
                        state = known.get(feed.url)
                        outcome = await self._poll_feed(
                            fetcher,
                            feed,
                            state,
                            owner,
                            writer,
                            unchanged,
                            parse_slots,
                            answers.pop(feed.url, None),
                        )
                except Exception as exc:  # a bug met on one feed must not stop the others
                    log.exception(
                        "feed %s: unexpected error", feed_label(feed), extra={"feed": feed.url}
                    )
                    outcome = FeedOutcome(
                        feed.url, "error", error=f"internal error: {exc!r}", error_kind="internal"
                    )
                outcome = replace(outcome, name=feed.display_name)
                if progress is not None:
                    progress(outcome)
                return outcome

            async def every() -> list[FeedOutcome]:
                return await asyncio.gather(*(one(feed) for feed in chosen))

            # On the downloads' own loop: each feed's steps between its awaits are light
            # (the CPU work is in the parser workers and the writer), and there its fetches
            # and its records hand over between threads half as often.
            outcomes = await fetcher.on_loop(every())
        if express is not None:
            outcomes = [*express.outcomes, *outcomes]
        summary = PollSummary(tuple(outcomes), started, self.clock())
        if self.counted:
            from monitor.ops import metrics

            for outcome in outcomes:
                metrics.POLLS.labels(outcome.status).inc()
                if outcome.status == "error":
                    metrics.FETCH_ERRORS.labels(outcome.error_kind).inc()
                metrics.ENTRIES.labels("new").inc(outcome.new)
                metrics.ENTRIES.labels("known").inc(max(0, outcome.seen - outcome.new))
        log.info(summary.line(), extra={POLL_RESULT: True})
        return summary

    async def _poll_feed(
        self,
        fetcher: Fetcher,
        feed: FeedConfig,
        state: FeedState | None,
        owner: str | None,
        writer: Writer,
        unchanged: Batched[tuple[str, PollRecord], bool],
        parse_slots: asyncio.Semaphore,
        answer: FetchResult | Exception | None = None,
    ) -> FeedOutcome:
        slot = _ParseSlot(parse_slots)
        try:
            return await self._poll_feed_holding(
                fetcher, feed, state, owner, writer, unchanged, slot, answer
            )
        finally:
            slot.give_back()

    async def _poll_feed_holding(
        self,
        fetcher: Fetcher,
        feed: FeedConfig,
        state: FeedState | None,
        owner: str | None,
        writer: Writer,
        unchanged: Batched[tuple[str, PollRecord], bool],
        slot: _ParseSlot,
        answer: FetchResult | Exception | None,
    ) -> FeedOutcome:
        # answer: the feed's fetch (or its error), when the express pass fetched it already.
        url = feed.url
        settings = self.config.fetch

        async def in_writer(call: Callable[..., _T], *args: Any) -> _T:
            return await writer.run(lambda: Done(call(*args)))

        try:
            if state is None:  # not among the cycle's states: read it (or fail) alone
                state = await in_writer(self.store.feed_state, url)
            try:
                result = await _answer(fetcher, state, answer)
                due_again = _due_again(feed, result, settings, self.rng)
                if result.not_modified:
                    record = PollRecord(
                        self.clock(), due_again, None, result.etag, result.last_modified
                    )
                    if not await unchanged.add((url, record)):
                        raise StoreError(f"feed {url} is not in the database")
                    return FeedOutcome(url, "not_modified")
                digest = body_hash(result.content)
                parsed: ParsedFeed | None = None
                prepared: tuple[PreparedEntry, ...] = ()
                if digest != state.body_hash:  # an identical body is not parsed again
                    await slot.take()
                    parsed, prepared = await self._parse(result, feed, state)
                    if parsed.warning:
                        log.warning(
                            "feed %s: %s (kept %d items)",
                            feed_label(feed),
                            parsed.warning,
                            len(parsed.entries),
                            extra={"feed": url},
                        )
                    if parsed.cut:
                        log.warning(
                            "feed %s: %s", feed_label(feed), parsed.cut, extra={"feed": url}
                        )
                    if feed.full_text != "off":
                        prepared = await self._read_articles(fetcher, feed, prepared, writer)
            except FeedError as exc:
                failures = state.consecutive_failures + 1
                delay = exc.retry_after if isinstance(exc, TransientFetchError) else None
                gone = isinstance(exc, PermanentFetchError) and exc.gone
                answered = self.clock()  # a Retry-After counts from the answer, not the cycle
                # Said in the stored error, so that a manual poll knows to leave the feed alone.
                reason = with_retry_after(exc.reason, delay)
                record = PollRecord(
                    answered,
                    next_poll_at(feed.interval, failures, delay, answered, settings, self.rng),
                    reason,
                    gone=gone,
                )
                await in_writer(self.store.record_poll, url, record, owner)
                log.warning(
                    "feed %s: %s%s",
                    feed_label(feed),
                    reason,
                    " (disabled: 410 Gone)" if gone else "",
                    extra={"feed": url, POLL_RESULT: True},
                )
                return FeedOutcome(url, "error", error=reason, error_kind=exc.kind)
            moved = result.permanent_redirect
            if moved and moved != (state.fetch_url or url):
                log.info(
                    "feed %s moved permanently to %s; polling the new address",
                    feed_label(feed),
                    moved,
                    extra={"feed": url},
                )
            record = PollRecord(
                self.clock(),
                due_again,
                None,
                result.etag,
                result.last_modified,
                digest,
                moved,
                note=parsed.cut if parsed else None,
            )
            if parsed is None:
                await in_writer(self.store.record_poll, url, record, owner)
                return FeedOutcome(url, "not_modified")
            seen = len(parsed.entries)
            # The slot is held until the group's commit: giving it back once the store job
            # had run let up to a whole group of parsed feeds wait in memory for the commit
            # (bench/poll.py: +27 MB of peak PSS, over its 300 MB target) for no measured gain.
            return await writer.run(lambda: self._store_feed(prepared, seen, state, record, owner))
        except StoreError as exc:
            log.error("feed %s: could not store: %s", feed_label(feed), exc, extra={"feed": url})
            error = f"could not store: {exc}"
            if state is not None:
                # Recorded on its own, so that the feed shows the error and keeps a due time,
                # instead of being fetched again at every lease expiry.
                answered = self.clock()
                failures = state.consecutive_failures + 1
                due = next_poll_at(feed.interval, failures, None, answered, settings, self.rng)
                with contextlib.suppress(StoreError):
                    await in_writer(
                        self.store.record_poll, url, PollRecord(answered, due, error), owner
                    )
            return FeedOutcome(url, "error", error=error, error_kind=exc.kind)

    def _record_unchanged(
        self, owner: str | None, polls: list[tuple[str, PollRecord]]
    ) -> list[bool]:
        """In the writer: store the polls of unchanged feeds together; whether each feed
        was in the database."""
        missing = set(self.store.record_unchanged(polls, owner))
        return [url not in missing for url, _ in polls]

    def _parser_pool(self) -> ParserPool:
        from monitor.parse.pool import WORKER_JOBS, ParserPool

        if self._parsers is None:
            settings = self.config.fetch
            self._parsers = ParserPool(
                settings.parse_workers,
                settings.fast_parse,
                settings.parse_timeout.total_seconds(),
                settings.item_limits,
                preload=WORKER_JOBS,  # what the workers run, shared by them
            )
        return self._parsers

    async def _parse(
        self, result: FetchResult, feed: FeedConfig, state: FeedState
    ) -> tuple[ParsedFeed, tuple[PreparedEntry, ...]]:
        """Parse and prepare (:mod:`monitor.prepare`) a body: in a worker process when it is
        large, else in a thread."""
        await _imported(_PARSING)
        from monitor.intake import fingerprint_scope
        from monitor.prepare import Recipe, parse_and_prepare, prepare
        from monitor.sources import parse_document

        settings = self.config.fetch
        scope = fingerprint_scope(self._intake, state.first_polled_at, self.clock())
        args = (result.content, feed.url, feed.display_name, result.content_type)
        scheme = self.dedup.scheme
        parsers = self._parser_pool()
        if len(result.content) >= settings.pool_parse_min_bytes:
            recipe = Recipe(
                self._rule_source,
                scheme,
                self.dedup.boilerplate_min_items,
                settings.fast_parse,
                settings.item_limits,
            )
            return await parsers.run(
                feed.url, parse_and_prepare, *args, result.final_url, feed.type, recipe, scope
            )

        def here() -> tuple[ParsedFeed, tuple[PreparedEntry, ...]]:
            parsed = parse_document(
                *args,
                fast=settings.fast_parse,
                base=result.final_url,
                limits=settings.item_limits,
                kind=feed.type,
            )
            return parsed, prepare(
                parsed.entries, self.rules, scheme, self.dedup.boilerplate_min_items, scope
            )

        return await parsers.run_in_thread(here, feed.url)

    async def _read_articles(
        self,
        fetcher: Fetcher,
        feed: FeedConfig,
        prepared: tuple[PreparedEntry, ...],
        writer: Writer,
    ) -> tuple[PreparedEntry, ...]:
        """The seam of ``full_text`` feeds (:mod:`monitor.enrich`): their new teaser entries
        judged again on the text of their article pages."""
        await _imported(_ARTICLES)
        from monitor import types
        from monitor.enrich import ArticleIO, add_article_text
        from monitor.errors import ParseError
        from monitor.fetch.article import article_caps, fetch_article
        from monitor.fulltext import TeaserFilter
        from monitor.parse.extract import extract_text
        from monitor.prepare import prepare
        from monitor.store import articles

        if feed.full_text == "matching" and self._teasers is None:
            queries = [watch.query for watch in self.config.watches]
            self._teasers = TeaserFilter(queries, self.config.aliases)
        parsers = self._parsers
        assert parsers is not None  # the feed was parsed
        caps = article_caps(self.config.fetch, self.config.full_text)
        scheme, min_items = self.dedup.scheme, self.dedup.boilerplate_min_items

        async def in_writer(call: Callable[..., _T], *args: Any) -> _T:
            return await writer.run(lambda: Done(call(*args)))

        async def prepare_again(entries: list[types.Entry]) -> tuple[PreparedEntry, ...]:
            try:
                return await parsers.run_in_thread(
                    lambda: prepare(entries, self.rules, scheme, min_items), feed.url
                )
            except ParseError:  # too slow: the entries stay judged on their summary
                return ()

        async def extract(body: bytes, page: str, limit: int) -> str:
            return await parsers.run_in_thread(lambda: extract_text(body, page, limit), page)

        io = ArticleIO(
            known=lambda keys: in_writer(self.store.known_keys, keys),
            cached=lambda urls: in_writer(articles.cached_articles, self.store, urls),
            download=lambda page: fetch_article(fetcher, page, caps),
            save=lambda pages: in_writer(articles.save_articles, self.store, pages, self.clock()),
            prepare=prepare_again,
            extract=extract,
        )
        done = await add_article_text(
            prepared, feed.full_text, self._teasers, self.config.full_text, io, now=self.clock()
        )
        if done.wanted:
            log.info(
                "feed %s: %d articles wanted, %d read now, %d cached, %d without text, "
                "%d over full_text.max_articles_per_feed; %d entries judged on the article",
                feed_label(feed),
                done.wanted,
                done.fetched,
                done.cached,
                done.failed,
                done.over_cap,
                done.with_text,
                extra={"feed": feed.url},
            )
        return done.prepared

    def close(self, keep_store: bool = False) -> None:
        """Stop the parser processes and (unless kept for a successor) release the database."""
        if self._parsers is not None:
            self._parsers.close()
            self._parsers = None
        if not keep_store:
            self.store.close()

    def _store_feed(
        self,
        prepared: Sequence[PreparedEntry],
        seen: int,
        state: FeedState,
        record: PollRecord,
        owner: str | None,
    ) -> Done[FeedOutcome]:
        """The writer's part of a changed feed: new entries and the poll record."""
        # The poll record first: it hands back the feed's id, which the entries need.
        feed_id = self.store.record_poll(state.url, record, owner)
        items, routes, features_of = self._judge_new(prepared, state, record.now)
        stored = self.store.add_entries(state.url, items, routes, record.now, feed_id)

        def after_commit() -> None:
            # Only committed ids may name cached features.
            for key, (features, packed) in features_of.items():
                if key in stored:
                    self._features.put(stored[key], features, packed)
            if not self.counted:
                return
            from monitor.ops import metrics

            for new in items:
                for match in new.matches:
                    metrics.MATCHES.labels(match.watch).inc()
                if new.duplicate is not None:
                    metrics.ENTRIES.labels(f"duplicate_{new.duplicate.outcome}").inc()

        outcome = FeedOutcome(
            state.url,
            "updated",
            seen=seen,
            new=len(stored),
            matched=sum(1 for new in items if new.matches),
            queued=len(routes),
            duplicates=sum(1 for new in items if new.duplicate is not None),
            note=record.note,
        )
        return Done(outcome, after_commit)

    def _judge_new(
        self, prepared: Sequence[PreparedEntry], state: FeedState, now: datetime
    ) -> tuple[
        tuple[NewEntry, ...], dict[str, tuple[str, ...]], dict[str, tuple[Features, bytes | None]]
    ]:
        """The reads :mod:`monitor.intake` decides on, in order: the entries not stored yet,
        each with its duplicate decision; the alerts each original must reach; the
        originals' features."""
        from monitor.dedup.cache import CachedIndex
        from monitor.dedup.features import fingerprint_entry
        from monitor.dedup.index import MemoryIndex, StoredDocument, find_duplicate, remember
        from monitor.dedup.layered import LayeredIndex
        from monitor.dedup.packed import pack
        from monitor.intake import (
            NOT_LOOKED_UP,
            FeedIntake,
            Lookup,
            Standing,
            older_keys,
            stored_original,
            unseen,
        )

        known = self.store.known_keys(item.key for item in prepared)
        older = older_keys(prepared, known)
        texts = self.store.texts_by_key(older) if older else {}
        judging = FeedIntake(self._intake, now, state.first_polled_at)
        batch = MemoryIndex()  # this feed's originals, not stored yet: later ones may copy them
        # Of the originals, to cache under their new ids: their features, and packed.
        features_of: dict[str, tuple[Features, bytes | None]] = {}
        with self.store.dedup_index(self.dedup.scheme.tag) as archive:
            stored = CachedIndex(self._candidates_from(archive), self._features, self.dedup)
            everything = LayeredIndex(stored, batch)
            pending: LayeredIndex | None = None
            for new in unseen(prepared, known, texts):
                item = new
                if judging.needs_fingerprint(new):
                    scheme = self.dedup.scheme
                    features = fingerprint_entry(new.fingerprint_input(), scheme=scheme)
                    item = replace(new, features=features, packed=pack(features, scheme.tag))
                candidate = judging.admit(item)
                if candidate.features is None or candidate.lookup is Lookup.NONE:
                    judging.judge(candidate, NOT_LOOKED_UP)
                    continue
                index = everything
                if candidate.lookup is Lookup.PENDING:
                    if pending is None:
                        self._pending.refresh(archive)
                        pending = LayeredIndex(self._pending.index(stored), batch)
                    index = pending
                decision = find_duplicate(candidate.features, index, self.dedup)
                standing = None
                of_id = stored_original(decision)
                if of_id is not None:
                    story = self.store.story_state(of_id)
                    standing = Standing(waiting=story.pending, seed=story.is_seed)
                verdict = judging.judge(candidate, decision, standing)
                if verdict.original is not None:
                    features = verdict.original
                    batch_id = candidate.batch_id
                    document = StoredDocument(
                        batch_id,
                        candidate.entry.title,
                        "",
                        features=replace(features, doc_id=batch_id),
                    )
                    remember(document, features, batch)
                    features_of[candidate.key] = (features, candidate.packed)
        return judging.items, judging.routes, features_of

    def _candidates_from(self, archive: DatabaseDedupIndex) -> DedupIndex:
        """The archive, or with ``dedup.memory_index`` its postings held in memory and
        caught up with the store (:mod:`monitor.dedup.tailed`)."""
        if not self.dedup.memory_index:
            return archive
        self._tailed.refresh(archive, time.monotonic())
        return self._tailed.view(archive)

    def _forget_uncommitted(self) -> None:
        # A rolled-back write's ids may be given out again: nothing may still name them.
        self._features.clear()
        self._pending.clear()
        self._tailed.clear()

    # --- digests -------------------------------------------------------------------------

    def preview(self, alert: AlertConfig) -> Digest | None:
        """The digest ``alert`` would get now, built but neither stored nor sent."""
        from monitor.digest.build import build_digest

        pending = self.store.pending_items(alert.name, limit=self.config.digest_max_items)
        if not pending:
            return None
        return build_digest(
            "preview",
            alert.name,
            alert.watches,
            pending,
            self.clock(),
            max_items=alert.max_items,
            title_chars=self.config.delivery.digest_title_chars,
        )

    def send_digest(
        self, alert: AlertConfig, force: bool = False, owner: str | None = None
    ) -> DigestSummary:
        """Retry the alert's unsent deliveries, then build, queue and send a new digest.

        ``force`` (an operator's ``monitor digest --send``) retries every unsent
        delivery at once and ignores quiet hours; the scheduler's runs respect
        both the backoff and the quiet hours. ``min_items`` always applies.
        Deliveries are leased to ``owner`` while they are sent.
        """
        now = self.clock()
        if not force and self.quiet(alert, now):
            log.info(
                "alert %s: quiet hours (%s); the digest waits",
                alert.name,
                alert.quiet_hours,
                extra={"alert": alert.name},
            )
            return DigestSummary(alert.name, None)
        outcomes = self._claim_and_relay(owner, alert=alert.name, due_only=not force)
        built = self._queue_digest(alert, now)
        if built is not None:
            outcomes += self._claim_and_relay(owner, digest_id=built.id, due_only=False)
        return DigestSummary(alert.name, built, tuple(outcomes))

    def relay_due(self, owner: str | None = None) -> list[RelayOutcome]:
        """Send every delivery whose retry time has come (outside its alert's quiet hours)."""
        now = self.clock()
        outcomes: list[RelayOutcome] = []
        for alert in self.config.alerts:
            if not self.quiet(alert, now):
                outcomes += self._claim_and_relay(owner, alert=alert.name, due_only=True)
        return outcomes

    def _claim_and_relay(self, owner: str | None, **filters: Any) -> list[RelayOutcome]:
        """Claim the matching deliveries a small batch at a time (``replica.delivery_batch``)
        and send each batch; each row is tried once per call."""
        replica = self.config.replica
        outcomes: list[RelayOutcome] = []
        after = 0
        while True:
            now = self.clock()
            batch = self.store.claim_deliveries(
                owner or self.owner,
                now,
                now + replica.delivery_lease,
                limit=replica.delivery_batch,
                after_id=after,
                **filters,
            )
            if not batch:
                return outcomes
            outcomes += self._relay(batch, now)
            after = batch[-1].id

    def _relay(self, deliveries: list[Delivery], now: datetime) -> list[RelayOutcome]:
        if not deliveries:
            return []
        from monitor.deliver.relay import relay

        outcomes = relay(self.store, self.config, deliveries, now, clock=self.clock)
        if self.counted:
            from monitor.ops import metrics

            for outcome in outcomes:
                metrics.DELIVERIES.labels(outcome.channel, outcome.status).inc()
                for waited in outcome.first_sight_waits():  # read with the claim, not again
                    metrics.FIRST_SIGHT_TO_DELIVERY.observe(waited)
        return outcomes

    def send_immediate(self) -> list[DigestSummary]:
        """Send the digest of every alert with a pending hit on one of its ``immediate`` watches."""
        sent = []
        for alert in self.config.alerts:
            if not alert.immediate:
                continue
            pending = self.store.pending_items(alert.name, limit=self.config.digest_max_items)
            if any(m.watch in alert.immediate for item in pending for m in item.matches):
                sent.append(self.send_digest(alert))
        return sent

    def quiet(self, alert: AlertConfig, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(alert.timezone)).time()
        return in_quiet_hours(alert.quiet_hours, local)

    def _queue_digest(self, alert: AlertConfig, now: datetime) -> Digest | None:
        from monitor.digest.build import build_digest

        pending = self.store.pending_items(alert.name, limit=self.config.digest_max_items)
        if not pending:
            return None
        digest_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:16]}"
        digest = build_digest(
            digest_id,
            alert.name,
            alert.watches,
            pending,
            now,
            max_items=alert.max_items,
            title_chars=self.config.delivery.digest_title_chars,
        )
        notices = self.store.feeds_needing_attention(
            alert.name, self.config.fetch.broken_after_failures
        )
        if notices:
            digest = digest.model_copy(update={"attention": tuple(notices)})
        if 0 < digest.item_count < alert.min_items:
            log.info(
                "alert %s: %d items, fewer than min_items %d; they wait",
                alert.name,
                digest.item_count,
                alert.min_items,
            )
            return None
        # Items whose matches no longer name a watch of this alert (the config changed) are
        # claimed by an empty digest with no deliveries, so they stop waiting.
        ids = [stored.id for stored in pending]
        from monitor.deliver.relay import delivery_targets

        targets = delivery_targets(alert) if digest.item_count else []
        if not self.store.create_digest(digest, ids, targets, now):
            log.info("alert %s: items were claimed by another process; skipping", alert.name)
            return None
        if notices and targets:
            self.store.mark_noticed(alert.name, [n.url for n in notices], now)
        log.info(
            "alert %s: queued digest %s with %d items", alert.name, digest.id, digest.item_count
        )
        failpoint("after-build")
        return digest


# --- the express pass of a one-shot poll ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpressPass:
    """What :func:`poll_express` did, and what it leaves to the full pipeline."""

    outcomes: tuple[FeedOutcome, ...]
    """The feeds it finished: each answered 304 or the body stored already, and its poll
    record is stored."""
    fetched: Mapping[str, FetchResult | Exception]
    """Feeds it fetched whose answer needs the full pipeline (a body, an error, a record
    it does not write), by URL: the answer, or the fetch's error."""
    rest: tuple[FeedConfig, ...]
    """The feeds the full pipeline is to poll: those of ``fetched``, and those not fetched
    once that many answers waited (``fetch.parse_ahead``)."""
    started_at: datetime
    shown: frozenset[str] = frozenset()
    """Feeds of ``rest`` whose progress was reported already (they answered 304, but their
    records went to the full pipeline after all)."""


async def poll_express(
    config: Config,
    feeds: Sequence[FeedConfig],
    states: Mapping[str, FeedState],
    store: ExpressFeeds,
    clock: Clock = utc_now,
    rng: random.Random | None = None,
    progress: Callable[[FeedOutcome], None] | None = None,
) -> ExpressPass:
    """Fetch ``feeds`` and store the polls of those that answer 304 (or the body stored
    already), with nothing but the fetcher and ``store`` (:mod:`monitor.store.express`):
    no SQLAlchemy, no models, no writer thread. Everything else is left to
    :meth:`Pipeline.poll`, with the answers already fetched (:class:`ExpressPass`), so no
    feed is asked twice; once ``fetch.parse_ahead`` answers wait for it, the feeds not yet
    fetched are left to it too, so that a cycle of changed feeds holds a few bodies, not
    all of them.

    Every feed of ``feeds`` must have its state in ``states`` (as
    :meth:`~monitor.store.express.ExpressFeeds.states_if_settled` reads them). The records
    it stores are those :meth:`Pipeline.poll` would store: the same record of a 304
    (:func:`_due_again`), written as the store writes it (tests/integration/test_express.py).
    """
    from monitor.store.express import fits

    rng = rng or random.Random()
    settings = config.fetch
    started = clock()
    finished: list[tuple[FeedConfig, FetchResult, PollRecord]] = []
    fetched: dict[str, FetchResult | Exception] = {}
    left: set[str] = set()
    async with Fetcher(settings, clock) as fetcher:
        in_flight = asyncio.Semaphore(2 * settings.concurrency)

        async def one(feed: FeedConfig) -> None:
            async with in_flight:
                if len(fetched) >= settings.parse_ahead:
                    left.add(feed.url)  # enough bodies wait: the full pipeline fetches the rest
                    return
                state = states[feed.url]
                try:
                    result = await fetcher.fetch(
                        state.fetch_url or feed.url, state.etag, state.last_modified
                    )
                except Exception as exc:  # reported by the full pipeline, as its own would be
                    fetched[feed.url] = exc
                    return
                # A 304, or a body that hashes as the one stored and moved nothing (a server
                # that ignores conditional GET): recorded as Pipeline.poll records them.
                same = None
                if not result.not_modified and result.permanent_redirect is None:
                    same = body_hash(result.content)
                if result.not_modified or (same is not None and same == state.body_hash):
                    due = _due_again(feed, result, settings, rng)
                    record = PollRecord(clock(), due, None, result.etag, result.last_modified, same)
                    if fits(record):
                        finished.append((feed, result, record))
                        if progress is not None:  # as it answers (stored at the pass's end)
                            progress(FeedOutcome(feed.url, "not_modified", name=feed.display_name))
                        return
                fetched[feed.url] = result

        async def every() -> None:
            await asyncio.gather(*(one(feed) for feed in feeds))

        await fetcher.on_loop(every())
    try:
        missing = set(store.record_unchanged([(feed.url, record) for feed, _, record in finished]))
    except Exception as exc:  # the database refused: the full pipeline stores them, or says why
        log.info("the express pass could not store its polls (%s); the store takes them", exc)
        missing = {feed.url for feed, _, _ in finished}
    outcomes = []
    for feed, result, _ in finished:
        if feed.url in missing:  # not in the database after all: the store says so
            fetched[feed.url] = result
            continue
        outcomes.append(FeedOutcome(feed.url, "not_modified", name=feed.display_name))
    rest = tuple(feed for feed in feeds if feed.url in fetched or feed.url in left)
    return ExpressPass(tuple(outcomes), fetched, rest, started, frozenset(missing))


async def poll_unchanged_first(
    config: Config,
    feeds: Sequence[FeedConfig],
    states: Mapping[str, FeedState],
    store: ExpressFeeds,
    full: Callable[[], Pipeline],
    progress: Callable[[FeedOutcome], None] | None = None,
) -> PollSummary:
    """A one-shot poll of ``feeds`` (``monitor poll``): the express pass first
    (:func:`poll_express`), then, only if it left feeds to poll, the full pipeline that
    ``full`` opens and starts (its start-up loads SQLAlchemy and the models: a third of a
    poll of 1,000 unchanged feeds, #14). One summary covers both."""
    passed = await poll_express(config, feeds, states, store, progress=progress)
    if not passed.rest:
        summary = PollSummary(passed.outcomes, passed.started_at, utc_now())
        log.info(summary.line(), extra={POLL_RESULT: True})
        return summary
    if progress is not None and passed.shown:
        shown, report = passed.shown, progress

        def progress(outcome: FeedOutcome) -> None:  # each feed counted once
            if outcome.url not in shown:
                report(outcome)

    # The states the pass started from stand for the feeds it leaves: it wrote none of theirs.
    summary = await full().poll(passed.rest, progress=progress, states=states, express=passed)
    order = {feed.url: place for place, feed in enumerate(feeds)}  # the feeds' own order
    return replace(summary, feeds=tuple(sorted(summary.feeds, key=lambda o: order[o.url])))
