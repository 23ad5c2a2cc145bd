"""Per-entry preparation (identify, fingerprint, match): the same in a thread and in a worker."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from datetime import UTC, datetime

from monitor.dedup.features import Features, fingerprint_entry
from monitor.dedup.keys import entry_key
from monitor.dedup.scheme import V1
from monitor.parse.feed import parse_feed
from monitor.parse.pool import ParserPool
from monitor.prepare import (
    PreparedEntry,
    Recipe,
    RuleSource,
    Scope,
    parse_and_prepare,
    prepare,
    prepare_parsed,
)
from monitor.rules import WatchSpec, compile_watches
from monitor.types import Entry, ParsedFeed
from tests.support.feeds import Item, rss

WHEN = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
WATCHES = [WatchSpec("usmca", "@usmca NEAR/10 review"), WatchSpec("steel", "steel")]
ALIASES = {"usmca": ("USMCA", "CUSMA", "T-MEC")}
ITEMS = [
    Item(
        "CUSMA review talks resume", "https://a.example/1", "Ottawa: the CUSMA review.", WHEN, "g1"
    ),
    Item("Steel quotas", "https://a.example/2", "Mexico steel exports fell.", WHEN, "g2"),
    Item("Weather", "https://a.example/3", "Sunny in Monterrey.", WHEN, "g3"),
]
FEED = "https://a.example/feed.xml"


def entry(guid: str, title: str) -> Entry:
    return Entry(
        feed_url=FEED,
        feed_name="A",
        title=title,
        link=None,
        canonical_link=None,
        guid=guid,
        summary="",
        published=WHEN,
    )


def test_prepare_keys_fingerprints_and_matches_every_entry_once() -> None:
    rules = compile_watches(WATCHES, ALIASES)
    twice = [entry("g1", "USMCA review"), entry("g1", "USMCA review again"), entry("g2", "Steel")]
    prepared = prepare(twice, rules, V1)
    assert [p.key for p in prepared] == [entry_key(twice[1]), entry_key(twice[2])]
    assert prepared[0].entry.title == "USMCA review again"  # the last copy in the document
    assert [m.watch for m in prepared[0].matches] == ["usmca"]
    assert [m.watch for m in prepared[1].matches] == ["steel"]
    assert prepared[1].features.keys == fingerprint_entry(twice[2], scheme=V1).keys


def test_a_worker_process_prepares_exactly_what_a_thread_would() -> None:
    body = rss(ITEMS)
    parsed = parse_feed(body, FEED, "A")
    here = prepare(parsed.entries, compile_watches(WATCHES, ALIASES), V1)

    async def in_worker() -> tuple[PreparedEntry, ...]:
        async with ParserPool(workers=1) as pool:
            parsed = await pool.parse(body, FEED, "A")
            return await pool.run(FEED, prepare_parsed, parsed, RuleSource.of(WATCHES, ALIASES), V1)

    there = asyncio.run(in_worker())
    assert [(p.key, p.matches, p.features.keys) for p in here] == [
        (p.key, p.matches, p.features.keys) for p in there
    ]
    assert [len(p.matches) for p in here] == [1, 1, 0]


def test_the_pipelines_worker_job_parses_and_prepares_in_one_piece() -> None:
    body = rss(ITEMS)
    parsed = parse_feed(body, FEED, "A")
    here = prepare(parsed.entries, compile_watches(WATCHES, ALIASES), V1)
    recipe = Recipe(RuleSource.of(WATCHES, ALIASES), V1, 3, True, None)

    async def in_worker() -> tuple[ParsedFeed, tuple[PreparedEntry, ...]]:
        async with ParserPool(workers=1) as pool:
            return await pool.run(
                FEED, parse_and_prepare, body, FEED, "A", None, None, None, recipe
            )

    there_parsed, there = asyncio.run(in_worker())
    assert there_parsed == parsed
    assert [(p.key, p.matches, p.features.keys) for p in there] == [
        (p.key, p.matches, p.features.keys) for p in here
    ]


def same(a: Features | None, b: Features | None) -> bool:
    """Field by field: features compare by identity."""
    assert a is not None
    assert b is not None
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(Features))


def test_a_scope_without_the_unmatched_fingerprints_only_the_matches_and_the_old() -> None:
    old = datetime(2026, 11, 1, tzinfo=UTC)
    items = [*ITEMS, Item("Rain", "https://a.example/4", "Rain in Ottawa.", old, "g4")]
    body = rss(items)
    parsed = parse_feed(body, FEED, "A")
    rules = compile_watches(WATCHES, ALIASES)
    every = prepare(parsed.entries, rules, V1)
    scoped = prepare(
        parsed.entries, rules, V1, scope=Scope(False, datetime(2026, 11, 10, tzinfo=UTC))
    )
    assert [p.key for p in scoped] == [p.key for p in every]
    assert [p.matches for p in scoped] == [p.matches for p in every]
    # The two that matched, and the one published before the cutoff (it may be backfill).
    assert [p.features is not None for p in scoped] == [True, True, False, True]
    for full, part in zip(every, scoped, strict=True):
        if part.features is not None:
            assert same(part.features, full.features)
        # What the writer would fingerprint is what the worker did.
        assert same(fingerprint_entry(part.fingerprint_input(), scheme=V1), full.features)
    # Without a cutoff, only the two that matched.
    unmatched_left_out = prepare(parsed.entries, rules, V1, scope=Scope(False))
    assert [p.features is not None for p in unmatched_left_out] == [True, True, False, False]


def test_fingerprint_input_drops_a_link_the_document_shares_between_items() -> None:
    shared = [
        Item("Steel one", "https://a.example/now", "Steel tariffs rose.", WHEN, "s1"),
        Item("Weather two", "https://a.example/now", "Rain in Ottawa today.", WHEN, "s2"),
    ]
    parsed = parse_feed(rss(shared), FEED, "A")
    rules = compile_watches(WATCHES, ALIASES)
    every = prepare(parsed.entries, rules, V1)
    scoped = prepare(parsed.entries, rules, V1, scope=Scope(False))
    assert [p.link_shared for p in scoped] == [True, True]
    assert scoped[1].features is None
    assert scoped[1].fingerprint_input().link is None
    assert same(fingerprint_entry(scoped[1].fingerprint_input(), scheme=V1), every[1].features)


def test_a_worker_prepares_with_the_scope_it_is_given() -> None:
    body = rss(ITEMS)
    recipe = Recipe(RuleSource.of(WATCHES, ALIASES), V1, 3, True, None)

    async def in_worker() -> tuple[ParsedFeed, tuple[PreparedEntry, ...]]:
        async with ParserPool(workers=1) as pool:
            return await pool.run(
                FEED, parse_and_prepare, body, FEED, "A", None, None, None, recipe, Scope(False)
            )

    _, there = asyncio.run(in_worker())
    assert [p.features is not None for p in there] == [True, True, False]
