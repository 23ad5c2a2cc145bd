"""Intake: what becomes of a feed's new entries, decided without touching anything.

The pipeline reads what a decision needs (which keys are stored, what the
duplicate index answers, where a story stands), hands it in here as values,
and writes what comes back. Nothing in this module opens the database, the
network, a thread or a clock: ``now`` and the settings are arguments, and the
same values in always give the same decisions out, so each decision is tested
as a table (``tests/test_intake.py``).

One feed's changed document, in the writer thread::

    prepared entries ──> unseen ──> admit ──> [lookup] ──> judge ──> NewEntry, alerts
     (monitor.prepare)   (not       (date,     (dedup       (copy or original,
                          stored     backfill,  index:       story outcome,
                          before)    lookup     pipeline)    keys to index, routes)
                                     scope)

The four decisions:

* **backfill** (:func:`is_backfill`): stored, but never alerted;
* **routing** (:func:`route`): the alerts an entry's matches reach;
* **new-entry judgement** (:class:`FeedIntake`): where its copy is looked for
  (:class:`Lookup`: the whole index, the pending stories, or nowhere for an entry that
  matched nothing), new, a copy, or a member of a story told in other words, and which
  index keys it adds;
* **story outcome** (:func:`story_outcome`): a copy *joins* a story still
  waiting for a digest, and is *suppressed* otherwise.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from monitor.dedup.decide import STORY_SIGNALS, DuplicateDecision
from monitor.dedup.features import Features
from monitor.dedup.keys import item_text, legacy_keys
from monitor.parse.limits import clamp_future
from monitor.prepare import EVERY_ENTRY, PreparedEntry, Scope
from monitor.types import DuplicateOf, Entry, Match, NewEntry

StoryOutcome = Literal["joined", "suppressed"]


@dataclass(frozen=True, slots=True)
class AlertRoute:
    """One alert, as routing sees it."""

    name: str
    """The alert's name: what an entry is queued under."""
    watches: frozenset[str]
    """The watches whose hits the alert hears about."""


@dataclass(frozen=True, slots=True)
class IntakeSettings:
    """The settings intake decides by, gathered from the config by the pipeline."""

    backfill_window: timedelta
    """On a feed's first poll, items published longer ago are stored but not alerted
    (``fetch.backfill_window``)."""
    retention: timedelta | None
    """How long entries are kept (``retention.entries``), None when retention is off:
    older items never alert (one pruned while its feed still carries it comes back
    as new, and must not alert again)."""
    future_allowance: timedelta
    """How far past ``now`` an item may be dated before it is dated ``now``
    (``fetch.future_allowance``)."""
    lookup_unmatched: bool
    """Look every new item up in the whole duplicate index, not only the ones that
    can alert (``dedup.lookup_unmatched``)."""
    skip_unmatched: bool = False
    """An alertable entry that matched no watch is neither looked up nor indexed
    (``dedup.index_unmatched`` and ``dedup.lookup_unmatched`` both off): it needs no
    fingerprint (:func:`fingerprint_scope`)."""
    alerts: tuple[AlertRoute, ...] = ()
    """The configured alerts, in config order."""


class Lookup(enum.Enum):
    """Where the pipeline must look for the article a new entry copies."""

    ALL = "all"
    """The whole index: every stored article and this batch's originals."""
    PENDING = "pending"
    """Only stories still waiting for a digest, and this batch's originals: an entry no
    digest can show matters only as a copy of one of those (see
    :mod:`monitor.dedup.pending` for why no copy a digest needs is lost)."""
    NONE = "none"
    """Nowhere: an alertable entry that matched no watch, under ``skip_unmatched``. It is
    stored as an original with no fingerprint and no index keys, so nothing later finds
    it either.

    Why every copy a digest needs is still caught: a copy matters to a digest when its
    story was shown or waits to be, and every entry of such a story that was shown or
    queued matched a watch and could alert, so it was fingerprinted, looked up in the whole
    index and indexed, as before; so were backfill entries and the known articles. A
    matching copy gets that full lookup, and finds them by the same keys as before. What it
    no longer finds are entries that matched nothing and could alert, none of which was
    shown or queued; and through them nothing else, since a copy is indexed under its exact
    keys only (the same text), so an entry found through one is as close to that copy's
    original as the copy itself was. So the one outcome that changes: the first matching
    copy of a story whose earlier copies all matched nothing alerts, where an index of them
    would suppress it as a copy of a story never alerted; nobody was shown that story.
    ``tests/integration/test_pending_lookup.py`` checks both on both databases."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A new entry admitted for judgement, and where to look for what it copies."""

    key: str
    """Its identity key (:func:`monitor.dedup.keys.entry_key`)."""
    entry: Entry
    """The entry, its date clamped (:func:`monitor.parse.limits.clamp_future`)."""
    matches: tuple[Match, ...]
    """The watches it matched."""
    features: Features | None
    """Its fingerprint, dated like ``entry`` (or ``now`` when the entry has no date:
    a story's time window counts from first sight); None when ``lookup`` is
    :attr:`Lookup.NONE` and the worker did not fingerprint it."""
    alertable: bool
    """False for backfill (:func:`is_backfill`)."""
    lookup: Lookup
    """Which index the duplicate lookup must search."""
    position: int
    """Its place in the feed's batch; the batch names it ``-(position + 1)`` until it is
    stored (:attr:`monitor.types.DuplicateOf.of_id`)."""
    packed: bytes | None = None
    """``features`` packed for the store (:attr:`PreparedEntry.packed`), if they were."""

    @property
    def batch_id(self) -> int:
        return -(self.position + 1)


@dataclass(frozen=True, slots=True)
class Standing:
    """Where the story of the article a new entry copies stands."""

    waiting: bool
    """Some alert still waits to deliver the story."""
    seed: bool
    """The story is a known article (a seed): copies of it never alert."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What became of one new entry."""

    item: NewEntry
    """The entry to store, with its duplicate decision and the index keys it adds."""
    alerts: tuple[str, ...]
    """The alerts to queue it for: empty unless it is an alertable original that matched."""
    original: Features | None
    """Its fingerprint when it is an original: the pipeline adds it to the batch's index
    under :attr:`Candidate.batch_id` (later entries of the feed may copy it) and, once
    committed, to the feature cache under its id. None for a copy."""


def is_backfill(
    published: datetime | None,
    first_polled_at: datetime | None,
    now: datetime,
    settings: IntakeSettings,
) -> bool:
    """Stored but never alerted: on a feed's first poll (``first_polled_at`` None), an item
    older than the backfill window; on any poll, one older than retention keeps entries.
    An undated item is never backfill."""
    if published is None:
        return False
    if settings.retention is not None and published < now - settings.retention:
        return True
    if first_polled_at is not None:
        return False
    return published < now - settings.backfill_window


NOT_LOOKED_UP = DuplicateDecision(False, None, None, 0.0, "not looked up (dedup.index_unmatched)")
"""The decision :meth:`FeedIntake.judge` takes for an entry looked up nowhere
(:attr:`Lookup.NONE`)."""

# The worker dates entries by its clock, the writer by a later one: an entry just inside
# the backfill window when parsed may be just outside it when stored. Fingerprinting the
# entries of one more hour costs little; the writer fingerprints any it still lacks.
_SCOPE_SLACK = timedelta(hours=1)


def fingerprint_scope(
    settings: IntakeSettings, first_polled_at: datetime | None, now: datetime
) -> Scope:
    """Which of a feed's entries the parser must fingerprint: all of them, unless
    ``skip_unmatched``; then those that matched a watch, and those that may be backfill
    when they are judged (:func:`is_backfill`, with an hour's slack)."""
    if not settings.skip_unmatched:
        return EVERY_ENTRY
    cutoffs = []
    if settings.retention is not None:
        cutoffs.append(now - settings.retention)
    if first_polled_at is None:
        cutoffs.append(now - settings.backfill_window)
    return Scope(False, max(cutoffs) + _SCOPE_SLACK if cutoffs else None)


def route(matches: Sequence[Match], alerts: Sequence[AlertRoute]) -> tuple[str, ...]:
    """The alerts (in config order) that must hear about an entry with these matches."""
    fired = {match.watch for match in matches}
    return tuple(alert.name for alert in alerts if fired & alert.watches)


def story_outcome(original: Standing) -> StoryOutcome:
    """``joined`` when the original's story still waits for a digest (the copy shows as
    "also" there), else ``suppressed`` (delivered, never alerted, or a known article)."""
    return "joined" if original.waiting and not original.seed else "suppressed"


def older_keys(prepared: Sequence[PreparedEntry], known: Collection[str]) -> set[str]:
    """The keys earlier versions would have stored the entries not ``known`` under
    (:func:`monitor.dedup.keys.legacy_keys`): the pipeline reads their texts."""
    return {
        older for item in prepared if item.key not in known for older in legacy_keys(item.entry)
    }


def unseen(
    prepared: Sequence[PreparedEntry],
    known: Collection[str],
    stored_texts: Mapping[str, tuple[str, str, str]],
) -> list[PreparedEntry]:
    """The entries to judge: not stored under their key (``known``), nor under an older
    form of it with the same text (``stored_texts``: key to title, summary, content, as
    :func:`monitor.dedup.keys.item_text` gives them), so the same item does not come
    back as new after an upgrade."""
    return [
        item
        for item in prepared
        if item.key not in known
        and not any(
            stored_texts.get(older) == item_text(item.entry) for older in legacy_keys(item.entry)
        )
    ]


def stored_original(decision: DuplicateDecision) -> int | None:
    """The stored article whose story's :class:`Standing` the judgement needs: the one a
    copy copies, when it is stored (not in the batch); else None."""
    if decision.is_duplicate and decision.of_id is not None and decision.of_id >= 0:
        return decision.of_id
    return None


class FeedIntake:
    """One feed's new entries, judged in document order.

    For each entry: :meth:`admit` it, look its duplicate up where the candidate says
    (I/O: the pipeline's), read the standing of the stored article it copies if
    :func:`stored_original` names one (I/O), then :meth:`judge` it. An instance holds
    only what it decided about the batch so far: a later entry may copy an earlier one.
    """

    def __init__(
        self, settings: IntakeSettings, now: datetime, first_polled_at: datetime | None
    ) -> None:
        self.settings = settings
        self.now = now
        self.first_polled_at = first_polled_at
        """When the feed was first polled; None on its first poll."""
        self._admitted = 0
        self._items: list[NewEntry] = []
        self._alerts: dict[str, tuple[str, ...]] = {}

    @property
    def items(self) -> tuple[NewEntry, ...]:
        """Every entry judged so far, in order."""
        return tuple(self._items)

    @property
    def routes(self) -> dict[str, tuple[str, ...]]:
        """Entry key to the alerts it is queued for, for every alertable original that matched
        (an empty tuple when no alert hears about its watches)."""
        return dict(self._alerts)

    def _place(self, item: PreparedEntry) -> tuple[Entry, bool, Lookup]:
        """The entry dated, whether it may alert, and where its lookup searches."""
        now, settings = self.now, self.settings
        entry = clamp_future(item.entry, now, settings.future_allowance)
        alertable = not is_backfill(entry.published, self.first_polled_at, now, settings)
        if (alertable and item.matches) or settings.lookup_unmatched:
            return entry, alertable, Lookup.ALL
        if alertable and settings.skip_unmatched:
            return entry, alertable, Lookup.NONE
        return entry, alertable, Lookup.PENDING

    def needs_fingerprint(self, item: PreparedEntry) -> bool:
        """Whether ``item`` came without the fingerprint its lookup needs: the pipeline
        computes it (:meth:`PreparedEntry.fingerprint_input`) before :meth:`admit`. Rare:
        the worker fingerprints every entry that may be backfill (:func:`fingerprint_scope`)."""
        return item.features is None and self._place(item)[2] is not Lookup.NONE

    def admit(self, item: PreparedEntry) -> Candidate:
        """Date the entry, decide whether it may alert and where its lookup searches."""
        entry, alertable, lookup = self._place(item)
        features = item.features
        if features is None and lookup is not Lookup.NONE:
            raise ValueError(f"entry {item.key} needs its fingerprint for a {lookup.value} lookup")
        if features is not None:
            if entry.published is not item.entry.published:
                features = replace(features, published=entry.published)
            if features.published is None:  # the story window counts from first sight
                features = replace(features, published=self.now)
        self._admitted += 1
        return Candidate(
            item.key,
            entry,
            item.matches,
            features,
            alertable,
            lookup,
            self._admitted - 1,
            item.packed,  # None whenever the features are
        )

    def standing_in_batch(self, batch_id: int) -> Standing:
        """The standing of this batch's entry ``batch_id`` (negative): it waits when it is
        an alertable original that matched (routed, even to no alert)."""
        original = self._items[-batch_id - 1]
        waiting = original.duplicate is None and original.alertable and original.key in self._alerts
        return Standing(waiting=waiting, seed=False)

    def judge(
        self,
        candidate: Candidate,
        decision: DuplicateDecision,
        original: Standing | None = None,
    ) -> Verdict:
        """The verdict on ``candidate``, given what its lookup found (``decision``) and, when
        it copies a stored article (:func:`stored_original`), that story's ``original``
        standing."""
        if candidate.position != len(self._items):
            raise ValueError("entries must be judged in the order they were admitted")
        features = candidate.features
        duplicate: DuplicateOf | None = None
        remembered: Features | None = None
        keys: tuple[int, ...] = ()
        if candidate.lookup is Lookup.NONE or features is None:
            if decision.is_duplicate:
                raise ValueError(f"entry {candidate.key} is looked up nowhere, yet a copy")
        elif decision.is_duplicate and decision.of_id is not None:
            if decision.of_id < 0:
                original = self.standing_in_batch(decision.of_id)
            elif original is None:
                raise ValueError(f"the standing of stored entry {decision.of_id} is needed")
            duplicate = DuplicateOf(
                decision.of_id,
                decision.signal or "",
                decision.score,
                decision.reason,
                story_outcome(original),
            )
            # A copy adds no new text to recognise; a story told in other words does.
            story = decision.signal in STORY_SIGNALS
            keys = features.keys if story else features.exact_keys
        else:
            remembered = features
            keys = features.keys
        item = NewEntry(
            candidate.key,
            candidate.entry,
            candidate.alertable,
            candidate.matches,
            duplicate,
            keys,
            # Only an indexed entry can be a lookup's candidate.
            candidate.packed if keys else None,
        )
        alerts: tuple[str, ...] = ()
        if candidate.alertable and candidate.matches and duplicate is None:
            alerts = route(candidate.matches, self.settings.alerts)
            self._alerts[candidate.key] = alerts
        self._items.append(item)
        return Verdict(item, alerts, remembered)
