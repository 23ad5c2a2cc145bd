"""A locked or unreachable database never stalls the daemon's loop or hangs a command."""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

PROBES = 10
"""/healthz calls made while a daemon thread is known to wait on the lock."""


@contextmanager
def locked(db_url: str) -> Iterator[None]:
    """Hold the database so that no other connection may use the feeds table, until the
    block ends."""
    if db_url.startswith("sqlite"):
        # The write lock: the daemon's writes (claims, the digest tick's schedule row) wait on it.
        path = db_url.removeprefix("sqlite:///")
        connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        connection.isolation_level = None
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE feeds SET name = name")
        try:
            yield
        finally:
            connection.rollback()
            connection.close()
        return
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("LOCK TABLE feeds IN ACCESS EXCLUSIVE MODE"))
            try:
                yield
            finally:
                connection.rollback()
    finally:
        engine.dispose()


def waiting_on_feeds(db_url: str) -> int:
    """PostgreSQL: how many lock requests on the feeds table are waiting now."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            query = (
                "SELECT count(*) FROM pg_locks WHERE relation = 'feeds'::regclass AND NOT granted"
            )
            return int(connection.execute(sa.text(query)).scalar_one())
    finally:
        engine.dispose()


def skipped_ticks(daemon: DaemonProcess) -> int:
    """Ticks the scheduler skipped because the previous run of the job had not ended."""
    return sum("maximum number of running instances" in m for m in daemon.messages())


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
        slowest = 0.0

        def probe() -> None:
            nonlocal slowest
            started = time.monotonic()
            # A loop stalled by the database could not answer before the lock goes, and
            # the lock is held until the probes are done: a stall fails here, by timeout.
            assert http_get(base + "/healthz", timeout=3) == (200, "ok\n")
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.3)

        if db_url.startswith("sqlite"):
            # No way to see a waiter in SQLite: a tick still running at its next turn (the
            # scheduler says it skipped it) is one waiting on the lock, and the scheduler
            # can only say so while its loop runs.
            skipped = skipped_ticks(daemon)

            def stuck() -> bool:
                nonlocal skipped
                before, skipped = skipped, skipped_ticks(daemon)
                return skipped > before
        else:

            def stuck() -> bool:
                return waiting_on_feeds(db_url) > 0

        with locked(db_url):
            deadline = time.monotonic() + 60
            while not stuck():
                assert time.monotonic() < deadline, f"no tick waited on the lock:\n{daemon.log}"
                probe()
            for _ in range(PROBES):
                probe()
            # Still waiting at the end: every probe above ran while a database call hung.
            while not stuck():
                assert time.monotonic() < deadline, f"the tick stopped waiting:\n{daemon.log}"
                probe()
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
        with locked(db_url):
            started = time.monotonic()
            with pytest.raises(StoreError, match="statement timeout"):
                store.feed_states()
            assert time.monotonic() - started < 10
    finally:
        store.close()
