"""Per-entry preparation (identify, fingerprint, match): the same in a thread and in a worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from monitor.dedup.features import fingerprint_entry
from monitor.dedup.keys import entry_key
from monitor.dedup.scheme import V1
from monitor.parse.feed import parse_feed
from monitor.parse.pool import ParserPool
from monitor.prepare import (
    PreparedEntry,
    Recipe,
    RuleSource,
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
