"""Feeds needing attention: carried once in each alert's next digest, again after a new streak."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Request, Route, recorder
from tests.conftest import FROZEN_NOW
from tests.support.clock import ManualClock
from tests.support.feeds import Item, rss


def test_a_broken_feed_is_reported_once_per_streak(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    received: list[Request] = []
    hook = http_server.add("/hook", recorder(received))
    news = Route(body=rss([]))
    broken = Route(status=500)
    feeds = [http_server.add("/news.xml", news), http_server.add("/broken.xml", broken)]
    config = write_config(db_url, feeds, webhook_url=hook, fetch={"broken_after_failures": 2})
    clock = ManualClock(FROZEN_NOW)
    pipeline = open_pipeline(config, clock)
    alert = pipeline.config.alert("desk")
    story = 0

    def poll_with_a_new_story() -> None:
        nonlocal story
        story += 1
        news.body = rss(
            [Item(f"USMCA story {story}", f"https://n.example/{story}", "x", clock(), f"s{story}")]
        )
        asyncio.run(pipeline.poll())
        clock.advance(hours=7)  # beyond the failing feed's backoff cap

    def attention() -> list[str]:
        body = json.loads(received[-1].body)
        return [notice["url"] for notice in body["attention"]]

    poll_with_a_new_story()  # 1 failure: not yet broken
    pipeline.send_digest(alert, force=True)
    assert attention() == []
    poll_with_a_new_story()  # 2 failures: broken
    pipeline.send_digest(alert, force=True)
    assert attention() == [feeds[1]]
    assert (
        json.loads(received[-1].body)["attention"][0]["last_error"]
        == "HTTP 500 Internal Server Error"
    )
    poll_with_a_new_story()
    pipeline.send_digest(alert, force=True)
    assert attention() == []  # told once

    broken.status, broken.body = 200, rss([])  # it recovers...
    poll_with_a_new_story()
    broken.status = 500  # ...and breaks again: news once more
    poll_with_a_new_story()
    poll_with_a_new_story()
    pipeline.send_digest(alert, force=True)
    assert attention() == [feeds[1]]
    assert len(received) == 4
