"""Identity through the pipeline, both backends: anchors tell items apart, and items an
earlier version stored under an older form of key do not come back after an upgrade."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from monitor.dedup.keys import entry_key, legacy_keys
from monitor.parse.feed import parse_feed
from monitor.pipeline import Pipeline
from monitor.types import NewEntry
from testbed.servers import HttpServer, Route
from tests.conftest import FROZEN_NOW
from tests.support.feeds import Item, rss

PAGE = "https://wiki.example/site/now.html"
NOTES = [
    Item(
        f"Note {name}: USMCA review, day {day}",
        f"{PAGE}#{name}",
        f"On day {day} the USMCA review panel heard {witnesses} witnesses about rules of origin.",
        FROZEN_NOW - timedelta(hours=24 - day),
    )
    for name, day, witnesses in (("ink", 18, "three"), ("sewing", 19, "five"), ("logo", 20, "two"))
]


def test_items_told_apart_by_anchors_all_arrive_and_stored_ones_stay_known(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    body = rss(NOTES)
    url = http_server.add("/now.xml", Route(body=body))
    pipeline = open_pipeline(write_config(db_url, [url]))
    # Before the upgrade, the three anchors were one key: only one item was stored.
    parsed = parse_feed(body, url, "Feed 0").entries
    stored_before = parsed[-1]
    (older,) = legacy_keys(stored_before)
    assert {legacy_keys(entry) for entry in parsed} == {(older,)}
    pipeline.store.add_entries(url, [NewEntry(older, stored_before, True)], {}, FROZEN_NOW)

    summary = asyncio.run(pipeline.poll())

    (outcome,) = summary.feeds
    assert (outcome.seen, outcome.new, outcome.duplicates) == (3, 2, 0)
    pending = pipeline.store.pending_items("desk")
    assert sorted(p.entry.link or "" for p in pending) == sorted(i.link for i in NOTES[:2])
    assert {p.entry.title for p in pending} == {NOTES[0].title, NOTES[1].title}
    assert pipeline.store.known_keys([entry_key(e) for e in parsed]) == {
        entry_key(e) for e in parsed[:2]
    }
    # A second poll of the same items finds nothing new.
    http_server.add("/now.xml", Route(body=body + b"\n"))
    assert asyncio.run(pipeline.poll()).new == 0
