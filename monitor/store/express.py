"""The feeds' rows of a SQLite store, read and written with the standard library alone.

Most polls find every feed unchanged (each answers 304). Such a poll reads the feeds'
states and writes their poll records, nothing else, yet opening the store for it loads
SQLAlchemy, SQLModel and the models: about a third of a one-shot ``monitor poll`` of
1,000 unchanged feeds (#14). :func:`open_express` opens the same file with :mod:`sqlite3`
for the express pass of :func:`monitor.pipeline.poll_express`, which hands every feed
that needs more (a new body, an error) to the full pipeline.

It answers only where it can be sure the full store would do the same:

- the file is a plain SQLite URL's (:func:`monitor.store.peek.sqlite_path`), it exists,
  and the schema is at the newest revision (:func:`ExpressFeeds.at_head`);
- syncing the feed list with the config would write nothing, and every configured feed
  was parsed before (:func:`monitor.store.feedstate.plan_feed_list`, the decision
  :meth:`~monitor.store.feeds.FeedsRepository.sync_feeds` applies);
- each date stored is in the store's own form (:func:`monitor.store.sqlite.read_utc_text`).

Otherwise it says so (None, or :class:`NotExpress`) and the caller takes the full path.
Its statements are its own, written for SQLite; tests/integration/test_express.py holds
them to the store's: the same states read, the same rows left by a poll's records.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from datetime import datetime, timedelta
from typing import Any

from monitor.store.feedstate import (
    STATE_COLUMNS,
    STATE_DATES,
    FeedListRow,
    FeedState,
    PollRecord,
    plan_feed_list,
)
from monitor.store.lists import chunked, placeholders
from monitor.store.peek import sqlite_path
from monitor.store.revisions import known_head
from monitor.store.sqlite import (
    SQLITE_BUSY_TIMEOUT_MS,
    read_utc_text,
    sqlite_pragmas,
    sqlite_utc_text,
)

ETAG_LENGTH = 1024
"""``feeds.etag``'s length (a test holds it to the model's column)."""
LAST_MODIFIED_LENGTH = 200
"""``feeds.last_modified``'s length (a test holds it to the model's column)."""

_SUCCESS = (
    "UPDATE feeds SET etag = ?, last_modified = ?, "
    "first_polled_at = coalesce(first_polled_at, ?), last_polled_at = ?, "
    "last_success_at = ?, last_error = NULL, consecutive_failures = 0, next_poll_at = ?, "
    "lease_owner = NULL, lease_until = NULL, broken_reported_at = NULL"
)
_UNCHANGED = f"{_SUCCESS} WHERE url = ?"
"""A successful poll that read no body (a 304), by a poll that leases nothing (``monitor
poll``), as :meth:`~monitor.store.feeds.FeedsRepository.record_unchanged` writes it."""
_SAME_BODY = f"{_SUCCESS}, body_hash = ?, last_note = NULL WHERE url = ?"
"""A successful poll whose body hashed as the one stored (a server that ignores conditional
GET): as :meth:`~monitor.store.feeds.FeedsRepository.record_poll` writes it (the body's
hash again, and no note, since nothing was cut)."""


class NotExpress(Exception):
    """What the store holds needs the full store to read (a date of another form)."""


def open_express(database_url: str) -> ExpressFeeds | None:
    """The feeds of the SQLite file ``database_url`` names, opened without SQLAlchemy;
    None for any other database, a file not there yet, or one that cannot be opened and
    set up (the full store then says what is wrong)."""
    path = sqlite_path(database_url)
    if path is None or not path.is_file():
        return None
    try:
        connection = sqlite3.connect(
            str(path), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
    except sqlite3.Error:
        return None
    try:
        sqlite_pragmas(connection)
    except sqlite3.Error:
        connection.close()
        return None
    return ExpressFeeds(connection)


class ExpressFeeds:
    """The ``feeds`` table of one SQLite store, over one :mod:`sqlite3` connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def close(self) -> None:
        self.connection.close()

    def at_head(self) -> bool:
        """Whether the schema is at the newest revision this version knows."""
        head = known_head()
        if head is None:
            return False
        try:
            with closing(
                self.connection.execute("SELECT version_num FROM alembic_version")
            ) as rows:
                return [row[0] for row in rows] == [head]
        except sqlite3.Error:  # no table yet: the store creates the schema
            return False

    def states_if_settled(
        self,
        wanted: Mapping[str, tuple[str, timedelta]],
        jitter: Callable[[timedelta], timedelta] | None = None,
    ) -> dict[str, FeedState] | None:
        """The states of the configured feeds ``wanted`` (url -> name, interval), when the
        schema is current, syncing the feed list would write nothing and every one of them
        was parsed before; None when any of that does not hold."""
        try:
            if not self.at_head():
                return None
            plan = plan_feed_list(wanted, self._feed_list(), jitter)
            if plan.writes or plan.unparsed:
                return None
            return self.states(list(wanted))
        except (sqlite3.Error, NotExpress):
            return None

    def states(self, urls: Sequence[str]) -> dict[str, FeedState]:
        """The states of the feeds at ``urls`` that the table holds."""
        found: dict[str, FeedState] = {}
        for chunk in chunked(urls):
            sql = (
                f"SELECT {', '.join(STATE_COLUMNS)} FROM feeds "
                f"WHERE url IN ({placeholders('sqlite', len(chunk))})"
            )
            with closing(self.connection.execute(sql, tuple(chunk))) as rows:
                for row in rows:
                    values: list[Any] = [
                        _date(value) if is_date else value
                        for value, is_date in zip(row, STATE_DATES, strict=True)
                    ]
                    state = FeedState(*values)
                    found[state.url] = state
        return found

    def record_unchanged(self, polls: Sequence[tuple[str, PollRecord]]) -> list[str]:
        """Store successful polls that parsed nothing (a 304, or the body stored already)
        and lease nothing, in one transaction; returns the URLs of those not in the table
        (nothing is stored for them). Each record must be :func:`fits`."""
        if not polls:
            return []
        unchanged: list[tuple[Any, ...]] = []
        same_body: list[tuple[Any, ...]] = []
        for url, record in polls:
            if not fits(record):
                raise ValueError(f"the poll of {url} is not one the express pass stores")
            now = sqlite_utc_text(record.now)
            row = (
                _text(record.etag),
                _text(record.last_modified),
                now,
                now,
                now,
                sqlite_utc_text(record.next_poll_at),
            )
            if record.body_hash is None:
                unchanged.append((*row, url))
            else:
                same_body.append((*row, record.body_hash, url))
        urls = [url for url, _ in polls]
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            done = connection.executemany(_UNCHANGED, unchanged).rowcount
            done += connection.executemany(_SAME_BODY, same_body).rowcount
            missing: list[str] = []
            if done != len(polls):  # some are not in the table
                known: set[str] = set()
                for chunk in chunked(urls):
                    known.update(
                        url
                        for (url,) in connection.execute(
                            f"SELECT url FROM feeds WHERE url IN ({placeholders('sqlite', len(chunk))})",
                            tuple(chunk),
                        )
                    )
                missing = [url for url in urls if url not in known]
            # Recovered feeds: a new failure streak is news again.
            for chunk in chunked(urls):
                connection.execute(
                    "DELETE FROM feed_notices WHERE feed_id IN (SELECT id FROM feeds "
                    f"WHERE url IN ({placeholders('sqlite', len(chunk))}) AND disabled_at IS NULL)",
                    tuple(chunk),
                )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return missing

    def _feed_list(self) -> dict[str, FeedListRow]:
        found: dict[str, FeedListRow] = {}
        with closing(
            self.connection.execute(
                "SELECT id, url, name, active, consecutive_failures, next_poll_at, "
                "last_polled_at, body_hash IS NULL AND disabled_at IS NULL FROM feeds"
            )
        ) as rows:
            for feed_id, url, name, active, failures, due, polled, unparsed in rows:
                found[url] = FeedListRow(
                    feed_id,
                    url,
                    name,
                    bool(active),
                    failures,
                    _date(due),
                    _date(polled),
                    bool(unparsed),
                )
        return found


def fits(record: PollRecord) -> bool:
    """Whether the express pass stores ``record``: a success that moved nothing, noted
    nothing, and whose validators fit their columns; its ``body_hash``, if any, is that of
    a body stored already (anything else is stored by the full store, as
    :meth:`~monitor.store.feeds.FeedsRepository.record_poll` stores it)."""
    return (
        record.plain
        and (record.etag is None or len(record.etag) <= ETAG_LENGTH)
        and (record.last_modified is None or len(record.last_modified) <= LAST_MODIFIED_LENGTH)
    )


def _date(value: Any) -> datetime | None:
    if value is None:
        return None
    read = read_utc_text(value) if isinstance(value, str) else None
    if read is None:
        raise NotExpress(f"a date stored as {value!r}")
    return read


def _text(value: str | None) -> str | None:
    # As every statement of the store binds text (monitor.store.bounds.strip_nul_bytes).
    return value.replace("\x00", "") if value is not None and "\x00" in value else value
