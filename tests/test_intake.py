"""Intake's decisions, as tables: values in, decisions out; no database, network or thread."""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import intake
from monitor.dedup.decide import DuplicateDecision, Signal
from monitor.dedup.features import fingerprint_entry
from monitor.dedup.keys import entry_key, item_text, legacy_keys
from monitor.dedup.scheme import V1
from monitor.intake import (
    NOT_LOOKED_UP,
    AlertRoute,
    FeedIntake,
    IntakeSettings,
    Lookup,
    Standing,
    fingerprint_scope,
    is_backfill,
    older_keys,
    route,
    stored_original,
    story_outcome,
    unseen,
)
from monitor.prepare import EVERY_ENTRY, PreparedEntry, Scope
from monitor.types import Entry, Match

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
FEED = "https://a.example/feed.xml"
ALERTS = (
    AlertRoute("desk", frozenset({"usmca", "canada-mexico"})),
    AlertRoute("steel-desk", frozenset({"steel"})),
    AlertRoute("all", frozenset({"usmca", "steel"})),
)
SETTINGS = IntakeSettings(
    backfill_window=48 * HOUR,
    retention=180 * DAY,
    future_allowance=HOUR,
    lookup_unmatched=False,
    alerts=ALERTS,
)
SKIPPING = replace(SETTINGS, skip_unmatched=True)
NOT_FOUND = DuplicateDecision(False, None, None, 0.0, "no candidate")


def decision(of_id: int, signal: Signal = "canonical_url") -> DuplicateDecision:
    return DuplicateDecision(True, of_id, signal, 0.97, f"{signal} of {of_id}")


def item(
    n: int,
    published: datetime | None = NOW - HOUR,
    watches: tuple[str, ...] = ("usmca",),
    guid: str | None = None,
    linked: bool = True,
) -> PreparedEntry:
    link = f"https://a.example/{n}" if linked else None
    entry = Entry(
        feed_url=FEED,
        feed_name="A",
        title=f"Headline {n}: CUSMA review talks resume in Ottawa",
        link=link,
        canonical_link=link,
        guid=guid,
        summary=f"Story {n}: negotiators met again on the trade pact's joint review.",
        content="" if linked else f"The full text of story {n}.",
        published=published,
    )
    return PreparedEntry(
        entry_key(entry),
        entry,
        tuple(Match(watch) for watch in watches),
        fingerprint_entry(entry, scheme=V1),
    )


# --- backfill -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "first_polled", "retention", "backfill"),
    [
        (None, None, 180 * DAY, False),  # undated: never backfill
        (NOW - HOUR, None, 180 * DAY, False),  # first poll, inside the window
        (NOW - 47 * HOUR, None, 180 * DAY, False),
        (NOW - 49 * HOUR, None, 180 * DAY, True),  # first poll, older than the window
        (NOW - 49 * HOUR, NOW - DAY, 180 * DAY, False),  # a later poll: the window is over
        (NOW - 200 * DAY, NOW - DAY, 180 * DAY, True),  # older than retention keeps entries
        (NOW - 200 * DAY, NOW - DAY, None, False),  # retention off
        (NOW - 200 * DAY, None, None, True),  # retention off, first poll: the window still
        (NOW + DAY, None, 180 * DAY, False),  # dated ahead: not old
    ],
)
def test_backfill(
    published: datetime | None,
    first_polled: datetime | None,
    retention: timedelta | None,
    backfill: bool,
) -> None:
    settings = replace(SETTINGS, retention=retention)
    assert is_backfill(published, first_polled, NOW, settings) is backfill


# --- routing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("watches", "alerts"),
    [
        ((), ()),
        (("usmca",), ("desk", "all")),
        (("steel",), ("steel-desk", "all")),
        (("canada-mexico",), ("desk",)),
        (("steel", "usmca"), ("desk", "steel-desk", "all")),  # config order, each once
        (("usmca", "usmca"), ("desk", "all")),
        (("weather",), ()),  # a watch no alert hears about
    ],
)
def test_routing(watches: tuple[str, ...], alerts: tuple[str, ...]) -> None:
    assert route([Match(w) for w in watches], ALERTS) == alerts


# --- story outcome --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("waiting", "seed", "outcome"),
    [
        (True, False, "joined"),  # the story still waits for a digest: shown as "also"
        (False, False, "suppressed"),  # delivered (or never alerted) already
        (True, True, "suppressed"),  # a known article never alerts
        (False, True, "suppressed"),
    ],
)
def test_story_outcome(waiting: bool, seed: bool, outcome: str) -> None:
    assert story_outcome(Standing(waiting=waiting, seed=seed)) == outcome


@pytest.mark.parametrize(
    ("found", "stored_id"),
    [
        (NOT_FOUND, None),
        (DuplicateDecision(False, 12, "near_duplicate", 0.4, "too far"), None),  # closest only
        (decision(12), 12),
        (decision(0), 0),
        (decision(-1), None),  # an entry of the same batch: intake knows its standing
    ],
)
def test_which_stored_story_the_judgement_needs(
    found: DuplicateDecision, stored_id: int | None
) -> None:
    assert stored_original(found) == stored_id


# --- what is new ----------------------------------------------------------------------------


def test_unseen_drops_stored_keys_and_older_keys_with_the_same_text() -> None:
    # Linkless items with a content: earlier versions keyed them on title and summary only.
    stored, renamed, edited, fresh = (item(n, linked=False) for n in range(1, 5))
    (renamed_key,) = legacy_keys(renamed.entry)
    (edited_key,) = legacy_keys(edited.entry)
    prepared = [stored, renamed, edited, fresh]
    known = {stored.key}
    table = [
        # (what the store holds under older keys, what is left to judge)
        ({}, [renamed, edited, fresh]),
        ({renamed_key: item_text(renamed.entry)}, [edited, fresh]),
        (
            {
                renamed_key: item_text(renamed.entry),
                edited_key: ("an older title", "", ""),  # same key, other text: new again
            },
            [edited, fresh],
        ),
    ]
    for texts, left in table:
        assert unseen(prepared, known, texts) == left
    assert renamed_key in older_keys(prepared, known)
    assert not set(legacy_keys(stored.entry)) & older_keys(prepared, known)  # known: not read
    assert older_keys([item(5, guid="tag:a.example,2026:5", linked=False)], set()) == set()
    assert older_keys([item(6)], set()) == set()  # a link without a fragment: same key as ever


# --- judging a feed's new entries -----------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One entry through admit and judge, and what must come out."""

    item: PreparedEntry
    found: DuplicateDecision
    standing: Standing | None
    lookup: Lookup
    alertable: bool
    outcome: str | None  # the duplicate's story outcome; None for an original
    alerts: tuple[str, ...]
    all_keys: bool  # indexed under every key (else under its exact keys only)


WAITING = Standing(waiting=True, seed=False)
DELIVERED = Standing(waiting=False, seed=False)
SEED = Standing(waiting=True, seed=True)
OLD = NOW - 10 * DAY

CASES: dict[str, tuple[IntakeSettings, datetime | None, list[Step]]] = {
    "a matched original is routed and remembered": (
        SETTINGS,
        None,
        [Step(item(1), NOT_FOUND, None, Lookup.ALL, True, None, ("desk", "all"), True)],
    ),
    "an original no alert hears about is routed nowhere": (
        SETTINGS,
        None,
        [Step(item(1, watches=("weather",)), NOT_FOUND, None, Lookup.ALL, True, None, (), True)],
    ),
    "unmatched: only pending stories are searched": (
        SETTINGS,
        None,
        [Step(item(1, watches=()), NOT_FOUND, None, Lookup.PENDING, True, None, (), True)],
    ),
    "unmatched, lookup_unmatched on: the whole index": (
        replace(SETTINGS, lookup_unmatched=True),
        None,
        [Step(item(1, watches=()), NOT_FOUND, None, Lookup.ALL, True, None, (), True)],
    ),
    "skip_unmatched: a matched entry still searches the whole index": (
        SKIPPING,
        None,
        [Step(item(1), NOT_FOUND, None, Lookup.ALL, True, None, ("desk", "all"), True)],
    ),
    "skip_unmatched: unmatched backfill still searches the pending stories": (
        SKIPPING,
        None,
        [Step(item(1, OLD, watches=()), NOT_FOUND, None, Lookup.PENDING, False, None, (), True)],
    ),
    "skip_unmatched with lookup_unmatched on: the whole index": (
        replace(SKIPPING, lookup_unmatched=True),
        None,
        [Step(item(1, watches=()), NOT_FOUND, None, Lookup.ALL, True, None, (), True)],
    ),
    "backfill on a first poll: stored, never routed": (
        SETTINGS,
        None,
        [Step(item(1, OLD), NOT_FOUND, None, Lookup.PENDING, False, None, (), True)],
    ),
    "the same item on a later poll is not backfill": (
        SETTINGS,
        NOW - DAY,
        [Step(item(1, OLD), NOT_FOUND, None, Lookup.ALL, True, None, ("desk", "all"), True)],
    ),
    "a copy of a stored story still waiting joins it": (
        SETTINGS,
        NOW - DAY,
        [Step(item(1), decision(40), WAITING, Lookup.ALL, True, "joined", (), False)],
    ),
    "a copy of a delivered story is suppressed": (
        SETTINGS,
        NOW - DAY,
        [Step(item(1), decision(40), DELIVERED, Lookup.ALL, True, "suppressed", (), False)],
    ),
    "a copy of a known article is suppressed": (
        SETTINGS,
        NOW - DAY,
        [Step(item(1), decision(7), SEED, Lookup.ALL, True, "suppressed", (), False)],
    ),
    "a story told in other words adds its words to the index": (
        SETTINGS,
        NOW - DAY,
        [Step(item(1), decision(40, "same_story"), WAITING, Lookup.ALL, True, "joined", (), True)],
    ),
    "a headline member too": (
        SETTINGS,
        NOW - DAY,
        [
            Step(
                item(1),
                decision(40, "headline"),
                DELIVERED,
                Lookup.ALL,
                True,
                "suppressed",
                (),
                True,
            )
        ],
    ),
    "a copy of an earlier routed entry of the batch joins it": (
        SETTINGS,
        NOW - DAY,
        [
            Step(item(1), NOT_FOUND, None, Lookup.ALL, True, None, ("desk", "all"), True),
            Step(item(2), decision(-1), None, Lookup.ALL, True, "joined", (), False),
        ],
    ),
    "a copy of an earlier unmatched entry of the batch is suppressed": (
        SETTINGS,
        NOW - DAY,
        [
            Step(item(1, watches=()), NOT_FOUND, None, Lookup.PENDING, True, None, (), True),
            Step(item(2), decision(-1), None, Lookup.ALL, True, "suppressed", (), False),
        ],
    ),
    "a copy of an earlier backfill entry of the batch is suppressed": (
        SETTINGS,
        None,
        [
            Step(item(1, OLD), NOT_FOUND, None, Lookup.PENDING, False, None, (), True),
            Step(item(2), decision(-1), None, Lookup.ALL, True, "suppressed", (), False),
        ],
    ),
    "a copy of a copy in the batch is suppressed (only originals wait)": (
        SETTINGS,
        NOW - DAY,
        [
            Step(item(1), decision(40), WAITING, Lookup.ALL, True, "joined", (), False),
            Step(item(2), decision(-1), None, Lookup.ALL, True, "suppressed", (), False),
        ],
    ),
    "an original unrouted only because no alert covers it still counts as waiting": (
        SETTINGS,
        NOW - DAY,
        [
            Step(item(1, watches=("weather",)), NOT_FOUND, None, Lookup.ALL, True, None, (), True),
            Step(item(2), decision(-1), None, Lookup.ALL, True, "joined", (), False),
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_judging_a_feeds_new_entries(case: str) -> None:
    settings, first_polled, steps = CASES[case]
    judging = FeedIntake(settings, NOW, first_polled)
    for position, step in enumerate(steps):
        candidate = judging.admit(step.item)
        assert candidate.position == position
        assert candidate.batch_id == -(position + 1)
        assert (candidate.lookup, candidate.alertable) == (step.lookup, step.alertable)
        verdict = judging.judge(candidate, step.found, step.standing)
        new = verdict.item
        assert (new.key, new.entry, new.matches) == (
            step.item.key,
            step.item.entry,
            step.item.matches,
        )
        assert new.alertable is step.alertable
        assert verdict.alerts == step.alerts
        features = step.item.features
        if step.outcome is None:
            assert new.duplicate is None
            assert verdict.original == features
        else:
            assert new.duplicate is not None
            assert verdict.original is None
            assert new.duplicate.outcome == step.outcome
            assert (new.duplicate.of_id, new.duplicate.signal) == (
                step.found.of_id,
                step.found.signal,
            )
            assert (new.duplicate.score, new.duplicate.reason) == (
                step.found.score,
                step.found.reason,
            )
        assert new.dedup_keys == (features.keys if step.all_keys else features.exact_keys)
    assert judging.items == tuple(judging.items)
    assert [i.key for i in judging.items] == [s.item.key for s in steps]
    routed = {
        s.item.key: s.alerts for s in steps if s.alertable and s.item.matches and not s.outcome
    }
    assert judging.routes == routed


@pytest.mark.parametrize(
    ("published", "entry_date", "fingerprint_date"),
    [
        (NOW - HOUR, NOW - HOUR, NOW - HOUR),  # kept as published
        (NOW + HOUR / 2, NOW + HOUR / 2, NOW + HOUR / 2),  # within the allowance
        (NOW + 3 * HOUR, NOW, NOW),  # too far ahead: dated now
        (None, None, NOW),  # undated: the story window counts from first sight
    ],
)
def test_admission_dates_the_entry_and_its_fingerprint(
    published: datetime | None, entry_date: datetime | None, fingerprint_date: datetime
) -> None:
    candidate = FeedIntake(SETTINGS, NOW, None).admit(item(1, published))
    assert candidate.entry.published == entry_date
    assert candidate.features.published == fingerprint_date


def test_judging_out_of_order_or_without_the_stored_story_is_refused() -> None:
    judging = FeedIntake(SETTINGS, NOW, None)
    first, second = judging.admit(item(1)), judging.admit(item(2))
    with pytest.raises(ValueError, match="order"):
        judging.judge(second, NOT_FOUND)
    with pytest.raises(ValueError, match="standing of stored entry 40"):
        judging.judge(first, decision(40))
    assert judging.judge(first, decision(40), WAITING).item.duplicate is not None


def test_intake_imports_nothing_that_does_io() -> None:
    tree = ast.parse(Path(intake.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    forbidden = ("monitor.store", "monitor.fetch", "monitor.deliver", "monitor.writer")
    io = ("sqlalchemy", "sqlmodel", "httpx", "socket", "threading", "asyncio", "os", "time")
    assert not [m for m in imported if m and m.startswith(forbidden + io)]


# --- entries that matched nothing, under skip_unmatched -------------------------------------


def unfingerprinted(prepared: PreparedEntry) -> PreparedEntry:
    return replace(prepared, features=None)


@pytest.mark.parametrize("fingerprinted", [False, True])
def test_an_unmatched_entry_is_looked_up_nowhere_and_indexed_under_no_key(
    fingerprinted: bool,
) -> None:
    judging = FeedIntake(SKIPPING, NOW, NOW - DAY)
    prepared = item(1, watches=())
    if not fingerprinted:  # as the worker leaves it; one it fingerprinted all the same is alike
        prepared = unfingerprinted(prepared)
    assert not judging.needs_fingerprint(prepared)
    candidate = judging.admit(prepared)
    assert (candidate.lookup, candidate.alertable) == (Lookup.NONE, True)
    assert (candidate.features is None) is not fingerprinted
    verdict = judging.judge(candidate, NOT_LOOKED_UP)
    assert verdict.item.duplicate is None
    assert verdict.item.dedup_keys == ()
    assert verdict.original is None  # nothing for the batch or the cache to remember
    assert verdict.alerts == ()
    assert judging.routes == {}


def test_an_entry_looked_up_nowhere_cannot_be_a_copy() -> None:
    judging = FeedIntake(SKIPPING, NOW, NOW - DAY)
    candidate = judging.admit(unfingerprinted(item(1, watches=())))
    with pytest.raises(ValueError, match="looked up nowhere"):
        judging.judge(candidate, decision(40), WAITING)


@pytest.mark.parametrize(
    ("settings", "prepared", "first_polled", "needed"),
    [
        (SKIPPING, item(1, watches=()), NOW - DAY, False),  # looked up nowhere
        (SKIPPING, item(1), NOW - DAY, True),  # matched: the whole index
        (SKIPPING, item(1, OLD, watches=()), None, True),  # backfill: the pending stories
        (SETTINGS, item(1, watches=()), NOW - DAY, True),  # unmatched entries indexed
    ],
)
def test_the_writer_fingerprints_what_the_worker_left_out_only_when_a_lookup_needs_it(
    settings: IntakeSettings, prepared: PreparedEntry, first_polled: datetime | None, needed: bool
) -> None:
    judging = FeedIntake(settings, NOW, first_polled)
    assert judging.needs_fingerprint(prepared) is False  # it has its features
    assert judging.needs_fingerprint(unfingerprinted(prepared)) is needed
    if needed:
        with pytest.raises(ValueError, match="needs its fingerprint"):
            judging.admit(unfingerprinted(prepared))


def test_the_fingerprint_scope_covers_every_entry_that_may_be_backfill() -> None:
    assert fingerprint_scope(SETTINGS, None, NOW) is EVERY_ENTRY
    # First poll: older than the backfill window (the later cutoff), with an hour's slack.
    assert fingerprint_scope(SKIPPING, None, NOW) == Scope(False, NOW - 48 * HOUR + HOUR)
    # Later polls: only older than retention can be backfill.
    assert fingerprint_scope(SKIPPING, NOW - DAY, NOW) == Scope(False, NOW - 180 * DAY + HOUR)
    assert fingerprint_scope(replace(SKIPPING, retention=None), NOW - DAY, NOW) == Scope(False)
    # Every entry the writer will take for backfill is in the scope, even judged an hour later.
    scope = fingerprint_scope(SKIPPING, None, NOW)
    judging = FeedIntake(SKIPPING, NOW + HOUR, None)
    for published in (NOW - 47 * HOUR, NOW - 49 * HOUR, NOW - 10 * DAY):
        unmatched = item(1, published, watches=())
        if not judging.admit(unmatched).alertable:
            assert scope.wants(unmatched.entry, matched=False)
    assert not scope.wants(item(1, None, watches=()).entry, matched=False)  # never backfill
    assert scope.wants(item(1, NOW, watches=()).entry, matched=True)
