"""Story grouping across feeds: copies of an undelivered story join it (both backends)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Request, Route, recorder
from tests.conftest import FROZEN_NOW
from tests.support.clock import ManualClock
from tests.support.feeds import Item, rss

STORY = (
    "Canada and Mexico will open a joint customs office at the port of Manzanillo next spring, "
    "trade officials in Ottawa said on Wednesday, in a bid to speed up inspections of auto parts "
    "shipped under the USMCA. The office will share cargo data between the two agencies and is "
    "meant to cut clearance times by a third, according to a briefing note seen by reporters. "
    "Industry groups in Ontario and Jalisco said the plan could ease bottlenecks that built up "
    "during the summer, when trucks waited for days at several crossings."
)
OTHER = (
    "Canada and Mexico announced a student exchange programme for engineering schools on Wednesday, "
    "with two hundred places a year starting next autumn and funding from both governments, the "
    "education ministries said. Universities in Montreal, Guadalajara and Monterrey will take part, "
    "and the first students will be chosen in the spring. The USMCA was not part of the talks."
)


def test_copies_in_other_feeds_join_the_story_and_later_copies_are_suppressed(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    received: list[Request] = []
    hook = http_server.add("/hook", recorder(received))
    hour = timedelta(hours=1)
    wire = Item(
        "Canada, Mexico to open joint customs office",
        "https://wire.example/customs",
        STORY,
        FROZEN_NOW - 3 * hour,
        "w1",
    )
    copy = Item(
        "Joint customs office planned at Manzanillo",
        "https://paper.example/x?utm_source=rss",
        STORY,
        FROZEN_NOW - 2 * hour,
        "p1",
    )
    other = Item(
        "Canada and Mexico launch engineering exchange",
        "https://paper.example/y",
        OTHER,
        FROZEN_NOW - hour,
        "p2",
    )
    feeds = [
        http_server.add("/wire.xml", Route(body=rss([wire]))),
        http_server.add("/paper.xml", Route(body=rss([copy, other]))),
    ]
    late_route = Route(body=rss([]))
    feeds.append(http_server.add("/late.xml", late_route))
    config = write_config(db_url, feeds, webhook_url=hook)
    names = {"Feed 0": "Wire", "Feed 1": "Paper", "Feed 2": "Late"}
    text = config.read_text()
    for old, new in names.items():
        text = text.replace(f"name: {old}", f"name: {new}")
    config.write_text(text)
    clock = ManualClock(FROZEN_NOW)
    pipeline = open_pipeline(config, clock)

    # The wire has it first; the paper's copy arrives in a later poll.
    first = asyncio.run(pipeline.poll(pipeline.config.feeds[:1]))
    later = asyncio.run(pipeline.poll(pipeline.config.feeds[1:]))
    assert first.new + later.new == 3
    assert sum(f.duplicates for f in later.feeds) == 1
    pending = pipeline.store.pending_items("desk")
    assert [p.entry.title for p in pending] == [wire.title, other.title]  # one item per story
    assert pending[0].also == ("Paper",)

    sent = pipeline.send_digest(pipeline.config.alert("desk"), force=True)
    assert sent.built is not None
    assert sent.built.item_count == 2
    story = next(i for s in sent.built.sections for i in s.items if i.title == wire.title)
    assert story.also == ("Paper",)

    # A copy arriving after the story went out is suppressed, not sent again.
    late_route.body = rss(
        [
            Item(
                "Manzanillo customs office: what it means",
                "https://late.example/z",
                STORY,
                FROZEN_NOW,
                "l1",
            )
        ]
    )
    clock.advance(minutes=20)
    assert sum(f.duplicates for f in asyncio.run(pipeline.poll()).feeds) == 1
    assert pipeline.store.count_pending("desk") == 0
    assert pipeline.send_digest(pipeline.config.alert("desk"), force=True).built is None
    assert len(received) == 1
    (late_id,) = pipeline.store.find_entry_ids("https://late.example/z")
    record = pipeline.store.entry_record(late_id)
    assert record.duplicate is not None
    assert record.duplicate.outcome == "suppressed"
    assert record.duplicate_title == wire.title
    assert [source for _, source, _ in record.story] == ["Wire", "Paper", "Late"]


ORDERS = {
    "wire-first": ("wire", "paper", "aggregator"),
    "paper-first": ("paper", "aggregator", "wire"),
    "aggregator-first": ("aggregator", "wire", "paper"),
    "all-at-once": ("wire+paper+aggregator",),
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_the_earliest_copy_leads_the_story_whatever_order_the_feeds_come_in(
    order: str,
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    """09:10 original, 09:40 copy with a utm link, and an aggregator copy with no date:
    the digest leads with the 09:10 original in every order."""
    start = FROZEN_NOW.replace(hour=10)
    original = Item(
        "Canada, Mexico to open joint customs office",
        "https://wire.example/customs",
        STORY,
        start.replace(hour=9, minute=10),
        "w1",
    )
    copy = Item(
        "Joint customs office planned at Manzanillo",
        "https://paper.example/customs?utm_source=rss&utm_medium=feed",
        STORY,
        start.replace(hour=9, minute=40),
        "p1",
    )
    undated = Item("Customs office for Manzanillo", "https://agg.example/a", STORY, None, "a1")
    bodies = {"wire": rss([original]), "paper": rss([copy]), "aggregator": rss([undated])}
    urls = {
        name: http_server.add(f"/{name}.xml", Route(body=body)) for name, body in bodies.items()
    }
    config = write_config(db_url, list(urls.values()))
    text = config.read_text()
    for index, name in enumerate(urls):
        text = text.replace(f"name: Feed {index}", f"name: {name}")
    config.write_text(text)
    clock = ManualClock(start)
    pipeline = open_pipeline(config, clock)
    feeds = {feed.display_name: feed for feed in pipeline.config.feeds}

    for step in ORDERS[order]:
        asyncio.run(pipeline.poll([feeds[name] for name in step.split("+")]))
        clock.advance(minutes=5)

    pending = pipeline.store.pending_items("desk")
    assert len(pending) == 1  # one story
    (lead,) = pending
    assert (lead.entry.title, lead.entry.link) == (original.title, original.link)
    assert lead.entry.feed_name == "wire"
    assert sorted(lead.also) == ["aggregator", "paper"]
    digest = pipeline.preview(pipeline.config.alert("desk"))
    assert digest is not None
    (item,) = [i for section in digest.sections for i in section.items]
    assert (item.title, item.link, item.source) == (original.title, original.link, "wire")
    assert item.published == original.published
