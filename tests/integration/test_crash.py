"""Crash tests: the daemon is SIGKILLed at each step of a send, then restarted.

A failpoint (``MONITOR_FAILPOINTS``) makes the real ``monitor run`` process
kill itself with SIGKILL at a named point: after the digest was queued, before
a send, after the receiver accepted but before the ledger was marked, after
the ledger was marked. A second daemon, started without failpoints, must then
deliver every story, and no receiver may see a message id twice except the
one send that was in flight at the kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from testbed.daemon import DaemonProcess
from testbed.servers import HttpServer, Request, Route, SmtpServer
from tests.conftest import WEBHOOK_SECRET
from tests.support.db import ledger, rows
from tests.support.feeds import Item, rss

TITLES = {"USMCA crash test story one", "USMCA crash test story two"}


def daemon(config: Path, failpoints: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET, "MONITOR_FAILPOINTS": failpoints}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def waiting_items(db_url: str) -> int:
    """Alert items no digest has claimed yet."""
    ((n,),) = rows(db_url, "SELECT count(*) FROM alert_items WHERE digest_id IS NULL")
    return int(str(n))


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("failpoint", "in_flight"),
    [("after-build", 0), ("before-send", 0), ("after-send", 1), ("after-mark", 0)],
)
def test_kill_at_each_step_loses_nothing_and_doubles_nothing_but_the_send_in_flight(
    failpoint: str,
    in_flight: int,
    db_url: str,
    http_server: HttpServer,
    smtp_server: SmtpServer,
    write_config: Callable[..., Path],
) -> None:
    now = datetime.now(UTC)
    stories = [
        Item(title, f"https://news.example/{n}", "Trade.", now - timedelta(minutes=5), f"crash-{n}")
        for n, title in enumerate(sorted(TITLES))
    ]
    hooks: list[Request] = []

    def hook(request: Request) -> tuple[int, dict[str, str], bytes]:
        hooks.append(request)
        return 200, {}, b""

    feed = http_server.add("/rss.xml", Route(body=rss(stories)))
    config = write_config(
        db_url,
        [feed],
        smtp_port=smtp_server.port,
        webhook_url=http_server.add("/hook", Route(responder=hook)),
        replica={"tick": "500ms"},
        ops={"port": 0},
    )
    # Hits of the usmca watch go out at once, so the daemon sends right after its first poll.
    config.write_text(
        config.read_text().replace(
            "timezone: America/Toronto", "timezone: America/Toronto\n  immediate: [usmca]"
        )
    )

    crashed = daemon(config, failpoints=failpoint)
    try:
        _, err = crashed.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        crashed.kill()
        _, err = crashed.communicate()
        pytest.fail(f"the failpoint {failpoint} was never reached:\n{err}")
    assert crashed.returncode == -signal.SIGKILL, err

    restarted = DaemonProcess(config)
    try:
        # Done when the restart has recorded every send: no delivery left pending, no item
        # left for another digest. Whatever it could still send twice goes out before that
        # (the in-flight repeat) or shows in the ledger checked below (a second digest, a
        # mark that never landed); stopping drains what is running, so nothing comes later.
        assert wait_until(
            lambda: (
                len(smtp_server.messages) >= 1
                and len(hooks) >= 1
                and "pending" not in ledger(db_url)
                and waiting_items(db_url) == 0
            ),
            60,
        ), (
            f"after the restart: {len(smtp_server.messages)} mails, {len(hooks)} webhooks, "
            f"ledger {ledger(db_url)}, {waiting_items(db_url)} items waiting\n"
            f"first run:\n{err}\nrestart:\n{restarted.log}"
        )
    finally:
        code = restarted.stop()
    assert code == 0, restarted.log

    # One digest, one row per channel, each marked sent once.
    assert ledger(db_url) == {"sent": 2}, restarted.log
    assert waiting_items(db_url) == 0

    mail_ids = Counter(m["Message-ID"] for m in smtp_server.messages)
    hook_ids = Counter(r.headers["webhook-id"] for r in hooks)
    assert len(mail_ids) == 1
    assert len(hook_ids) == 1
    # Email is relayed before the webhook, so the send in flight at an "after-send" kill is the mail.
    assert sum(mail_ids.values()) == 1 + in_flight
    assert sum(hook_ids.values()) == 1
    for message in smtp_server.messages:
        body = message.get_body(("plain",))
        assert body is not None
        assert all(title in body.get_content() for title in TITLES)
    for request in hooks:
        payload = Webhook(WEBHOOK_SECRET).verify(request.body, request.headers)
        assert {item["title"] for item in payload["items"]} == TITLES
