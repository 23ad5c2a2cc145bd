"""The glance `monitor poll` takes at a SQLite file before the store opens: whether the
poll will parse a feed for the first time (and so starts its parser processes ahead)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.store.db import sqlite_file
from monitor.store.feeds import PollRecord
from monitor.store.peek import sqlite_path, unparsed_feeds
from monitor.store.store import Store
from tests.conftest import FROZEN_NOW

URLS = [f"https://news.example/{n}.xml" for n in range(3)]


def _stored(
    path: Path, parsed: Sequence[str], failed: Sequence[str] = (), gone: Sequence[str] = ()
) -> str:
    url = f"sqlite:///{path}"
    store = Store.open(url)
    try:
        store.sync_feeds([(u, u, timedelta(hours=1)) for u in URLS])
        due = FROZEN_NOW + timedelta(hours=1)
        for u in parsed:
            store.record_poll(u, PollRecord(FROZEN_NOW, due, body_hash="parsed"))
        for u in failed:
            store.record_poll(u, PollRecord(FROZEN_NOW, due, error="HTTP 500"))
        for u in gone:
            store.record_poll(u, PollRecord(FROZEN_NOW, due, error="HTTP 410", gone=True))
    finally:
        store.close()
    return url


def test_a_database_not_made_yet_means_every_feed_is_new(tmp_path: Path) -> None:
    assert unparsed_feeds(f"sqlite:///{tmp_path / 'none.db'}", URLS) is True
    assert unparsed_feeds(f"sqlite+pysqlite:///{tmp_path / 'none.db'}", URLS) is True
    assert not (tmp_path / "none.db").exists()  # a glance creates nothing
    assert unparsed_feeds(f"sqlite:///{tmp_path / 'none.db'}", []) is False  # nothing to poll


def _store_would_parse(url: str, urls: Sequence[str]) -> bool:
    """What the store says once open (:meth:`Store.sync_feeds`, as the pipeline asks)."""
    store = Store.open(url)
    try:
        return store.sync_feeds([(u, u, timedelta(hours=1)) for u in urls]) > 0
    finally:
        store.close()


def test_it_reads_what_the_store_counts_as_parsed(tmp_path: Path) -> None:
    url = _stored(tmp_path / "m.db", parsed=URLS[:2], failed=URLS[2:])
    cases = [
        (URLS, True),  # a failed poll parsed nothing
        (URLS[:2], False),
        ([*URLS[:2], "https://news.example/new.xml"], True),  # no row
    ]
    for urls, expected in cases:
        assert unparsed_feeds(url, urls) is expected
        assert _store_would_parse(url, urls) is expected  # the glance agrees with the store

    url = _stored(tmp_path / "g.db", parsed=URLS[:2], gone=URLS[2:])
    assert unparsed_feeds(url, URLS) is False  # disabled: it will not be polled
    assert _store_would_parse(url, URLS) is False


def test_it_gives_no_answer_where_it_cannot_tell_cheaply(tmp_path: Path) -> None:
    assert unparsed_feeds("postgresql+psycopg://127.0.0.1:5432/test", URLS) is None
    assert unparsed_feeds("sqlite://", URLS) is None
    assert unparsed_feeds("sqlite:///:memory:", URLS) is None
    assert unparsed_feeds(f"sqlite:///{tmp_path / 'm.db'}?timeout=5", URLS) is None
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    assert unparsed_feeds(f"sqlite:///{garbage}", URLS) is None
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a file with no tables yet
    assert unparsed_feeds(f"sqlite:///{empty}", URLS) is None


def test_a_writer_in_the_middle_of_a_transaction_is_not_waited_for(tmp_path: Path) -> None:
    """The store keeps SQLite in WAL mode: the glance reads what was committed, at once."""
    url = _stored(tmp_path / "m.db", parsed=URLS[:2])
    writer = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    try:
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("UPDATE feeds SET body_hash = 'parsed'")  # not committed
        assert unparsed_feeds(url, URLS) is True
    finally:
        writer.close()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///monitor.db",
        "sqlite:////var/lib/monitor/monitor.db",
        "sqlite+pysqlite:///data/monitor.db",
        "sqlite:///my%20db.db",
        "sqlite:///x%3Fy.db",
        "sqlite:///#odd.db",
        "sqlite:///:memory:",
        "sqlite://",
        "sqlite:///file:monitor.db?uri=true",
        "sqlite:///monitor.db?timeout=5",
        "sqlite+aiosqlite:///monitor.db",
        "postgresql+psycopg://127.0.0.1:5432/test",
    ],
)
def test_it_reads_a_sqlite_url_as_the_store_reads_it(url: str) -> None:
    """The same file as :func:`monitor.store.db.sqlite_file`, or no answer (a URL with
    options, another driver): never another file."""
    assert sqlite_path(url) in (None, sqlite_file(url))
    if "?" not in url and "+aiosqlite" not in url:
        assert sqlite_path(url) == sqlite_file(url)
