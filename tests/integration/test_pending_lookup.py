"""``dedup.lookup_unmatched: false``: an entry no digest can show is looked up only among the
stories waiting for a digest (and the known articles), and every copy that could reach a
digest is still caught, exactly as with the full lookup. Both backends.

Three polls over the same stories, one feed each:

1. a story that matches (``CUSMA`` in its title: queued, pending) and one that matches
   nothing (a mining story: stored, never queued);
2. copies of both under headlines that match nothing: the copy of the pending story
   joins it (the digest's "also carried by" names it); the copy of the unmatched story is
   stored as an article of its own, under all its keys, without a lookup of the archive;
3. copies of both under headlines that match: the copy of the pending story joins it, the
   copy of the unmatched story is suppressed (found through the copy or the original),
   so neither reaches a digest on its own, as with the full lookup.
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
    lookup_unmatched: bool,
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
        feeds.append(http_server.add(f"/pending-{lookup_unmatched}-{number}.xml", Route(body=body)))
    config = write_config(db_url, feeds, dedup={"lookup_unmatched": lookup_unmatched})
    pipeline = open_pipeline(config, ManualClock(FROZEN_NOW))
    assert pipeline.dedup.lookup_unmatched is lookup_unmatched
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


@pytest.mark.parametrize("lookup_unmatched", [False, True])
def test_copies_that_could_reach_a_digest_are_caught_without_the_unmatched_lookups(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    lookup_unmatched: bool,
) -> None:
    found = _poll_all(db_url, http_server, write_config, open_pipeline, lookup_unmatched)
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
    if lookup_unmatched:
        assert unmatched_copy[:3] == (False, "suppressed", "Quebec lithium miner to double output")
    else:
        # Not looked up in the archive: stored as an article of its own, under all its keys.
        assert unmatched_copy[:2] == (False, None)
