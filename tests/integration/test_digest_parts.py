"""A digest too big for one message goes out in parts, every story in exactly one part:
a mail server's SIZE limit and its 552 at DATA (real aiosmtpd), a webhook receiver's 413
and the configured body bound (real loopback receiver), a relay killed after the split
(real CLI), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml

from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Request, Route, SmtpServer
from tests.conftest import FROZEN_NOW, WEBHOOK_SECRET
from tests.support.cli import monitor
from tests.support.db import ledger, rows
from tests.support.feeds import Item, rss

STORIES = 40
LINK = re.compile(r"https://n\.example/story-(\d+)\b")


def words(rng: random.Random, count: int) -> str:
    return " ".join(
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(4, 9)))
        for _ in range(count)
    )


def long_stories(published: datetime) -> bytes:
    """Distinct long stories (no two alike, so none is grouped with another)."""
    rng = random.Random(13)
    return rss(
        [
            Item(
                f"USMCA story {n} " + words(rng, 110),
                f"https://n.example/story-{n}",
                words(rng, 250),
                published,
                f"story-{n}",
            )
            for n in range(STORIES)
        ]
    )


def stories_in_mail(message: EmailMessage) -> set[int]:
    text = message.get_body(("plain",))
    assert text is not None
    return {int(n) for n in LINK.findall(text.get_content())}


def assert_each_story_once(parts: list[set[int]]) -> None:
    assert len(parts) >= 2
    assert sum(len(p) for p in parts) == STORIES  # none doubled
    assert set().union(*parts) == set(range(STORIES))  # none lost


@pytest.fixture
def small_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(data_size_limit=60_000).start()
    yield server
    server.stop()


def test_a_mail_server_size_limit_gets_the_digest_in_parts(
    db_url: str,
    http_server: HttpServer,
    small_smtp: SmtpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    feed = http_server.add("/rss.xml", Route(body=long_stories(FROZEN_NOW)))
    pipeline = open_pipeline(write_config(db_url, [feed], smtp_port=small_smtp.port))
    asyncio.run(pipeline.poll())
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)

    statuses = [o.status for o in summary.deliveries]
    assert statuses[0] == "split"
    assert set(statuses[1:]) == {"sent"}
    messages = small_smtp.messages
    assert len(messages) == len(statuses) - 1
    assert_each_story_once([stories_in_mail(m) for m in messages])
    count = len(messages)
    numbers = []
    for message in messages:
        subject = re.fullmatch(
            rf"\[test\] desk: (\d+) new items \(part (\d+) of {count}\)", str(message["Subject"])
        )
        assert subject is not None, message["Subject"]
        assert int(subject.group(1)) == len(stories_in_mail(message))
        numbers.append(int(subject.group(2)))
    assert sorted(numbers) == list(range(1, count + 1))
    assert len({m["Message-ID"] for m in messages}) == count  # each part its own id
    assert all(len(m.as_bytes()) <= 60_000 for m in messages)
    assert ledger(db_url) == {"split": 1, "sent": count}
    (reason,) = rows(db_url, "SELECT last_error FROM deliveries WHERE status = 'split'")
    assert f"sent in {count} parts" in str(reason[0])
    assert "SIZE" in str(reason[0])

    again = pipeline.send_digest(pipeline.config.alert("desk"), force=True)
    assert again.deliveries == ()
    assert len(small_smtp.messages) == count  # nothing sent twice


def test_a_552_at_data_splits_again_until_every_part_is_taken(
    db_url: str,
    http_server: HttpServer,
    smtp_server: SmtpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    smtp_server.handler.refuse_over = 50_000  # no SIZE announced: only the 552 says so
    feed = http_server.add("/rss.xml", Route(body=long_stories(FROZEN_NOW)))
    pipeline = open_pipeline(write_config(db_url, [feed], smtp_port=smtp_server.port))
    asyncio.run(pipeline.poll())
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)

    statuses = [o.status for o in summary.deliveries]
    assert "failed" not in statuses
    assert "retry" not in statuses
    messages = smtp_server.messages
    assert statuses.count("sent") == len(messages)
    assert_each_story_once([stories_in_mail(m) for m in messages])
    assert ledger(db_url) == {"split": statuses.count("split"), "sent": len(messages)}
    (reason, *_) = rows(db_url, "SELECT last_error FROM deliveries WHERE status = 'split'")
    assert "552" in str(reason[0])


def test_a_single_story_refused_for_size_stays_pending_with_a_reason(
    db_url: str,
    http_server: HttpServer,
    smtp_server: SmtpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    smtp_server.handler.refuse_over = 1_000
    one = rss([Item("USMCA talks resume", "https://n.example/story-0", "x y z", FROZEN_NOW, "s")])
    feed = http_server.add("/rss.xml", Route(body=one))
    pipeline = open_pipeline(write_config(db_url, [feed], smtp_port=smtp_server.port))
    asyncio.run(pipeline.poll())
    (outcome,) = pipeline.send_digest(pipeline.config.alert("desk"), force=True).deliveries
    assert outcome.status == "retry"
    assert outcome.error is not None
    assert "a single story is too large for this receiver" in outcome.error
    assert "552" in outcome.error
    assert ledger(db_url) == {"pending": 1}


def body_limited(received: list[Request], limit: int) -> Route:
    """A webhook receiver that refuses bodies over ``limit`` bytes with 413."""

    def respond(request: Request) -> tuple[int, dict[str, str], bytes]:
        if len(request.body) > limit:
            return 413, {}, b"payload too large"
        received.append(request)
        return 200, {}, b""

    return Route(responder=respond)


def stories_in_bodies(received: list[Request]) -> list[set[int]]:
    return [
        {int(LINK.search(item["url"]).group(1)) for item in json.loads(r.body)["items"]}  # type: ignore[union-attr]
        for r in received
    ]


def test_a_webhook_receiver_413_gets_the_digest_in_parts(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    received: list[Request] = []
    hook = http_server.add("/hook", body_limited(received, 40_000))
    feed = http_server.add("/rss.xml", Route(body=long_stories(FROZEN_NOW)))
    pipeline = open_pipeline(write_config(db_url, [feed], webhook_url=hook))
    asyncio.run(pipeline.poll())
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)

    statuses = [o.status for o in summary.deliveries]
    assert "failed" not in statuses
    assert "retry" not in statuses
    assert statuses.count("sent") == len(received)
    assert_each_story_once(stories_in_bodies(received))
    ids = [r.headers["webhook-id"] for r in received]
    assert len(set(ids)) == len(ids)
    parts = [json.loads(r.body)["part"] for r in received]
    assert all(p and " of " in p for p in parts)
    assert ledger(db_url) == {"split": statuses.count("split"), "sent": len(received)}


def test_the_configured_webhook_bound_splits_before_sending(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    received: list[Request] = []
    hook = http_server.add("/hook", body_limited(received, 10_000_000))
    feed = http_server.add("/rss.xml", Route(body=long_stories(FROZEN_NOW)))
    config = write_config(
        db_url, [feed], webhook_url=hook, delivery={"max_webhook_bytes": {"standard": 30_000}}
    )
    pipeline = open_pipeline(config)
    asyncio.run(pipeline.poll())
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)

    statuses = [o.status for o in summary.deliveries]
    assert statuses[0] == "split"
    assert set(statuses[1:]) == {"sent"}
    assert all(len(r.body) <= 30_000 for r in received)
    assert_each_story_once(stories_in_bodies(received))
    parts = sorted(json.loads(r.body)["part"] for r in received)
    count = len(received)
    assert parts == sorted(f"{k} of {count}" for k in range(1, count + 1))


def test_a_relay_killed_after_the_split_loses_and_doubles_no_part(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
) -> None:
    received: list[Request] = []
    hook = http_server.add("/hook", body_limited(received, 10_000_000))
    feed = http_server.add("/rss.xml", Route(body=long_stories(datetime.now(UTC))))
    config = write_config(
        db_url,
        [feed],
        webhook_url=hook,
        delivery={"max_webhook_bytes": {"standard": 30_000}},
        replica={"delivery_lease": "4s"},
    )
    assert monitor(config, "poll").returncode == 0
    crashed = subprocess.run(
        [sys.executable, "-m", "monitor", "digest", "--send", "--config", str(config)],
        env={
            **os.environ,
            "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "MONITOR_FAILPOINTS": "after-split",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert crashed.returncode == -9, crashed.stderr  # killed right after the split committed
    assert received == []
    pending = ledger(db_url)
    assert pending["split"] == 1
    assert pending["pending"] >= 2

    time.sleep(4.5)  # the dead relay's claim on the parts runs out
    resumed = monitor(config, "digest", "--send")
    assert resumed.returncode == 0, resumed.stderr
    assert_each_story_once(stories_in_bodies(received))
    assert ledger(db_url) == {"split": 1, "sent": pending["pending"]}
    assert monitor(config, "digest", "--send").returncode == 0
    assert len(received) == pending["pending"]  # no part sent twice


def test_a_chat_message_with_no_room_for_every_story_goes_out_in_parts(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    # Discord takes 6,000 characters of embeds: a few long stories, never forty.
    received: list[Request] = []
    hook = http_server.add("/hook", body_limited(received, 10_000_000))
    feed = http_server.add("/rss.xml", Route(body=long_stories(FROZEN_NOW)))
    config = write_config(db_url, [feed], webhook_url=hook)
    data = yaml.safe_load(config.read_text())
    data["alerts"][0]["webhook"]["format"] = "discord"
    config.write_text(yaml.safe_dump(data))
    pipeline = open_pipeline(config)
    asyncio.run(pipeline.poll())
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)

    statuses = [o.status for o in summary.deliveries]
    assert statuses[0] == "split"
    assert set(statuses[1:]) == {"sent"}
    bodies = [r.body.decode() for r in received]
    assert not any(re.search(r"…and \d+ more", body) for body in bodies)
    assert_each_story_once([{int(n) for n in LINK.findall(body)} for body in bodies])
