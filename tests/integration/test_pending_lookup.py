"""What becomes of the entries no digest can show, under the three ways of handling them,
and that every copy that could reach a digest is still caught. Both backends.

* ``dedup.index_unmatched: true``: an entry no digest can show is looked up only among the
  stories waiting for a digest (and the known articles), and stored under all its keys;
* ``dedup.lookup_unmatched: true``: it is looked up in the whole archive;
* ``dedup.index_unmatched: false``: an alertable entry that matched no watch is not fingerprinted,
  looked up or indexed at all.

Three polls over the same stories, one feed each:

1. a story that matches (``CUSMA`` in its title: queued, pending) and one that matches
   nothing (a mining story: stored, never queued);
2. copies of both under headlines that match nothing: with an index of unmatched entries,
   the copy of the pending story joins it (the digest's "also carried by" names it) and
   the copy of the unmatched story is stored as an article of its own; by default both
   are stored as articles of their own, looked up nowhere;
3. copies of both under headlines that match: the copy of the pending story joins it in
   every mode. The copy of the unmatched story is suppressed when the unmatched entries
   are indexed (a copy of a story never alerted); with neither it alerts, since nobody was
   shown the story (nothing indexed the unmatched copies it would be found through).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Route
from tests.conftest import FROZEN_NOW
from tests.support.clock import ManualClock
from tests.support.feeds import Item, rss

TRADE = (
    "Negotiators from the three countries met in Ottawa on Tuesday to prepare the joint "
    "review of the agreement due next summer. Officials said the talks covered rules of "
    "origin for automobiles, dairy quotas and the dispute settlement chapter, and that a "
    "second round was planned in Monterrey before the end of the year. Business groups "
    "asked for a clear timetable and for the steel and aluminum tariffs to be settled first."
)
MINING = (
    "A Quebec lithium producer said on Monday it would double the output of its northern "
    "mine by 2027 after securing a long-term supply contract with a European battery maker. "
    "The company plans to hire three hundred workers and to build a new concentrator near "
    "the site, pending an environmental assessment. Its shares rose eight percent in early "
    "trading as analysts raised their price targets on the expected cash flow."
)

# (title, text, watches it must match) per poll; the text of a copy is its original's.
POLLS = [
    [
        ("Ottawa prepares the CUSMA joint review", TRADE, True),
        ("Quebec lithium miner to double output", MINING, False),
    ],
    [
        ("Three countries prepare a trade review", TRADE, False),
        ("Lithium producer plans bigger mine", MINING, False),
    ],
    [
        ("CUSMA review talks move to Monterrey", TRADE, True),
        ("Lithium output to double as CUSMA rules of origin loom", MINING, True),
    ],
]


def _poll_all(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    dedup: dict[str, bool],
) -> dict[str, tuple[bool, str | None, str | None, int | None]]:
    feeds = []
    for number, items in enumerate(POLLS):
        body = rss(
            [
                Item(
                    title,
                    f"https://news{number}.example/{index}",
                    text,
                    FROZEN_NOW - timedelta(minutes=30 - 10 * number - index),
                    f"{number}-{index}",
                )
                for index, (title, text, _) in enumerate(items)
            ]
        )
        name = "-".join(f"{key}-{value}" for key, value in sorted(dedup.items()))
        feeds.append(http_server.add(f"/pending-{name}-{number}.xml", Route(body=body)))
    config = write_config(db_url, feeds, dedup=dedup)
    pipeline = open_pipeline(config, ManualClock(FROZEN_NOW))
    assert pipeline.dedup.skips_unmatched is (dedup == SKIPPING)
    for feed in pipeline.config.feeds:
        asyncio.run(pipeline.poll([feed]))
    store = pipeline.store
    found = {}
    for number, items in enumerate(POLLS):
        for index, (title, _, matches) in enumerate(items):
            (entry_id,) = store.find_entry_ids(f"https://news{number}.example/{index}")
            record = store.entry_record(entry_id)
            assert bool(record.stored.matches) is matches, title
            duplicate = record.duplicate
            root = None
            if duplicate is not None:
                root = store.story_state(duplicate.of_id).root_id
            found[title] = (
                bool(record.alerts),
                None if duplicate is None else duplicate.outcome,
                None if root is None else store.entry_record(root).stored.entry.title,
                len(record.story),
            )
    return found


INDEXED = {"index_unmatched": True}  # the default, said
EVERYWHERE = {"lookup_unmatched": True}
SKIPPING = {"index_unmatched": False}


@pytest.mark.parametrize(
    "dedup", [INDEXED, EVERYWHERE], ids=["index_unmatched", "lookup_unmatched"]
)
def test_copies_that_could_reach_a_digest_are_caught_without_the_unmatched_lookups(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    dedup: dict[str, bool],
) -> None:
    found = _poll_all(db_url, http_server, write_config, open_pipeline, dedup)
    lead = "Ottawa prepares the CUSMA joint review"
    # Only the first matching story is queued; both copies of it join it.
    assert found[lead][:2] == (True, None)
    assert found["Three countries prepare a trade review"][:3] == (False, "joined", lead)
    assert found["CUSMA review talks move to Monterrey"][:3] == (False, "joined", lead)
    assert found[lead][3] == 3  # the story: the lead and both copies
    # The matching copy of the story that matched nothing reaches no digest.
    mining = found["Lithium output to double as CUSMA rules of origin loom"]
    assert mining[:2] == (False, "suppressed")
    assert mining[2] in (
        "Quebec lithium miner to double output",
        "Lithium producer plans bigger mine",
    )
    unmatched_copy = found["Lithium producer plans bigger mine"]
    if dedup is EVERYWHERE:
        assert unmatched_copy[:3] == (False, "suppressed", "Quebec lithium miner to double output")
    else:
        # Not looked up in the archive: stored as an article of its own, under all its keys.
        assert unmatched_copy[:2] == (False, None)


def test_unindexed_unmatched_entries_are_looked_up_nowhere_and_matching_copies_still_caught(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    found = _poll_all(db_url, http_server, write_config, open_pipeline, SKIPPING)
    lead = "Ottawa prepares the CUSMA joint review"
    assert found[lead][:2] == (True, None)
    # The matching copy of the pending story joins it, as in every mode.
    assert found["CUSMA review talks move to Monterrey"][:3] == (False, "joined", lead)
    # The unmatched copy is stored on its own: not looked up, not listed with the story.
    assert found["Three countries prepare a trade review"][:2] == (False, None)
    assert found[lead][3] == 2
    # Unmatched and looked up nowhere: originals that alert nobody.
    assert found["Quebec lithium miner to double output"][:2] == (False, None)
    assert found["Lithium producer plans bigger mine"][:2] == (False, None)
    # Nobody was shown the mining story, and its earlier copies were indexed under no key:
    # the first copy that matches a watch is an original, and alerts.
    assert found["Lithium output to double as CUSMA rules of origin loom"][:2] == (True, None)


def test_unindexed_unmatched_entries_leave_backfill_indexed_so_an_old_storys_copy_is_suppressed(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    # An old mining story on a new feed (backfill: never alerted, matched nothing), then a
    # fresh copy of it that matches on another new feed.
    old = rss([Item("Quebec lithium miner to double output", "https://old.example/1", MINING,
                    FROZEN_NOW - timedelta(days=10), "old-1")])  # fmt: skip
    fresh = rss([Item("Lithium output to double as CUSMA rules of origin loom",
                      "https://fresh.example/1", MINING, FROZEN_NOW - timedelta(minutes=5),
                      "fresh-1")])  # fmt: skip
    feeds = [
        http_server.add("/backfill-old.xml", Route(body=old)),
        http_server.add("/backfill-fresh.xml", Route(body=fresh)),
    ]
    config = write_config(db_url, feeds, dedup=SKIPPING)
    pipeline = open_pipeline(config, ManualClock(FROZEN_NOW))
    assert pipeline.dedup.skips_unmatched
    for feed in pipeline.config.feeds:
        asyncio.run(pipeline.poll([feed]))
    store = pipeline.store
    (old_id,) = store.find_entry_ids("https://old.example/1")
    (fresh_id,) = store.find_entry_ids("https://fresh.example/1")
    backfill, copy = store.entry_record(old_id), store.entry_record(fresh_id)
    assert not backfill.stored.matches
    assert not backfill.alerts
    assert copy.stored.matches
    assert copy.duplicate is not None
    assert (copy.duplicate.outcome, copy.duplicate.of_id) == ("suppressed", old_id)
    assert not copy.alerts
