"""The `monitor` command as a user runs it: real subprocesses, real servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from testbed.servers import HttpServer, Request, Route, SmtpServer
from tests.conftest import WEBHOOK_SECRET
from tests.support.cli import monitor
from tests.support.feeds import Item, rss


def fresh_items() -> list[Item]:
    now = datetime.now(UTC)  # the subprocess runs on the real clock
    return [
        Item(
            "USMCA joint review begins",
            "https://news.example/review",
            "Officials met.",
            now - timedelta(hours=1),
            "c-1",
        ),
        Item(
            "Canada and Mexico sign a port deal",
            "https://news.example/ports",
            "Ottawa and Mexico.",
            now,
            "c-2",
        ),
        Item("Gardening tips", "https://news.example/garden", "Tomatoes.", now, "c-3"),
    ]


def test_poll_then_digest_send_delivers_one_correct_digest(
    db_url: str, http_server: HttpServer, smtp_server: SmtpServer, write_config: Callable[..., Path]
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(fresh_items())))
    config = write_config(db_url, [feed], smtp_port=smtp_server.port)

    polled = monitor(config, "poll")
    assert polled.returncode == 0, polled.stderr
    assert "3 items, 3 new, 2 matched" in polled.stdout, polled.stdout
    assert "poll: 1 feed in" in polled.stderr  # the log line of the cycle

    preview = monitor(config, "digest", "--preview")
    assert preview.returncode == 0, preview.stderr
    assert "USMCA joint review begins" in preview.stdout
    assert smtp_server.messages == []

    sent = monitor(config, "digest", "--send")
    assert sent.returncode == 0, sent.stderr
    assert "desk: email sent" in sent.stdout
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "[test] desk: 2 new items"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "USMCA joint review begins" in text
    assert "Canada and Mexico sign a port deal" in text
    assert "Gardening tips" not in text

    again = monitor(config, "digest", "--send", "--alert", "desk")
    assert again.returncode == 0
    assert "desk: nothing pending" in again.stdout
    assert len(smtp_server.messages) == 1


def test_digest_send_exit_code_on_failure(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(fresh_items())))
    hook = http_server.add("/hook", Route(responder=lambda r: (503, {}, b"busy")))
    config = write_config(db_url, [feed], webhook_url=hook)
    assert monitor(config, "poll").returncode == 0
    failed = monitor(config, "digest", "--send")
    assert failed.returncode == 1
    assert "webhook retry" in failed.stdout
    assert "HTTP 503" in failed.stderr


def test_unknown_alert_and_feed_are_named(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    config = write_config(db_url, [http_server.url("/rss.xml")])
    result = monitor(config, "digest", "--send", "--alert", "nosuch")
    assert result.returncode == 1
    assert "no alert named 'nosuch' (known: desk)" in result.stderr
    result = monitor(config, "poll", "--feed", "Nope")
    assert result.returncode == 1
    assert "no feed named Nope" in result.stderr


def test_run_daemon_relays_what_a_failed_run_left_and_stops_on_sigterm(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    statuses = [503]
    received: list[Request] = []

    def hook(request: Request) -> tuple[int, dict[str, str], bytes]:
        received.append(request)
        status = statuses.pop(0) if statuses else 200
        return status, {}, b"ok"

    feed = http_server.add("/rss.xml", Route(body=rss(fresh_items())))
    config = write_config(
        db_url,
        [feed],
        webhook_url=http_server.add("/hook", Route(responder=hook)),
        delivery={"retry_initial": "1s", "relay_interval": "1s"},
        replica={"tick": "1s"},
        ops={"port": 0},
    )
    assert monitor(config, "poll").returncode == 0
    assert monitor(config, "digest", "--send").returncode == 1  # the receiver answers 503: queued
    assert len(received) == 1

    env = {**os.environ, "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while len(received) < 2 and time.monotonic() < deadline:
            assert process.poll() is None, f"the daemon exited early: {process.communicate()[1]}"
            time.sleep(0.1)
        if len(received) < 2:
            process.send_signal(signal.SIGTERM)
            pytest.fail(
                f"the daemon did not relay the pending delivery: {process.communicate(timeout=30)[1]}"
            )
        assert received[0].headers["webhook-id"] == received[1].headers["webhook-id"]
        payload = Webhook(WEBHOOK_SECRET).verify(received[1].body, received[1].headers)
        assert payload["item_count"] == 2
        # The poll a moment ago set the feed's next due time: the daemon does not fetch early.
        assert len(http_server.requests_to("/rss.xml")) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a daemon behind a failed test
            _, err = process.communicate()
    assert process.returncode == 0, err
    assert "monitor running as " in err
    assert ": 1 feed, 2 watches, 1 alert" in err
    assert "delivered alert desk, webhook" in err
    assert "monitor stopped" in err
    assert "Traceback" not in err, err
    assert len(received) == 2
