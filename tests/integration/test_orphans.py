"""A SIGKILLed daemon leaves no process behind: parser workers, forkserver, tracker."""

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

from testbed.servers import HttpServer, Route
from tests.conftest import WEBHOOK_SECRET
from tests.support.feeds import Item, rss


def session_members(sid: int) -> list[tuple[int, str]]:
    """Every live process (pid, command line) whose session id is ``sid``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # gone meanwhile
        # Fields after the parenthesised command: state ppid pgrp session ...
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            found.append((int(name), cmdline.decode(errors="replace").strip()))
    return found


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="walks /proc (Linux)")
def test_sigkilled_daemon_leaves_no_parser_process_behind(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    items = [
        Item(f"USMCA story {i}", f"https://n.example/{i}", "text " * 50, now - timedelta(hours=1))
        for i in range(40)
    ]
    feeds = [http_server.add(f"/f{i}.xml", Route(body=rss(items))) for i in range(2)]
    # Every body goes to the worker processes, two of them.
    config = write_config(
        db_url,
        feeds,
        fetch={
            "timeout": "5s",
            "pool_parse_min_bytes": 0,
            "parse_workers": 2,
            "allow_private": ["127.0.0.0/8"],
        },
        replica={"tick": "500ms"},
        ops={"enabled": False},
    )
    log = tmp_path / "daemon.log"
    with log.open("w") as sink:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env={**os.environ, "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET},
            start_new_session=True,
        )
    sid = daemon.pid
    try:
        assert wait_until(lambda: "poll: 2 feeds" in log.read_text(), 60), log.read_text()
        # The pool is up: the daemon, the forkserver, the workers, the resource tracker.
        assert len(session_members(sid)) >= 4, session_members(sid)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=10)
        wait_until(lambda: not session_members(sid), 15)
        assert not session_members(sid), "\n".join(
            f"{pid} {cmd[:150]}" for pid, cmd in session_members(sid)
        )
    finally:
        for pid, _ in session_members(sid):
            os.kill(pid, signal.SIGKILL)  # never leave them behind a failed test
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(timeout=10)
