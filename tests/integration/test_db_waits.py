"""A locked or unreachable database never stalls the daemon's loop or hangs a command."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.errors import StoreError
from monitor.store.store import Store
from testbed.daemon import DaemonProcess, http_get
from testbed.pgschema import fresh_schema
from testbed.servers import HttpServer, Route
from tests.support.cli import monitor
from tests.support.feeds import Item, rss

LOCK_SECONDS = 6


def hold_lock(db_url: str, seconds: float) -> Iterator[None]:
    """Hold the database so that no other connection may use the feeds table."""
    if db_url.startswith("sqlite"):
        # The write lock: the daemon's claims (writes) wait on it.
        path = db_url.removeprefix("sqlite:///")
        connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        connection.isolation_level = None
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE feeds SET name = name")
        yield
        time.sleep(seconds)
        connection.rollback()
        connection.close()
        return
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        connection.execute(sa.text("LOCK TABLE feeds IN ACCESS EXCLUSIVE MODE"))
        yield
        time.sleep(seconds)
        connection.rollback()
    engine.dispose()


def test_healthz_answers_while_the_database_is_locked(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    now = datetime.now(UTC)
    feed = http_server.add("/f.xml", Route(body=rss([Item("x", "https://n/1", "x", now, "1")])))
    # A short interval: a claim is tried at every tick, and waits on the lock.
    config = write_config(db_url, [feed], replica={"tick": "200ms"}, ops={"port": 0})
    text = config.read_text().replace("interval: 15m", "interval: 1s")
    config.write_text(text)
    daemon = DaemonProcess(config)
    try:
        base = daemon.ops_url()
        daemon.wait_for_log(r"^poll: 1 feed in")
        locker = hold_lock(db_url, LOCK_SECONDS)
        next(locker)
        holder = threading.Thread(target=lambda: next(locker, None))
        holder.start()
        time.sleep(1)  # the daemon's next tick is now waiting on the lock
        slowest = 0.0
        while holder.is_alive():
            started = time.monotonic()
            assert http_get(base + "/healthz", timeout=3) == (200, "ok\n")
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.3)
        holder.join()
        assert slowest < 1.5
    finally:
        assert daemon.stop() == 0


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield int(listener.getsockname()[1])
    listener.close()


def test_an_unanswering_postgresql_fails_a_command_after_the_connect_timeout(
    tmp_path: Path, silent_server: int
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database: postgresql+psycopg://monitor@127.0.0.1:{silent_server}/monitor\n"
        "database_connect_timeout: 2s\n"
        "watches: [{name: w, query: usmca}]\n"
        "alerts: [{name: a, watches: [w], webhook: {url: 'https://h.example/x', secret: '${TEST_WEBHOOK_SECRET}'}}]\n"
    )
    started = time.monotonic()
    result = monitor(config, "status", timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_schema("wait") as url:
        yield url


def test_a_postgresql_statement_waiting_on_a_lock_fails_after_the_statement_timeout(
    pg_url: str,
) -> None:
    db_url = pg_url
    store = Store.open(db_url, statement_timeout=1)
    try:
        store.sync_feeds([("https://x.example/f", "F", timedelta(minutes=5))])
        locker = hold_lock(db_url, 0)
        next(locker)
        started = time.monotonic()
        with pytest.raises(StoreError, match="statement timeout"):
            store.feed_states()
        assert time.monotonic() - started < 10
        next(locker, None)
    finally:
        store.close()
