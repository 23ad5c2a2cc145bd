"""Real headlines through `monitor poll`: copies of one story from several outlets, each
headline with its " - Publisher" suffix and nothing else, become one story; the other
event of the same topic (ECB+ holds two of one kind per topic) stays apart. Both backends.

The headlines are read from ``../shared/devsets/ecbplus`` at test time and served by a
loopback HTTP server as three aggregator feeds.

No watch matches them, so no story waits for a digest: the copies are found only by the
lookup of unmatched entries in the whole archive (``dedup.lookup_unmatched: true``). Under
the default (``false``) each is stored as an article of its own, which changes no digest.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.dedup.evaluation import LabelledArticle, load_ecbplus
from monitor.dedup.features import HEADLINE_MIN_WORDS
from monitor.dedup.text import title_tokens
from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Route
from tests.conftest import FROZEN_NOW
from tests.support.cli import monitor
from tests.support.clock import ManualClock
from tests.support.feeds import Item, rss

ECBPLUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "devsets" / "ecbplus").resolve()
PUBLISHERS = ("The Daily Courier", "CBC News", "Reuters")
TOPICS = 5


def stories() -> list[tuple[LabelledArticle, LabelledArticle]]:
    """Per topic, a real headline (the ECB+ half) and an article of the other event."""
    if not ECBPLUS.exists():
        pytest.skip(f"{ECBPLUS} is absent")
    by_topic: dict[str, dict[bool, list[LabelledArticle]]] = defaultdict(lambda: defaultdict(list))
    for article in load_ecbplus(ECBPLUS / "ecbplus_docs.json"):
        by_topic[article.topic][article.url is not None].append(article)
    chosen = []
    for sides in by_topic.values():
        headlines = [a for a in sides[True] if len(title_tokens(a.title)) >= HEADLINE_MIN_WORDS + 2]
        if headlines and sides[False]:
            chosen.append((headlines[0], sides[False][0]))
        if len(chosen) == TOPICS:
            break
    return chosen


def serve_aggregators(
    http_server: HttpServer, pairs: list[tuple[LabelledArticle, LabelledArticle]], now: datetime
) -> list[str]:
    """Three aggregator feeds carrying each story's headline with their own " - Publisher";
    the first also carries each topic's other event."""
    feeds = []
    for number, publisher in enumerate(PUBLISHERS):
        items = [
            Item(
                f"{story.title} - {publisher}",
                f"https://news.example/{number}/{index}",
                "",
                now - timedelta(minutes=10 * number + index),
                f"{number}-{index}",
            )
            for index, (story, _) in enumerate(pairs)
        ]
        if number == 0:
            items += [
                Item(
                    other.title,
                    f"https://news.example/other/{index}",
                    "",
                    now - timedelta(minutes=5),
                    f"other-{index}",
                )
                for index, (_, other) in enumerate(pairs)
            ]
        feeds.append(http_server.add(f"/agg{number}.xml", Route(body=rss(items))))
    return feeds


def test_real_headlines_from_three_outlets_make_one_story_each(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    pairs = stories()
    assert len(pairs) == TOPICS
    config = write_config(
        db_url,
        serve_aggregators(http_server, pairs, FROZEN_NOW),
        dedup={"lookup_unmatched": True},
    )
    pipeline = open_pipeline(config, ManualClock(FROZEN_NOW))
    assert pipeline.dedup.lookup_unmatched is True
    # One outlet first (its headlines are the stories), then the other two.
    first = asyncio.run(pipeline.poll(pipeline.config.feeds[:1]))
    later = asyncio.run(pipeline.poll(pipeline.config.feeds[1:]))
    assert first.new == 2 * TOPICS
    assert later.new == 2 * TOPICS
    assert sum(f.duplicates for f in first.feeds) == 0  # the other events stayed apart
    assert sum(f.duplicates for f in later.feeds) == 2 * TOPICS

    store = pipeline.store
    for index, (story, other) in enumerate(pairs):
        (lead,) = store.find_entry_ids(f"https://news.example/0/{index}")
        members = []
        for number in (1, 2):
            (copy,) = store.find_entry_ids(f"https://news.example/{number}/{index}")
            record = store.entry_record(copy)
            assert record.duplicate is not None, story.title
            assert record.duplicate.signal == "headline"
            members.append(record)
        assert {len(record.story) for record in members} == {3}
        (apart,) = store.find_entry_ids(f"https://news.example/other/{index}")
        assert store.entry_record(apart).duplicate is None, other.title
        assert store.entry_record(lead).duplicate is None


def test_unmatched_headlines_are_not_looked_up_in_the_archive_by_default(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    """The same polls under the default: no watch matched, nothing waits for a digest, so
    the other outlets' headlines are not compared with the archive and each stands alone."""
    pairs = stories()
    config = write_config(db_url, serve_aggregators(http_server, pairs, FROZEN_NOW))
    pipeline = open_pipeline(config, ManualClock(FROZEN_NOW))
    assert pipeline.dedup.lookup_unmatched is False
    first = asyncio.run(pipeline.poll(pipeline.config.feeds[:1]))
    later = asyncio.run(pipeline.poll(pipeline.config.feeds[1:]))
    assert (first.new, later.new) == (2 * TOPICS, 2 * TOPICS)
    assert sum(f.duplicates for f in first.feeds + later.feeds) == 0
    store = pipeline.store
    for index in range(len(pairs)):
        for number in (0, 1, 2):
            (entry,) = store.find_entry_ids(f"https://news.example/{number}/{index}")
            record = store.entry_record(entry)
            assert not record.stored.matches
            assert record.duplicate is None
            assert not record.alerts


@pytest.mark.slow
def test_real_headlines_grouped_by_the_monitor_poll_command(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    """The same, as a user runs it: `monitor poll` (one outlet, then all), then `explain`."""
    pairs = stories()
    config = write_config(
        db_url,
        serve_aggregators(http_server, pairs, datetime.now(UTC)),
        dedup={"lookup_unmatched": True},
    )
    first = monitor(config, "poll", "--feed", "Feed 0")
    assert first.returncode == 0, first.stderr
    assert f"{2 * TOPICS} new" in first.stdout
    rest = monitor(config, "poll")
    assert rest.returncode == 0, rest.stderr
    assert f"{2 * TOPICS} duplicates" in rest.stdout.splitlines()[-1]
    for index, (_, other) in enumerate(pairs):
        for number in (1, 2):
            copy = monitor(config, "explain", f"https://news.example/{number}/{index}")
            assert copy.returncode == 0, copy.stderr
            # No watch matched, so no story waits for a digest: the copies are grouped under
            # the first outlet's item (suppressed, not joined to a pending story).
            assert "duplicate: suppressed as a copy of entry" in copy.stdout, copy.stdout
            assert "signal headline" in copy.stdout
            members = copy.stdout.split("  story:\n", 1)[1].splitlines()[:3]
            feeds = [line.split(": ", 1)[0].split()[-1] for line in members]
            # The first outlet's item leads (polled alone, before); the other two were
            # polled side by side, and stored in the order they finished.
            assert feeds[0] == "0", copy.stdout
            assert sorted(feeds[1:]) == ["1", "2"], copy.stdout
        apart = monitor(config, "explain", f"https://news.example/other/{index}")
        assert "original (no duplicate of anything known)" in apart.stdout, other.title
