"""The config's ``fetch:`` section: how feeds are downloaded, parsed and clipped.

Declared here, next to the code that reads it (:mod:`.client`, :mod:`.policy`);
:mod:`monitor.config` places it under ``fetch:`` and passes it in.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import AliasChoices, Field, field_validator

from monitor.fields import Duration, SettingsModel
from monitor.parse.limits import ItemLimits


def check_allow_list(value: tuple[str, ...]) -> tuple[str, ...]:
    """Every entry of an ``allow_private`` list is a network, address, host or ``*.domain``."""
    from monitor.fetch.guard import exemptions  # httpx: loaded only when a list is given

    exemptions(value)
    return value


class FetchSettings(SettingsModel):
    """How feeds are downloaded."""

    timeout: Duration = timedelta(seconds=20)
    """Whole-request deadline: a server that drips bytes is still cut off here."""
    connect_timeout: Duration = timedelta(seconds=10)
    """Time allowed to open the connection."""
    max_body_bytes: int = Field(default=10_000_000, gt=0)
    """Largest decoded feed body accepted; real news feeds stay far below 10 MB."""
    max_large_bodies: int = Field(default=2, gt=0, le=1000)
    """Bodies read at once past 1 MiB decoded (:mod:`monitor.fetch.bodies`); the others wait
    their turn, within their deadline. A cycle's bodies then hold about ``concurrency`` MiB
    plus this many times ``max_body_bytes``, not ``concurrency`` times ``max_body_bytes``
    (a few feeds that stream without end, or decompress into too much, read at once)."""
    max_redirects: int = Field(default=5, ge=0, le=20)
    """Redirect hops followed before giving up."""
    concurrency: int = Field(default=20, gt=0, le=1000)
    """Feeds fetched at the same time in one poll cycle."""
    parse_ahead: int = Field(default=32, gt=0, le=1000)
    """Feeds parsed and waiting for the database at once. A feed holds its place until its
    entries are committed, so with too few the parser processes wait on the writer's commits
    (#14: 8 made a cold cycle of bench/peers.py about 8 % slower and bench/poll.py's first
    cycle about 7 %), and the writer's groups are smaller: each commit writes out the index
    pages its entries touched, so fewer, larger commits write fewer pages (32 against 16,
    with the writer's groups allowed a second, made bench/poll.py's first cycle about 8 %
    faster). More only holds parsed entries in memory (fetched bodies wait unparsed
    instead): bench/poll.py's peak grew about 12 MB from 16 to 32."""
    user_agent: str = (
        "monitor/0.1 (+https://github.com/monitor-news/monitor; self-hosted news monitor)"
    )
    """Names the project to publishers, who can then reach its operators."""
    backfill_window: Duration = timedelta(hours=48)
    """On a feed's first poll, older items are stored but not alerted (no flood)."""
    per_host_concurrency: int = Field(default=2, gt=0, le=100)
    """Requests in flight to one host at once: many feeds on one site must not hammer it."""
    max_content_encodings: int = Field(default=2, ge=0, le=5)
    """Stacked Content-Encodings decoded (gzip over gzip...); more only multiplies bomb risk."""
    backoff_cap: Duration = timedelta(hours=6)
    """Longest wait a failing feed backs off to, so a recovered feed is noticed within hours."""
    broken_after_failures: int = Field(default=8, gt=0, le=1000)
    """Consecutive failures after which a feed is flagged broken (about two days with backoff)."""
    retry_after_cap: Duration = timedelta(hours=24)
    """Longest Retry-After honoured; a publisher asking for more is retried after this."""
    poll_jitter: float = Field(default=0.1, ge=0, le=1)
    """Random share of the wait added to each next poll, so feeds of one host spread out."""
    poll_jitter_max: Duration = timedelta(minutes=2)
    """Upper bound of that random addition, so long intervals are not smeared by hours."""
    ssrf_guard: bool = True
    """Refuse feeds and redirects whose connected address is private, loopback, link-local...:
    a feed URL (or an OPML file of them) must not reach the host's own or cloud services."""
    allow_private: tuple[str, ...] = Field(
        default=(), validation_alias=AliasChoices("allow_private", "ssrf_allowed_networks")
    )
    """Internal feed servers let through the guard: networks (``10.0.0.0/8``), addresses, host
    names (``feeds.internal``) or ``*.domain`` (``ssrf_allowed_networks`` is the older name)."""
    parse_workers: int = Field(default=0, ge=0, le=256)
    """Processes that parse feed bodies off the event loop; 0 means one per CPU core."""
    fast_parse: bool = True
    """Parse well-formed feeds with the lxml fast path (falls back to feedparser when unsure)."""
    parse_timeout: Duration = timedelta(seconds=60)
    """How long parsing one body may take (its wait for a free parser not counted; a worker
    holds the next body beside the one it parses, so a body handed over may wait behind one
    parse, and a stuck one is stopped after one to two times this). A worker process stuck
    longer is stopped and replaced; a thread (small bodies) cannot be stopped
    and is left to finish. Either way the feed fails with a reason. A megabyte of news
    parses in well under a second."""
    pool_parse_min_bytes: int = Field(default=4_096, ge=0)
    """Bodies at least this large are parsed, fingerprinted and matched in the worker
    processes (``monitor.prepare``); a smaller one (a handful of items) is done in a
    thread quicker than the hop to a process costs."""
    max_items_per_feed: int = Field(default=500, gt=0)
    """Items kept from one document, the newest first: news feeds carry 10 to 100; a feed
    of 300,000 tiny items would otherwise be fingerprinted, matched and stored whole."""
    max_title_chars: int = Field(default=1_000, gt=0)
    """A longer title is clipped (with an ellipsis): headlines run under 200 characters."""
    max_summary_chars: int = Field(default=20_000, gt=0)
    """A longer summary is clipped: a summary is a paragraph, at most an article."""
    max_content_chars: int = Field(default=100_000, gt=0)
    """A longer full text is clipped: a long article is under 60,000 characters."""
    future_allowance: Duration = timedelta(hours=1)
    """An item dated further ahead than this is dated when first seen: a future date would
    slip past the first poll's backfill rule and sort first in every digest."""
    discover_max_linked: int = Field(default=20, gt=0)
    """``monitor feeds add``: most feeds listed from a page's links; a page linking more lists
    one per tag or author, and a list longer than a screen helps nobody choose."""
    discover_max_probe_feeds: int = Field(default=3, gt=0)
    """``monitor feeds add``: common-path probing stops after this many feeds: most sites serve
    one feed under several paths, and every further probe is a request nobody needed."""

    @field_validator("allow_private")
    @classmethod
    def _allow_private(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_allow_list(value)

    @property
    def item_limits(self) -> ItemLimits:
        return ItemLimits(
            self.max_items_per_feed,
            self.max_title_chars,
            self.max_summary_chars,
            self.max_content_chars,
        )
