"""How every connection to a SQLite store is set up, with the standard library alone.

The engine applies it to each connection it opens (:mod:`monitor.store.db`), and so does
the express pass of unchanged feeds (:mod:`monitor.store.express`), which opens its own
without SQLAlchemy: both write under the same journal, locks and checkpoints.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""Long enough for a digest transaction; short enough to notice a hang."""

SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
"""A checkpoint copies the WAL back into the database; every 10,000 pages (about 40 MiB of
WAL) instead of SQLite's 1,000, so that a page the index writes again and again
(dedup_keys takes ~40 rows per entry, at random places) is copied once per checkpoint
rather than ten times: a large first poll stores a third faster."""

SQLITE_CACHE_KIB = 16_384
"""Page cache per connection (SQLite's default is 2 MiB): a group commit inserts some forty
dedup key rows per entry at random places, and 8 MiB instead costs about a fifth more CPU
in SQLite. The engine's connections hold it only while in use
(:func:`monitor.store.db._sqlite_release`)."""


def sqlite_pragmas(connection: sqlite3.Connection) -> None:
    """Set up a new connection: WAL journal (the daemon's writer never blocks the CLI's
    readers), a busy timeout (two processes wait instead of failing), foreign keys on."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def sqlite_utc_text(value: datetime) -> str:
    """An aware datetime as a UTC column stores it on SQLite: what the column type's own
    processor makes of it (naive UTC, then SQLAlchemy's ``YYYY-MM-DD HH:MM:SS.ffffff``), in
    one C call instead of three Python ones; a cold cycle binds two per entry.
    :func:`monitor.store.binds.same_text` checks it against the column type."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def read_utc_text(value: str) -> datetime | None:
    """A UTC column's text on SQLite, in the form the store writes it, as the aware datetime
    the column type reads (:func:`monitor.store.binds.same_datetime` checks it against the
    type); None for text of any other form."""
    try:
        read = datetime.fromisoformat(value)
    except ValueError:
        return None
    return None if read.tzinfo is not None else read.replace(tzinfo=UTC)
