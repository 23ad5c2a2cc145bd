"""Feeds: the configured feeds' rows, their polls, leases and failure notices.

A poll leaves a :class:`PollRecord`; :meth:`FeedsRepository.record_poll` stores it in
one prepared statement. Replicas lease feeds (:meth:`FeedsRepository.claim_due_feeds`)
so that no feed is polled twice at once; a replica found dead has its leases (on feeds
and deliveries alike) released here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Session, col, select

from monitor.errors import StoreError
from monitor.store.base import StoreBase, table_of, upsert
from monitor.store.binds import Processor, for_driver, result_processor
from monitor.store.bounds import NO_TEXT, fitting
from monitor.store.feedstate import (
    STATE_COLUMNS,
    FeedListRow,
    FeedState,
    PollRecord,
    plan_feed_list,
)
from monitor.store.lists import chunked, placeholders
from monitor.store.models import (
    DeliveryRow,
    FeedNoticeRow,
    FeedRow,
    utcnow,
)
from monitor.types import (
    FeedNotice,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claim:
    """A feed leased to this replica for one poll."""

    url: str
    taken_over: bool
    """True when the previous lease had expired unfinished (its replica died or hung)."""


class FeedReader(Protocol):
    """Reading feeds' states (``monitor status``, the daemon's "next poll" line)."""

    def feed_states(self) -> list[FeedState]: ...

    def feed_states_for(self, urls: Sequence[str]) -> dict[str, FeedState]: ...

    def next_poll_due(self) -> tuple[datetime | None, str] | None: ...


class FeedLeases(Protocol):
    """What the scheduler needs to share feeds between replicas."""

    def claim_due_feeds(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        share: float = 1.0,
        minimum: int = 1,
    ) -> list[Claim]: ...

    def lease_owners(self) -> set[str]: ...

    def release_leases(self, owners: Sequence[str]) -> int: ...


class FeedsRepository(StoreBase):
    """Feeds: their rows, polls, leases, failure notices."""

    def sync_feeds(
        self,
        feeds: Iterable[tuple[str, str, timedelta]],
        jitter: Callable[[timedelta], timedelta] | None = None,
    ) -> int:
        """Rows for every configured (url, name, interval); feeds no longer configured
        become inactive. A healthy feed whose next poll lies further out than its
        (possibly shortened) interval allows is brought forward, so a new interval
        applies at once; a failing feed keeps its backoff. Returns how many configured
        feeds have never been parsed (new rows, or no body stored yet) and are not
        disabled: their next successful polls parse.

        ``jitter`` is the most a poll's random jitter adds to an interval
        (``fetch.poll_jitter``, ``fetch.poll_jitter_max``): a due time within it was set
        by the same interval and is left alone, so a restart on an unchanged config
        writes nothing (and keeps every feed's jitter).

        Every write is one conditional statement: a replica recording a poll
        between this read and these writes keeps the due time it set. New feeds are
        inserted in one statement, skipping any a replica starting beside it inserted.
        """
        wanted = {url: (name, interval) for url, name, interval in feeds}
        feeds_table = table_of(FeedRow)
        with self.session() as session:
            plan = plan_feed_list(wanted, _feed_list(session), jitter)
            for feed_id, name in plan.renamed:
                session.execute(
                    sa.update(feeds_table)
                    .where(feeds_table.c.id == feed_id)
                    .values(name=name, active=True)
                )
            for row, interval in plan.brought_forward:
                assert row.last_polled_at is not None  # planned only for rows polled before
                # Compare-and-set on the poll that was read: a newer one wins.
                session.execute(
                    sa.update(feeds_table)
                    .where(
                        feeds_table.c.id == row.id,
                        feeds_table.c.last_polled_at == row.last_polled_at,
                        feeds_table.c.next_poll_at == row.next_poll_at,
                        feeds_table.c.consecutive_failures == 0,
                    )
                    .values(next_poll_at=row.last_polled_at + interval)
                )
            if plan.new:
                insert_feeds(session, self.backend, list(plan.new), active=True)
            if plan.gone:
                session.execute(
                    sa.update(feeds_table)
                    .where(feeds_table.c.id.in_(plan.gone))
                    .values(active=False)
                )
        return plan.unparsed

    def feed_state(self, url: str) -> FeedState:
        with self.session() as session:
            row = session.exec(select(FeedRow).where(FeedRow.url == url)).one_or_none()
            if row is None:
                raise StoreError(f"feed {url} is not in the database (run sync_feeds first)")
            return _feed_state(row)

    def feed_states(self) -> list[FeedState]:
        with self.session() as session:
            return [_feed_state(row) for row in session.exec(select(FeedRow).order_by(FeedRow.url))]

    def next_poll_due(self) -> tuple[datetime | None, str] | None:
        """The active feed due first: its due time (None: never polled, due now) and name;
        None when no feed is active."""
        with self.session() as session:
            row = session.exec(
                select(FeedRow.next_poll_at, FeedRow.name)
                .where(col(FeedRow.active), col(FeedRow.disabled_at).is_(None))
                .order_by(col(FeedRow.next_poll_at).asc().nulls_first(), col(FeedRow.id))
                .limit(1)
            ).first()
            return None if row is None else (row[0], row[1])

    def feed_states_for(self, urls: Sequence[str]) -> dict[str, FeedState]:
        """The states of the feeds at ``urls`` (those in the database), in a few queries."""
        found: dict[str, FeedState] = {}
        with self.session() as session:
            # Straight from the driver, not the model's objects: a poll that reads nothing
            # else through the ORM never pays for setting up its mappers (some 30 ms a
            # start), and each value goes through its column type's processor alone
            # (#14: 29 -> 17 ms for 1,000 feeds on SQLite).
            connection = session.connection()
            processors = _state_processors(connection.dialect)
            for chunk in chunked(urls):
                rows = connection.exec_driver_sql(
                    f"SELECT {', '.join(STATE_COLUMNS)} FROM {FeedRow.__tablename__} "
                    f"WHERE url IN ({placeholders(self.backend, len(chunk))})",
                    tuple(chunk),
                )
                for row in rows:
                    state = FeedState(
                        *(
                            value if value is None or process is None else process(value)
                            for value, process in zip(row, processors, strict=True)
                        )
                    )
                    found[state.url] = state
        return found

    def record_poll(self, url: str, record: PollRecord, owner: str | None = None) -> int:
        """Store a poll's outcome, set the feed's next due time and release its lease;
        returns the feed's id (for the entries stored in the same transaction).

        One prepared statement, no row loaded: this runs for every feed of every
        cycle, and most polls only move the due time on. A second one clears the
        feed's failure notices, only when a success finds some.
        """
        with self.session() as session:
            feed_id = _record_one(session, url, record, owner)
        if feed_id is None:
            raise StoreError(f"feed {url} is not in the database")
        return feed_id

    def record_unchanged(
        self, polls: Sequence[tuple[str, PollRecord]], owner: str | None = None
    ) -> list[str]:
        """:meth:`record_poll` for many successful polls that read no new body (a 304):
        one statement for all of them, run once per row by the driver. Returns the URLs
        of those not in the database, for which nothing was stored.

        A poll of another shape (an error, a new body, a move, a validator too long for
        its column) is stored as :meth:`record_poll` stores it.
        """
        missing: list[str] = []
        plain: list[dict[str, Any]] = []
        with self.session() as session:
            for url, record in polls:
                if _unchanged(record):
                    plain.append(
                        {
                            "u_url": url,
                            "u_now": record.now,
                            "u_next": record.next_poll_at,
                            "u_owner": owner,
                            "u_etag": record.etag,
                            "u_last_modified": record.last_modified,
                        }
                    )
                elif _record_one(session, url, record, owner) is None:
                    missing.append(url)
            if not plain:
                return missing
            connection = session.connection()
            update = _record_poll_update(True, owner is not None, False, False, False, many=True)
            # Straight to the driver: SQLAlchemy's handling of each row's parameters cost
            # several times the UPDATE itself (#14, on SQLite: 48 -> 27 µs a feed, of which
            # the UPDATE takes 7).
            statement = for_driver(update, connection.dialect)
            done = connection.exec_driver_sql(
                statement.sql, statement.rows(plain), execution_options={NO_TEXT: True}
            ).rowcount
            urls = [params["u_url"] for params in plain]
            if done != len(plain):  # some are not in the database (or the driver cannot say)
                known: set[str] = set()
                for chunk in chunked(urls):
                    known.update(connection.execute(_URLS_KNOWN, {"k_urls": chunk}).scalars())
                missing += [url for url in urls if url not in known]
            # Recovered feeds: a new failure streak is news again (one statement, which
            # finds nothing for the many feeds that have no notices).
            for chunk in chunked(urls):
                connection.execute(_CLEAR_NOTICES_OF, {"c_urls": chunk})
        return missing

    def claim_due_feeds(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        share: float = 1.0,
        minimum: int = 1,
    ) -> list[Claim]:
        """Lease up to ``limit`` active feeds that are due and not leased by a live replica:
        ``share`` of those due, but at least ``minimum``, so replicas claiming together
        split a backlog instead of the first one taking it all.

        PostgreSQL skips rows other replicas are claiming this instant (``FOR UPDATE
        SKIP LOCKED``); on SQLite the conditional update is itself the compare-and-set.
        """
        free = sa.or_(col(FeedRow.lease_until).is_(None), col(FeedRow.lease_until) < now)
        due = sa.or_(col(FeedRow.next_poll_at).is_(None), col(FeedRow.next_poll_at) <= now)
        claimable = (col(FeedRow.active), col(FeedRow.disabled_at).is_(None), due, free)
        with self.session() as session:
            if share < 1.0:
                waiting = int(
                    session.exec(
                        select(sa.func.count()).select_from(FeedRow).where(*claimable)
                    ).one()
                )
                limit = min(limit, max(minimum, math.ceil(waiting * share)))
            query = (
                select(FeedRow.id, FeedRow.lease_owner)
                .where(*claimable)
                .order_by(col(FeedRow.next_poll_at).asc().nulls_first(), col(FeedRow.id))
                .limit(limit)
            )
            if self.backend == "postgresql":
                query = query.with_for_update(skip_locked=True)
            candidates = dict(session.exec(query).all())
            if not candidates:
                return []
            updated = session.execute(
                sa.update(FeedRow)
                .where(col(FeedRow.id).in_(candidates), free)
                .values(lease_owner=owner, lease_until=lease_until)
                .returning(col(FeedRow.id), col(FeedRow.url))
            ).all()
        return [Claim(url, candidates.get(feed_id) is not None) for feed_id, url in updated]

    def release_feed(self, url: str, owner: str) -> None:
        """Give a lease back unfinished (shutting down): another replica may poll at once."""
        with self.session() as session:
            session.execute(
                sa.update(FeedRow)
                .where(col(FeedRow.url) == url, col(FeedRow.lease_owner) == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def lease_owners(self) -> set[str]:
        """Every replica id that holds a lease on a feed or a delivery now."""
        with self.session() as session:
            feeds = session.exec(
                select(FeedRow.lease_owner).where(col(FeedRow.lease_owner).is_not(None))
            )
            sends = session.exec(
                select(DeliveryRow.lease_owner).where(col(DeliveryRow.lease_owner).is_not(None))
            )
            return {owner for owner in [*feeds, *sends] if owner}

    def release_leases(self, owners: Sequence[str]) -> int:
        """Drop every lease held by ``owners`` (replicas known to be dead); return how many."""
        if not owners:
            return 0
        with self.session() as session:
            released = 0
            for model in (FeedRow, DeliveryRow):
                result = session.execute(
                    sa.update(model)
                    .where(col(model.lease_owner).in_(owners))
                    .values(lease_owner=None, lease_until=None)
                )
                released += int(result.rowcount)  # type: ignore[attr-defined]
            return released

    def feeds_needing_attention(self, alert: str, min_failures: int) -> list[FeedNotice]:
        """Active feeds failing ``min_failures`` times in a row, or gone (410), that
        ``alert`` has not been told about during this streak."""
        with self.session() as session:
            told = select(FeedNoticeRow.feed_id).where(FeedNoticeRow.alert == alert)
            rows = session.exec(
                select(FeedRow)
                .where(
                    col(FeedRow.active),
                    sa.or_(
                        col(FeedRow.consecutive_failures) >= min_failures,
                        col(FeedRow.disabled_at).is_not(None),
                    ),
                    col(FeedRow.id).not_in(told),
                )
                .order_by(col(FeedRow.url))
            )
            return [
                FeedNotice(
                    name=row.name,
                    url=row.url,
                    failures=row.consecutive_failures,
                    last_error=row.last_error,
                    disabled=row.disabled_at is not None,
                )
                for row in rows
            ]

    def mark_noticed(self, alert: str, urls: Sequence[str], now: datetime) -> None:
        """``alert``'s digest carried these feeds: do not repeat them this streak."""
        with self.session() as session:
            for feed_id in session.exec(select(FeedRow.id).where(col(FeedRow.url).in_(urls))):
                if feed_id is not None:
                    session.add(FeedNoticeRow(alert=alert, feed_id=feed_id, reported_at=now))

    def enable_feed(self, url: str) -> None:
        """Undo a 410 disable (the publisher brought the feed back)."""
        with self.session() as session:
            row = feed_row_at(session, url)
            row.disabled_at, row.next_poll_at, row.consecutive_failures = None, None, 0
            session.add(row)


def insert_feed(session: Session, backend: str, url: str, name: str, active: bool) -> int:
    """The feed row at ``url``, inserted unless there (replicas starting together on an
    empty database insert the same rows: the first wins, the others find it); its id."""
    insert_feeds(session, backend, [(url, name)], active)
    table = table_of(FeedRow)
    return int(session.execute(sa.select(table.c.id).where(table.c.url == url)).scalar_one())


def insert_feeds(
    session: Session, backend: str, feeds: Sequence[tuple[str, str]], active: bool
) -> None:
    """Rows for ``(url, name)`` pairs, in one statement; a url already there is left as
    it is (replicas starting together on an empty database insert the same rows)."""
    now = utcnow()
    session.execute(
        upsert(backend, table_of(FeedRow)).on_conflict_do_nothing(index_elements=["url"]),
        [
            {
                "url": url,
                "name": name,
                "active": active,
                "consecutive_failures": 0,
                "created_at": now,
            }
            for url, name in feeds
        ],
    )


def _record_one(session: Session, url: str, record: PollRecord, owner: str | None) -> int | None:
    """Store one poll's outcome (:meth:`FeedsRepository.record_poll`); the feed's id, or
    None when the feed is not in the database."""
    success = record.error is None
    # Validators and a new address that would not fit their columns are left out, and
    # said so, rather than failing the whole record (a DataError on PostgreSQL).
    etag, etag_note = fitting(record.etag, FeedRow, "etag", "ETag")
    modified, modified_note = fitting(
        record.last_modified, FeedRow, "last_modified", "Last-Modified"
    )
    moved, moved_note = fitting(record.moved_to, FeedRow, "fetch_url", "permanent redirect target")
    if moved_note:
        moved_note += "; still polling the configured address"
    refused = [n for n in (etag_note, modified_note, moved_note) if n]
    if refused:
        log.warning("feed %s: %s", url, "; ".join(refused), extra={"feed": url})
    note = "; ".join(n for n in (record.note, *refused) if n) or None
    update = _record_poll_update(
        success,
        owner is not None,
        success and record.body_hash is not None,
        bool(moved),
        record.gone,
        bool(refused),
    )
    params: dict[str, Any] = {
        "u_url": url,
        "u_now": record.now,
        "u_next": record.next_poll_at,
        "u_owner": owner,
        "u_etag": etag,
        "u_last_modified": modified,
        "u_body_hash": record.body_hash,
        "u_error": record.error,
        "u_moved": moved,
        "u_note": note,
    }
    # Straight to the driver, as record_unchanged does: a cold cycle records every feed
    # this way, and SQLAlchemy's handling of the statement cost more than running it.
    # Rows the session holds unwritten go first, as session.execute would send them: the
    # statement reads the feed's notices (nothing pending costs next to nothing).
    session.flush()
    connection = session.connection()
    statement = for_driver(update, connection.dialect)
    updated = connection.exec_driver_sql(
        statement.sql, statement.rows([params])[0], execution_options={NO_TEXT: True}
    ).one_or_none()
    if updated is None:
        return None
    feed_id, disabled_at, noticed = updated
    if success and disabled_at is None and noticed:
        # Recovered: a new failure streak is news again.
        session.execute(_CLEAR_NOTICES, {"c_feed": feed_id})
    return int(feed_id)


def _unchanged(record: PollRecord) -> bool:
    """Whether :meth:`FeedsRepository.record_unchanged` stores ``record`` with the others:
    a success that read no new body, moved nothing, and whose validators fit."""
    return (
        record.plain
        and record.body_hash is None
        and fitting(record.etag, FeedRow, "etag", "ETag")[1] is None
        and fitting(record.last_modified, FeedRow, "last_modified", "Last-Modified")[1] is None
    )


@lru_cache(maxsize=64)
def _record_poll_update(
    success: bool,
    leased: bool,
    new_body: bool,
    moved: bool,
    gone: bool,
    noted: bool = False,
    many: bool = False,
) -> sa.Update:
    """The UPDATE of :meth:`FeedsRepository.record_poll` for one shape of outcome, built once;
    ``many``: without the RETURNING, to run for many rows at once (``executemany``)."""
    feeds = table_of(FeedRow)
    when = feeds.c.last_polled_at.type
    now = sa.bindparam("u_now", type_=when)
    values: dict[str, Any] = {
        "last_polled_at": now,
        "next_poll_at": sa.bindparam("u_next", type_=when),
    }
    if leased:  # release the lease if it is ours (or nobody's)
        mine = sa.or_(feeds.c.lease_owner.is_(None), feeds.c.lease_owner == sa.bindparam("u_owner"))
        values["lease_owner"] = sa.case((mine, None), else_=feeds.c.lease_owner)
        values["lease_until"] = sa.case((mine, None), else_=feeds.c.lease_until)
    else:
        values["lease_owner"] = values["lease_until"] = None
    if success:
        values.update(
            etag=sa.bindparam("u_etag"),
            last_modified=sa.bindparam("u_last_modified"),
            last_success_at=now,
            first_polled_at=sa.func.coalesce(feeds.c.first_polled_at, now),
            last_error=None,
            consecutive_failures=0,
            broken_reported_at=None,
        )
        if new_body:
            values["body_hash"] = sa.bindparam("u_body_hash")
    else:
        values.update(
            last_error=sa.bindparam("u_error"),
            consecutive_failures=feeds.c.consecutive_failures + 1,
        )
    if (success and new_body) or noted:  # a note stands until the next body is read
        values["last_note"] = sa.bindparam("u_note")
    if moved:
        values["fetch_url"] = sa.bindparam("u_moved")
    if gone:
        values["disabled_at"] = now
    # Whether the feed has failure notices to clear (read in the same statement, so that
    # the many feeds that have none cost no DELETE).
    # The feed's id is spelled out with its table: RETURNING renders bare column names, and a
    # bare ``id`` inside the subquery would be the notice's own.
    update = sa.update(feeds).where(feeds.c.url == sa.bindparam("u_url")).values(values)
    if many:
        return update
    notices = table_of(FeedNoticeRow)
    this_feed: sa.ColumnClause[int] = sa.literal_column(f"{feeds.name}.{feeds.c.id.name}")
    noticed = sa.exists().where(notices.c.feed_id == this_feed) if success else sa.false()
    return update.returning(feeds.c.id, feeds.c.disabled_at, noticed)


_CLEAR_NOTICES = sa.delete(table_of(FeedNoticeRow)).where(
    table_of(FeedNoticeRow).c.feed_id == sa.bindparam("c_feed")
)
_CLEAR_NOTICES_OF = sa.delete(table_of(FeedNoticeRow)).where(
    table_of(FeedNoticeRow).c.feed_id.in_(
        sa.select(table_of(FeedRow).c.id).where(
            table_of(FeedRow).c.url.in_(sa.bindparam("c_urls", expanding=True)),
            table_of(FeedRow).c.disabled_at.is_(None),
        )
    )
)
_URLS_KNOWN = sa.select(table_of(FeedRow).c.url).where(
    table_of(FeedRow).c.url.in_(sa.bindparam("k_urls", expanding=True))
)


def _feed_list(session: Session) -> dict[str, FeedListRow]:
    """The stored feeds as syncing the feed list reads them, by url."""
    feeds = table_of(FeedRow)
    rows = session.execute(
        sa.select(
            feeds.c.id,
            feeds.c.url,
            feeds.c.name,
            feeds.c.active,
            feeds.c.consecutive_failures,
            feeds.c.next_poll_at,
            feeds.c.last_polled_at,
            # A feed disabled (410 Gone) is not polled, so not parsed either.
            sa.and_(feeds.c.body_hash.is_(None), feeds.c.disabled_at.is_(None)).label("unparsed"),
        )
    )
    return {row.url: FeedListRow(*row) for row in rows}


def feed_id_at(session: Session, url: str) -> int:
    """The id of the feed at ``url``, read alone (a whole row is twenty columns to load)."""
    feeds = table_of(FeedRow)
    found = session.execute(sa.select(feeds.c.id).where(feeds.c.url == url)).scalar()
    if found is None:
        raise StoreError(f"feed {url} is not in the database")
    return int(found)


def feed_row_at(session: Session, url: str) -> FeedRow:
    row = session.exec(select(FeedRow).where(FeedRow.url == url)).one_or_none()
    if row is None:
        raise StoreError(f"feed {url} is not in the database")
    return row


@lru_cache(maxsize=8)
def _state_processors(dialect: Dialect) -> tuple[Processor | None, ...]:
    feeds = table_of(FeedRow)
    return tuple(result_processor(feeds.c[name].type, dialect) for name in STATE_COLUMNS)


def _feed_state(row: FeedRow) -> FeedState:
    """A feed's state from its model object (a cycle's states come from the driver:
    :meth:`FeedsRepository.feed_states_for`)."""
    assert row.id is not None
    return FeedState(
        id=row.id,
        url=row.url,
        name=row.name,
        etag=row.etag,
        last_modified=row.last_modified,
        first_polled_at=row.first_polled_at,
        last_polled_at=row.last_polled_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        next_poll_at=row.next_poll_at,
        fetch_url=row.fetch_url,
        body_hash=row.body_hash,
        disabled_at=row.disabled_at,
        broken_reported_at=row.broken_reported_at,
        lease_owner=row.lease_owner,
        last_note=row.last_note,
    )
