"""Every read and write the rest of the project does, in one place.

:class:`Store` is the only door to the database: no SQL or session appears
outside ``monitor/store``. Its methods take and return value objects from
:mod:`monitor.types` (or the small frozen records defined here), never ORM
rows, so the stages around it stay pure. Driver errors become
:class:`~monitor.errors.StoreError`.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

from monitor.dedup.seeds import SEED_FEED_URL, SEED_SOURCE
from monitor.errors import StoreError
from monitor.store.bounds import fitting
from monitor.store.db import create_engine, database_error, upgrade
from monitor.store.dedup_index import DatabaseDedupIndex
from monitor.store.models import (
    FAILED,
    PENDING,
    SENT,
    SPLIT,
    AlertItemRow,
    AlertScheduleRow,
    ChannelStateRow,
    DedupKeyRow,
    DeliveryRow,
    DigestRow,
    EntryRow,
    FeedNoticeRow,
    FeedRow,
    MatchRow,
    utcnow,
)
from monitor.stories import story_leader
from monitor.types import (
    Digest,
    DuplicateOf,
    Entry,
    FeedNotice,
    Match,
    NewEntry,
    Span,
    StoredEntry,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about one feed between polls."""

    id: int
    url: str
    name: str
    etag: str | None
    last_modified: str | None
    first_polled_at: datetime | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime | None = None
    fetch_url: str | None = None
    """Where a permanent redirect moved the feed (fetch this instead of ``url``)."""
    body_hash: str | None = None
    disabled_at: datetime | None = None
    broken_reported_at: datetime | None = None
    lease_owner: str | None = None
    last_note: str | None = None
    """What the last parsed body lost to the caps, or what did not fit a column."""


@dataclass(frozen=True, slots=True)
class PollRecord:
    """What one poll of one feed leaves behind."""

    now: datetime
    next_poll_at: datetime
    """Due time of the next poll (interval, backoff and Retry-After already applied)."""
    error: str | None = None
    """None on success (200 or 304)."""
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    """Hash of a body that was parsed (None: keep the stored one, e.g. after a 304)."""
    moved_to: str | None = None
    """A permanent redirect's target."""
    gone: bool = False
    """The publisher answered 410 Gone: disable the feed."""
    note: str | None = None
    """What the size caps cut from the parsed body (stored with a new body only)."""


@dataclass(frozen=True, slots=True)
class StoryState:
    """Where a stored entry's story stands, for a new copy of it."""

    root_id: int
    """The story's first entry."""
    is_seed: bool
    """The story is a known (baseline) article."""
    pending: bool
    """Some alert still waits to deliver it: a new copy joins it."""


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """Everything ``monitor explain`` shows about one stored entry."""

    stored: StoredEntry
    key: str
    alertable: bool
    duplicate: DuplicateOf | None
    duplicate_title: str | None
    duplicate_source: str | None
    story_id: int | None
    story: tuple[tuple[int, str, str], ...]
    """Every entry of its story: (id, source, title)."""
    alerts: tuple[tuple[str, str | None], ...]
    """(alert, digest id or None while pending)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A feed leased to this replica for one poll."""

    url: str
    taken_over: bool
    """True when the previous lease had expired unfinished (its replica died or hung)."""


@dataclass(frozen=True, slots=True)
class Lease:
    """One claim of a delivery: who made it and the token it drew."""

    owner: str
    token: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the delivery ledger, with the digest it carries."""

    id: int
    alert: str
    channel: str
    target: str
    """Recipient address (email) or URL (webhook)."""
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    digest: Digest
    lease: Lease | None = None
    """The claim this record was handed out under (None when read without claiming)."""


@dataclass(frozen=True, slots=True)
class DisabledTarget:
    """A channel target that answered 410 Gone."""

    alert: str
    channel: str
    target: str
    disabled_at: datetime
    reason: str


class Store:
    """The database, behind query methods."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()  # the transaction() this thread is inside, if any
        # A Store dropped without close() still closes its connections: left to the garbage
        # collector, a driver connection is dropped unclosed (psycopg warns, the server
        # keeps the session until it notices).
        weakref.finalize(self, engine.dispose)

    @classmethod
    def open(
        cls,
        url: str,
        migrate: bool = True,
        connect_timeout: float = 10.0,
        statement_timeout: float = 60.0,
    ) -> Store:
        """Connect to ``url`` and, unless told not to, bring the schema up to date
        (timeouts: see :func:`~monitor.store.db.create_engine`)."""
        engine = create_engine(url, connect_timeout, statement_timeout)
        if migrate:
            upgrade(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on error; inside
        :meth:`transaction`, that transaction's session."""
        shared: Session | None = getattr(self._local, "session", None)
        if shared is not None:
            try:
                yield shared
            except SQLAlchemyError as exc:
                raise database_error(str(self.engine.url), exc) from exc
            return
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
                session.commit()
        except SQLAlchemyError as exc:
            raise database_error(str(self.engine.url), exc) from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make every Store call this thread makes inside one transaction, committed at
        the end (all or nothing): a feed's reads, entries and poll record take one
        commit instead of one each."""
        if getattr(self._local, "session", None) is not None:
            yield  # already inside one
            return
        with self.session() as session:
            self._local.session = session
            try:
                yield
            finally:
                self._local.session = None

    def ping(self) -> None:
        """Raise StoreError unless the database answers."""
        with self.session() as session:
            session.exec(select(sa.literal(1))).one()

    # --- feeds ---------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[tuple[str, str, timedelta]]) -> None:
        """Rows for every configured (url, name, interval); feeds no longer configured
        become inactive. A healthy feed whose next poll lies further out than its
        (possibly shortened) interval allows is brought forward, so a new interval
        applies at once; a failing feed keeps its backoff.

        Every write is one conditional statement: a replica recording a poll
        between this read and these writes keeps the due time it set.
        """
        wanted = {url: (name, interval) for url, name, interval in feeds}
        feeds_table = _table(FeedRow)
        with self.session() as session:
            rows = {
                row.url: row
                for row in session.execute(
                    sa.select(
                        feeds_table.c.id,
                        feeds_table.c.url,
                        feeds_table.c.name,
                        feeds_table.c.active,
                        feeds_table.c.consecutive_failures,
                        feeds_table.c.next_poll_at,
                        feeds_table.c.last_polled_at,
                    )
                )
            }
            for url, (name, interval) in wanted.items():
                row = rows.get(url)
                if row is None:
                    self._insert_feed(session, url, name, active=True)
                    continue
                if row.name != name or not row.active:
                    session.execute(
                        sa.update(feeds_table)
                        .where(feeds_table.c.id == row.id)
                        .values(name=name, active=True)
                    )
                if (
                    row.consecutive_failures == 0
                    and row.next_poll_at is not None
                    and row.last_polled_at is not None
                    and row.next_poll_at > row.last_polled_at + interval
                ):
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
            gone = [row.id for url, row in rows.items() if url not in wanted and row.active]
            if gone:
                session.execute(
                    sa.update(feeds_table).where(feeds_table.c.id.in_(gone)).values(active=False)
                )

    def _insert_feed(self, session: Session, url: str, name: str, active: bool) -> int:
        """The feed row at ``url``, inserted unless there (replicas starting together on an
        empty database insert the same rows: the first wins, the others find it); its id."""
        table = _table(FeedRow)
        insert = _upsert(self.backend, table)
        session.execute(
            insert.values(
                url=url, name=name, active=active, consecutive_failures=0, created_at=utcnow()
            ).on_conflict_do_nothing(index_elements=["url"])
        )
        return int(session.execute(sa.select(table.c.id).where(table.c.url == url)).scalar_one())

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
            for start in range(0, len(urls), 500):
                chunk = list(urls[start : start + 500])
                rows = session.exec(select(FeedRow).where(col(FeedRow.url).in_(chunk)))
                found.update((row.url, _feed_state(row)) for row in rows)
        return found

    def record_poll(self, url: str, record: PollRecord, owner: str | None = None) -> None:
        """Store a poll's outcome, set the feed's next due time and release its lease.

        Two prepared statements, no row loaded: this runs for every feed of
        every cycle, and most polls only move the due time on.
        """
        success = record.error is None
        # Validators and a new address that would not fit their columns are left out, and
        # said so, rather than failing the whole record (a DataError on PostgreSQL).
        etag, etag_note = fitting(record.etag, FeedRow, "etag", "ETag")
        modified, modified_note = fitting(
            record.last_modified, FeedRow, "last_modified", "Last-Modified"
        )
        moved, moved_note = fitting(
            record.moved_to, FeedRow, "fetch_url", "permanent redirect target"
        )
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
        with self.session() as session:
            updated = session.execute(update, params).one_or_none()
            if updated is None:
                raise StoreError(f"feed {url} is not in the database")
            feed_id, disabled_at = updated
            if success and disabled_at is None:
                # Recovered: a new failure streak is news again.
                session.execute(_CLEAR_NOTICES, {"c_feed": feed_id})

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
            row = _feed_row(session, url)
            row.disabled_at, row.next_poll_at, row.consecutive_failures = None, None, 0
            session.add(row)

    # --- alert schedules -----------------------------------------------------------------

    def alert_schedule(self, alert: str, schedule: str, first_run: datetime) -> datetime:
        """The alert's next due time; (re)set to ``first_run`` if new or its schedule changed.

        Replicas starting together all get here for a new alert: the row is inserted unless
        there (the first wins, the others find it), the way feed rows are."""
        table = _table(AlertScheduleRow)
        insert = _upsert(self.backend, table)
        with self.session() as session:
            session.execute(
                insert.values(
                    alert=alert, schedule=schedule, next_run_at=first_run
                ).on_conflict_do_nothing(index_elements=["alert"])
            )
            session.execute(
                sa.update(table)
                .where(table.c.alert == alert, table.c.schedule != schedule)
                .values(schedule=schedule, next_run_at=first_run)
            )
            due: datetime = session.execute(
                sa.select(table.c.next_run_at).where(table.c.alert == alert)
            ).scalar_one()
            return due

    def alert_due(self, alert: str, schedule: str) -> datetime | None:
        """The alert's stored next due time, if it has one for this schedule; reads only
        (for the daemon's "next digest" line, which must not race the digest tick)."""
        with self.session() as session:
            row = session.get(AlertScheduleRow, alert)
            return row.next_run_at if row is not None and row.schedule == schedule else None

    def claim_alert_run(
        self, alert: str, due: datetime, following: datetime, owner: str, now: datetime
    ) -> bool:
        """Move the alert's due time from ``due`` to ``following``: True for the one winner."""
        with self.session() as session:
            result = session.execute(
                sa.update(AlertScheduleRow)
                .where(
                    col(AlertScheduleRow.alert) == alert,
                    col(AlertScheduleRow.next_run_at) == due,
                )
                .values(next_run_at=following, last_run_at=now, last_run_by=owner)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- near-duplicates ------------------------------------------------------------------

    @contextmanager
    def dedup_index(self) -> Iterator[DatabaseDedupIndex]:
        """The near-duplicate index, read in one session (for a batch of lookups)."""
        with self.session() as session:
            yield DatabaseDedupIndex(session)

    def story_state(self, entry_id: int) -> StoryState:
        """Asked for every duplicate a poll finds: two indexed Core queries, no rows loaded."""
        entries, feeds, queue = _table(EntryRow), _table(FeedRow), _table(AlertItemRow)
        with self.session() as session:
            found = session.execute(
                sa.select(sa.func.coalesce(entries.c.story_id, entries.c.id), feeds.c.url)
                .join(feeds, feeds.c.id == entries.c.feed_id)
                .where(entries.c.id == entry_id)
            ).one_or_none()
            if found is None:
                raise StoreError(f"no entry with id {entry_id}")
            root, feed_url = int(found[0]), found[1]
            members = sa.select(entries.c.id).where(
                sa.or_(entries.c.id == root, entries.c.story_id == root)
            )
            pending = session.execute(
                sa.select(queue.c.id)
                .where(queue.c.entry_id.in_(members), queue.c.digest_id.is_(None))
                .limit(1)
            ).first()
            return StoryState(root, feed_url == SEED_FEED_URL, pending is not None)

    # --- baseline (seed) articles ----------------------------------------------------------

    def add_seed(
        self,
        key: str,
        entry: Entry,
        keys: Sequence[int],
        fingerprint: str | None,
        now: datetime,
        source: str | None = None,
    ) -> int | None:
        """Store a known article (with its text, or only its fingerprint) and index it.

        Returns its id, or None when an article with this key was known already.
        """
        with self.session() as session:
            feed_id = self._insert_feed(session, SEED_FEED_URL, SEED_SOURCE, active=False)
            item = NewEntry(key, entry, alertable=False, dedup_keys=tuple(keys))
            entry_id = self._insert_entry(session, feed_id, item, now, fingerprint, source)
            if entry_id is not None:
                self._insert_keys(session, [(entry_id, key) for key in keys])
            return entry_id

    def seeds(self) -> list[StoredEntry]:
        with self.session() as session:
            ids = session.exec(
                select(EntryRow.id)
                .join(FeedRow, col(FeedRow.id) == EntryRow.feed_id)
                .where(FeedRow.url == SEED_FEED_URL)
                .order_by(col(EntryRow.id))
            ).all()
            return _load_stored(session, [i for i in ids if i is not None])

    def _insert_keys(self, session: Session, pairs: Iterable[tuple[int, int]]) -> None:
        """Index entries under their keys: ``(entry id, key)`` pairs, in one executemany.

        Straight to the driver: some forty rows per entry, and SQLAlchemy's
        per-row parameter handling would cost more than the inserts themselves.
        """
        rows = sorted({(key, entry_id) for entry_id, key in pairs})  # key order: fewer pages
        if not rows:
            return
        mark = "%s" if self.backend == "postgresql" else "?"
        session.connection().exec_driver_sql(
            f"INSERT INTO {DedupKeyRow.__tablename__} (key, entry_id) VALUES ({mark}, {mark}) "
            "ON CONFLICT DO NOTHING",
            rows,
        )

    # --- entries -------------------------------------------------------------------------

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` are already stored."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.session() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(session.exec(select(EntryRow.key).where(col(EntryRow.key).in_(chunk))))
        return found

    def texts_by_key(self, keys: Iterable[str]) -> dict[str, tuple[str, str, str]]:
        """``key -> (title, summary, content)``, outer spaces stripped, of the stored ``keys``."""
        wanted = list(dict.fromkeys(keys))
        entries = _table(EntryRow)
        found: dict[str, tuple[str, str, str]] = {}
        with self.session() as session:
            for start in range(0, len(wanted), 500):
                rows = session.execute(
                    sa.select(
                        entries.c.key, entries.c.title, entries.c.summary, entries.c.content
                    ).where(entries.c.key.in_(wanted[start : start + 500]))
                )
                for key, title, summary, content in rows:
                    found[key] = (
                        (title or "").strip(),
                        (summary or "").strip(),
                        (content or "").strip(),
                    )
        return found

    def add_entries(
        self,
        feed_url: str,
        items: Sequence[NewEntry],
        routes: Mapping[str, Sequence[str]],
        now: datetime,
    ) -> dict[str, int]:
        """Store new entries with their matches, duplicate decisions and index keys, and
        queue the originals for alerts, atomically.

        ``routes`` maps an entry key to the alerts it must reach. An entry whose
        key is already stored (say, by another process a moment ago) is skipped,
        with its matches and routes: only newly stored entries are alerted. A
        duplicate is never queued itself; a ``joined`` one becomes part of the
        story it copies. Returns ``key -> id`` of the entries actually stored,
        in the order of ``items``.

        A feed's entries take a handful of statements, whatever their number:
        entries in two multi-row inserts (originals first, so that copies of this
        batch's own entries can point at their ids), then keys, matches and
        alert items each in one executemany.
        """
        if not items:
            return {}
        with self.session() as session:
            feed_id = _feed_row(session, feed_url).id
            stories = self._stories(
                session, [i.duplicate.of_id for i in items if i.duplicate and i.duplicate.of_id > 0]
            )
            ids: dict[str, int] = {}  # entry key -> id of the rows this call stored
            batch_ids: dict[int, int] = {}  # -(i + 1) -> id, for copies of this batch's entries
            later: list[tuple[int, NewEntry]] = []
            first: list[dict[str, Any]] = []
            for position, item in enumerate(items):
                if item.duplicate is not None and item.duplicate.of_id < 0:
                    later.append((position, item))
                else:
                    first.append(_entry_values(item, feed_id, now, stories))
            ids.update(self._insert_entries(session, first))
            for position, item in enumerate(items):
                if item.key in ids:
                    batch_ids[-(position + 1)] = ids[item.key]
            if later:
                batch_stories = {
                    of_id: (entry_id, entry_id) for of_id, entry_id in batch_ids.items()
                }
                rows = [_entry_values(item, feed_id, now, batch_stories) for _, item in later]
                ids.update(self._insert_entries(session, rows))
            firsts: dict[str, NewEntry] = {}  # a key repeated in ``items`` is one entry
            for item in items:
                if item.key in ids:
                    firsts.setdefault(item.key, item)
            stored = list(firsts.values())
            self._insert_keys(
                session, [(ids[item.key], key) for item in stored for key in item.dedup_keys]
            )
            matches = [
                {
                    "entry_id": ids[item.key],
                    "watch": match.watch,
                    "score": match.score,
                    "spans": [_span_json(span) for span in match.spans],
                    "matched_at": now,
                }
                for item in stored
                for match in item.matches
            ]
            if matches:
                session.execute(sa.insert(_table(MatchRow)), matches)
            queued = [
                {"alert": alert, "entry_id": ids[item.key], "created_at": now}
                for item in stored
                if item.alertable and item.duplicate is None
                for alert in routes.get(item.key, ())
            ]
            if queued:
                session.execute(sa.insert(_table(AlertItemRow)), queued)
        return {item.key: ids[item.key] for item in stored}

    def _stories(self, session: Session, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """``id -> (id, story id)`` for the stored entries among ``ids``."""
        if not ids:
            return {}
        rows = session.execute(
            sa.select(_table(EntryRow).c.id, _table(EntryRow).c.story_id).where(
                _table(EntryRow).c.id.in_(sorted(set(ids)))
            )
        )
        return {int(i): (int(i), int(story or i)) for i, story in rows}

    def _insert_entries(self, session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert entry rows, skipping keys already stored; ``key -> id`` of those inserted."""
        if not rows:
            return {}
        table = _table(EntryRow)
        statement = (
            _upsert(self.backend, table)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.id, table.c.key)
        )
        return {key: int(entry_id) for entry_id, key in session.execute(statement, rows)}

    def _insert_entry(
        self,
        session: Session,
        feed_id: int | None,
        item: NewEntry,
        now: datetime,
        fingerprint: str | None = None,
        source: str | None = None,
    ) -> int | None:
        values = _entry_values(item, feed_id, now, {}, fingerprint, source)
        return self._insert_entries(session, [values]).get(item.key)

    def entry_record(self, entry_id: int) -> EntryRecord:
        """An entry with its matches, duplicate decision, story and alert queue state."""
        with self.session() as session:
            row = session.get(EntryRow, entry_id)
            if row is None:
                raise StoreError(f"no entry with id {entry_id}")
            (stored,) = _load_stored(session, [entry_id])
            duplicate = None
            original_title = original_source = None
            if row.duplicate_of is not None:
                duplicate = DuplicateOf(
                    row.duplicate_of,
                    row.dup_signal or "",
                    row.dup_score or 0.0,
                    row.dup_reason or "",
                    row.dup_outcome or "",
                )
                original = session.get(EntryRow, row.duplicate_of)
                if original is not None:
                    original_title = original.title
                    feed = session.get(FeedRow, original.feed_id)
                    original_source = original.source or (feed.name if feed else None)
            root = row.story_id or row.id
            story = session.exec(
                select(EntryRow.id, sa.func.coalesce(EntryRow.source, FeedRow.name), EntryRow.title)
                .join(FeedRow, col(FeedRow.id) == EntryRow.feed_id)
                .where(sa.or_(col(EntryRow.id) == root, col(EntryRow.story_id) == root))
                .order_by(col(EntryRow.id))
            ).all()
            alerts = session.exec(
                select(AlertItemRow.alert, AlertItemRow.digest_id).where(
                    AlertItemRow.entry_id == entry_id
                )
            ).all()
            return EntryRecord(
                stored=stored,
                key=row.key,
                alertable=row.alertable,
                duplicate=duplicate,
                duplicate_title=original_title,
                duplicate_source=original_source,
                story_id=row.story_id,
                story=tuple((int(i or 0), name, title) for i, name, title in story),
                alerts=tuple((alert, digest) for alert, digest in alerts),
            )

    def find_entry_ids(self, *texts: str) -> list[int]:
        """Entries whose link, canonical link or guid is one of ``texts`` (for
        ``monitor explain URL``), by id."""
        found: set[int] = set()
        with self.session() as session:
            for start in range(0, len(texts), 500):
                chunk = list(texts[start : start + 500])
                query = select(EntryRow.id).where(
                    sa.or_(
                        col(EntryRow.link).in_(chunk),
                        col(EntryRow.canonical_link).in_(chunk),
                        col(EntryRow.guid).in_(chunk),
                    )
                )
                found.update(i for i in session.exec(query) if i is not None)
        return sorted(found)

    def has_entry(self, entry_id: int) -> bool:
        with self.session() as session:
            return session.get(EntryRow, entry_id) is not None

    def entry_count(self) -> int:
        with self.session() as session:
            return int(session.exec(select(sa.func.count()).select_from(EntryRow)).one())

    def entry_counts_since(self, since: datetime) -> dict[str, int]:
        """Feed URL -> entries first seen since ``since``."""
        with self.session() as session:
            query = (
                select(FeedRow.url, sa.func.count())
                .join(EntryRow, col(EntryRow.feed_id) == FeedRow.id)
                .where(col(EntryRow.first_seen_at) >= since)
                .group_by(col(FeedRow.url))
            )
            return {url: int(n) for url, n in session.exec(query)}

    def iter_entries(
        self, since: datetime | None = None, batch: int = 1000
    ) -> Iterator[StoredEntry]:
        """Every stored entry first seen since ``since``, streamed in id order, in batches."""
        last_id = 0
        while True:
            with self.session() as session:
                query = select(EntryRow.id).where(col(EntryRow.id) > last_id)
                if since is not None:
                    query = query.where(col(EntryRow.first_seen_at) >= since)
                ids = [i for i in session.exec(query.order_by(col(EntryRow.id)).limit(batch)) if i]
                if not ids:
                    return
                rows = _load_stored(session, ids)
            yield from rows
            last_id = ids[-1]

    def first_seen_times(self, ids: Sequence[int]) -> list[datetime]:
        with self.session() as session:
            query = select(EntryRow.first_seen_at).where(col(EntryRow.id).in_(ids))
            return list(session.exec(query))

    def stored_entries(self, ids: Sequence[int]) -> list[StoredEntry]:
        """Entries by id, with their matches, in the order of ``ids``."""
        with self.session() as session:
            return _load_stored(session, ids)

    # --- digests and the outbox ----------------------------------------------------------

    def pending_items(self, alert: str, limit: int | None = None) -> list[StoredEntry]:
        """Entries queued for ``alert`` and not yet claimed by a digest, oldest first."""
        with self.session() as session:
            query = (
                select(AlertItemRow.entry_id)
                .where(AlertItemRow.alert == alert, col(AlertItemRow.digest_id).is_(None))
                .order_by(col(AlertItemRow.id))
            )
            if limit is not None:
                query = query.limit(limit)
            return _led_by_earliest(session, _load_stored(session, list(session.exec(query))))

    def count_pending(self, alert: str) -> int:
        with self.session() as session:
            query = select(sa.func.count()).where(
                AlertItemRow.alert == alert, col(AlertItemRow.digest_id).is_(None)
            )
            return int(session.exec(query).one())

    def oldest_pending_at(self, alert: str) -> datetime | None:
        """When the longest-waiting unclaimed item of ``alert`` was queued."""
        with self.session() as session:
            query = select(sa.func.min(AlertItemRow.created_at)).where(
                AlertItemRow.alert == alert, col(AlertItemRow.digest_id).is_(None)
            )
            oldest = session.exec(query).one()
            return None if oldest is None else _as_utc(oldest)

    def create_digest(
        self,
        digest: Digest,
        entry_ids: Sequence[int],
        targets: Sequence[tuple[str, str]],
        now: datetime,
    ) -> bool:
        """Claim ``entry_ids`` for ``digest`` and queue one delivery per (channel, target).

        All in one transaction: after it, the digest exists with its whole
        ledger, or nothing happened. Returns False (changing nothing) if
        another process claimed any of the entries first.
        """
        with self.session() as session:
            session.add(
                DigestRow(
                    id=digest.id,
                    alert=digest.alert,
                    created_at=digest.created_at,
                    item_count=digest.item_count,
                    payload=digest.model_dump_json(),
                )
            )
            session.flush()
            claimed = session.execute(
                sa.update(AlertItemRow)
                .where(
                    col(AlertItemRow.alert) == digest.alert,
                    col(AlertItemRow.entry_id).in_(entry_ids),
                    col(AlertItemRow.digest_id).is_(None),
                )
                .values(digest_id=digest.id)
            )
            if claimed.rowcount != len(set(entry_ids)):  # type: ignore[attr-defined]
                session.rollback()
                return False
            for channel, target in targets:
                session.add(
                    DeliveryRow(
                        digest_id=digest.id,
                        alert=digest.alert,
                        channel=channel,
                        target=target,
                        created_at=now,
                    )
                )
        return True

    def deliveries(
        self,
        status: str | None = None,
        alert: str | None = None,
        limit: int = 1000,
        due_by: datetime | None = None,
        digest_id: str | None = None,
    ) -> list[Delivery]:
        """Ledger rows, oldest first, filtered by status, alert, digest and due time."""
        with self.session() as session:
            query = select(DeliveryRow, DigestRow).join(
                DigestRow, col(DigestRow.id) == DeliveryRow.digest_id
            )
            if status is not None:
                query = query.where(DeliveryRow.status == status)
            if alert is not None:
                query = query.where(DeliveryRow.alert == alert)
            if digest_id is not None:
                query = query.where(DeliveryRow.digest_id == digest_id)
            if due_by is not None:
                query = query.where(
                    sa.or_(
                        col(DeliveryRow.next_attempt_at).is_(None),
                        col(DeliveryRow.next_attempt_at) <= due_by,
                    )
                )
            rows = session.exec(query.order_by(col(DeliveryRow.id)).limit(limit)).all()
            return [_delivery(row, digest_row) for row, digest_row in rows]

    def pending_deliveries(self, alert: str | None = None) -> list[Delivery]:
        """Every unsent delivery, due or not (an operator asked to send now)."""
        return self.deliveries(PENDING, alert)

    def due_deliveries(self, now: datetime, alert: str | None = None) -> list[Delivery]:
        """Unsent deliveries whose backoff has run out."""
        return self.deliveries(PENDING, alert, due_by=now)

    def claim_deliveries(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        alert: str | None = None,
        due_only: bool = True,
        digest_id: str | None = None,
        limit: int = 10,
        after_id: int = 0,
    ) -> list[Delivery]:
        """Lease up to ``limit`` pending deliveries (ids above ``after_id``) to ``owner``, so
        no other replica sends them meanwhile. The claim draws a token that every later
        renewal and mark must present."""
        free = sa.or_(col(DeliveryRow.lease_until).is_(None), col(DeliveryRow.lease_until) < now)
        with self.session() as session:
            query = select(DeliveryRow.id).where(
                DeliveryRow.status == PENDING, free, col(DeliveryRow.id) > after_id
            )
            if alert is not None:
                query = query.where(DeliveryRow.alert == alert)
            if digest_id is not None:
                query = query.where(DeliveryRow.digest_id == digest_id)
            if due_only:
                query = query.where(
                    sa.or_(
                        col(DeliveryRow.next_attempt_at).is_(None),
                        col(DeliveryRow.next_attempt_at) <= now,
                    )
                )
            query = query.order_by(col(DeliveryRow.id)).limit(limit)
            if self.backend == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(session.exec(query))
            if not ids:
                return []
            lease = Lease(owner, uuid.uuid4().hex)
            claimed = session.execute(
                sa.update(DeliveryRow)
                .where(col(DeliveryRow.id).in_(ids), free)
                .values(lease_owner=owner, lease_until=lease_until, lease_token=lease.token)
                .returning(col(DeliveryRow.id))
            ).scalars()
            claimed_ids = sorted(claimed)
        return [replace(self.delivery(i), lease=lease) for i in claimed_ids]

    def delivery(self, delivery_id: int) -> Delivery:
        with self.session() as session:
            row = _delivery_row(session, delivery_id)
            digest_row = session.get(DigestRow, row.digest_id)
            assert digest_row is not None
            return _delivery(row, digest_row)

    def renew_delivery(self, delivery_id: int, lease: Lease, until: datetime) -> bool:
        """Extend a claim before sending; False when it was lost (expired and taken over,
        or the row was marked meanwhile): the caller must not send."""
        with self.session() as session:
            result = session.execute(
                sa.update(DeliveryRow).where(_held(delivery_id, lease)).values(lease_until=until)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def mark_sent(self, delivery_id: int, now: datetime, lease: Lease | None = None) -> bool:
        """The channel accepted the digest: record it in the ledger. Under a ``lease``,
        only while that claim still holds the row; False when it no longer did."""
        return self._mark(
            delivery_id,
            lease,
            status=SENT,
            sent_at=now,
            last_attempt_at=now,
            attempts=_table(DeliveryRow).c.attempts + 1,
            last_error=None,
            next_attempt_at=None,
        )

    def mark_retry(
        self,
        delivery_id: int,
        now: datetime,
        error: str,
        next_attempt_at: datetime,
        lease: Lease | None = None,
    ) -> bool:
        """A send failed for now: keep the row pending, not before ``next_attempt_at``."""
        return self._mark(
            delivery_id,
            lease,
            attempts=_table(DeliveryRow).c.attempts + 1,
            last_attempt_at=now,
            last_error=error,
            next_attempt_at=next_attempt_at,
        )

    def mark_failed(
        self,
        delivery_id: int,
        now: datetime,
        error: str,
        attempted: bool = True,
        lease: Lease | None = None,
    ) -> bool:
        """A send failed for good: the row stays in the ledger as failed."""
        values: dict[str, Any] = {"last_error": error, "status": FAILED, "next_attempt_at": None}
        if attempted:
            values.update(attempts=_table(DeliveryRow).c.attempts + 1, last_attempt_at=now)
        return self._mark(delivery_id, lease, **values)

    def _mark(self, delivery_id: int, lease: Lease | None, **values: Any) -> bool:
        # One conditional UPDATE: a claim that was lost in between changes nothing.
        condition = (
            _held(delivery_id, lease) if lease is not None else col(DeliveryRow.id) == delivery_id
        )
        with self.session() as session:
            result = session.execute(
                sa.update(DeliveryRow)
                .where(condition)
                .values(lease_owner=None, lease_until=None, lease_token=None, **values)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                return True
            if lease is None:
                raise StoreError(f"no delivery with id {delivery_id}")
            return False

    def split_delivery(
        self,
        delivery: Delivery,
        parts: Sequence[Digest],
        reason: str,
        now: datetime,
        lease_until: datetime,
    ) -> list[Delivery] | None:
        """Replace a pending delivery by one per part, all in one transaction: the row becomes
        ``split`` (with ``reason``), and each part a digest row and a pending delivery to the
        same target, claimed under the same lease until ``lease_until``. None (changing
        nothing) when the claim was lost. A crash before the commit leaves the whole
        delivery pending; after it, each part is sent and marked on its own."""
        lease = delivery.lease
        held = (
            _held(delivery.id, lease)
            if lease is not None
            else sa.and_(col(DeliveryRow.id) == delivery.id, col(DeliveryRow.status) == PENDING)
        )
        with self.session() as session:
            marked = session.execute(
                sa.update(DeliveryRow)
                .where(held)
                .values(
                    status=SPLIT,
                    last_error=reason,
                    last_attempt_at=now,
                    next_attempt_at=None,
                    lease_owner=None,
                    lease_until=None,
                    lease_token=None,
                )
            )
            if not marked.rowcount:  # type: ignore[attr-defined]
                return None
            for part in parts:
                session.add(
                    DigestRow(
                        id=part.id,
                        alert=part.alert,
                        created_at=part.created_at,
                        item_count=part.item_count,
                        payload=part.model_dump_json(),
                    )
                )
            session.flush()
            rows = [
                DeliveryRow(
                    digest_id=part.id,
                    alert=delivery.alert,
                    channel=delivery.channel,
                    target=delivery.target,
                    created_at=delivery.created_at,  # the give-up window runs from the first queueing
                    lease_owner=lease.owner if lease else None,
                    lease_until=lease_until if lease else None,
                    lease_token=lease.token if lease else None,
                )
                for part in parts
            ]
            session.add_all(rows)
            session.flush()
            ids = [row.id for row in rows if row.id is not None]
        return [replace(self.delivery(i), lease=lease) for i in ids]

    def requeue(self, delivery_id: int, now: datetime) -> Delivery:
        """Make a failed (or waiting) delivery due again at once: ``monitor deliveries retry``."""
        with self.session() as session:
            row = _delivery_row(session, delivery_id)
            if row.status == SENT:
                raise StoreError(
                    f"delivery {delivery_id} was already sent at {row.sent_at}; not requeued"
                )
            if row.status == SPLIT:
                raise StoreError(
                    f"delivery {delivery_id} went out in parts ({row.last_error}); "
                    "retry the parts' deliveries instead"
                )
            row.status = PENDING
            row.next_attempt_at = now
            # A target re-enabled by hand: forget that it answered 410.
            session.execute(
                sa.delete(ChannelStateRow).where(
                    col(ChannelStateRow.alert) == row.alert,
                    col(ChannelStateRow.channel) == row.channel,
                    col(ChannelStateRow.target) == row.target,
                )
            )
            session.add(row)
        return self.delivery(delivery_id)

    def disable_target(
        self, alert: str, channel: str, target: str, reason: str, now: datetime
    ) -> None:
        """Remember that a target asked never to be called again (410 Gone)."""
        with self.session() as session:
            exists = session.exec(
                select(ChannelStateRow).where(
                    ChannelStateRow.alert == alert,
                    ChannelStateRow.channel == channel,
                    ChannelStateRow.target == target,
                )
            ).one_or_none()
            if exists is None:
                session.add(
                    ChannelStateRow(
                        alert=alert, channel=channel, target=target, disabled_at=now, reason=reason
                    )
                )

    def disabled_targets(self) -> list[DisabledTarget]:
        with self.session() as session:
            rows = session.exec(select(ChannelStateRow).order_by(col(ChannelStateRow.id)))
            return [
                DisabledTarget(r.alert, r.channel, r.target, r.disabled_at, r.reason) for r in rows
            ]

    def delivery_counts(self) -> dict[tuple[str, str, str], int]:
        """(alert, channel, status) -> number of ledger rows."""
        with self.session() as session:
            query = select(
                DeliveryRow.alert, DeliveryRow.channel, DeliveryRow.status, sa.func.count()
            ).group_by(col(DeliveryRow.alert), col(DeliveryRow.channel), col(DeliveryRow.status))
            return {(a, c, st): int(n) for a, c, st, n in session.exec(query)}


def _as_utc(value: datetime) -> datetime:
    # Aggregates bypass the column type, so a bare MIN() comes back naive (or as text on SQLite).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


def _upsert(backend: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can take ON CONFLICT, in the backend's dialect. The PostgreSQL
    dialect loads only on PostgreSQL: a twentieth of a second at every start on SQLite."""
    if backend == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


@lru_cache(maxsize=64)
def _record_poll_update(
    success: bool, leased: bool, new_body: bool, moved: bool, gone: bool, noted: bool = False
) -> sa.Update:
    """The UPDATE of :meth:`Store.record_poll` for one shape of outcome, built once."""
    feeds = _table(FeedRow)
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
    return (
        sa.update(feeds)
        .where(feeds.c.url == sa.bindparam("u_url"))
        .values(values)
        .returning(feeds.c.id, feeds.c.disabled_at)
    )


_CLEAR_NOTICES = sa.delete(_table(FeedNoticeRow)).where(
    _table(FeedNoticeRow).c.feed_id == sa.bindparam("c_feed")
)


def _entry_values(
    item: NewEntry,
    feed_id: int | None,
    now: datetime,
    stories: Mapping[int, tuple[int, int]],
    fingerprint: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """An entries row; ``stories`` maps the id a duplicate names to (original id, story id)."""
    entry = item.entry
    values: dict[str, Any] = {
        "key": item.key,
        "feed_id": feed_id,
        "guid": entry.guid,
        "link": entry.link,
        "canonical_link": (entry.canonical_link or "")[:2048] or None,
        "title": entry.title,
        "summary": entry.summary,
        "content": entry.content,
        "published_at": entry.published,
        "language": (entry.language or "")[:35] or None,
        "author": (entry.author or "")[:500] or None,
        "first_seen_at": now,
        "alertable": item.alertable,
        "fingerprint": fingerprint,
        "source": (source or "")[:300] or None,
        "duplicate_of": None,
        "dup_signal": None,
        "dup_score": None,
        "dup_reason": None,
        "dup_outcome": None,
        "story_id": None,
    }
    duplicate = item.duplicate
    if duplicate is not None:
        values["dup_reason"] = duplicate.reason
        original = stories.get(duplicate.of_id)
        # An original that was not stored after all (a race) leaves the reason only.
        if original is not None:
            values.update(
                duplicate_of=original[0],
                dup_signal=duplicate.signal,
                dup_score=duplicate.score,
                dup_outcome=duplicate.outcome,
                story_id=original[1],
                alertable=False,
            )
    return values


def _feed_row(session: Session, url: str) -> FeedRow:
    row = session.exec(select(FeedRow).where(FeedRow.url == url)).one_or_none()
    if row is None:
        raise StoreError(f"feed {url} is not in the database")
    return row


def _held(delivery_id: int, lease: Lease) -> sa.ColumnElement[bool]:
    """The row is still pending under this very claim."""
    return sa.and_(
        col(DeliveryRow.id) == delivery_id,
        col(DeliveryRow.status) == PENDING,
        col(DeliveryRow.lease_owner) == lease.owner,
        col(DeliveryRow.lease_token) == lease.token,
    )


def _delivery_row(session: Session, delivery_id: int) -> DeliveryRow:
    row = session.get(DeliveryRow, delivery_id)
    if row is None:
        raise StoreError(f"no delivery with id {delivery_id}")
    return row


def _feed_state(row: FeedRow) -> FeedState:
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


def _span_json(span: Span) -> dict[str, Any]:
    return {"field": span.field, "start": span.start, "end": span.end, "term": span.term}


def _load_stored(session: Session, ids: Sequence[int]) -> list[StoredEntry]:
    if not ids:
        return []
    rows = session.exec(
        select(EntryRow, FeedRow)
        .join(FeedRow, col(FeedRow.id) == EntryRow.feed_id)
        .where(col(EntryRow.id).in_(ids))
    ).all()
    matches: dict[int, list[Match]] = {}
    for match in session.exec(
        select(MatchRow).where(col(MatchRow.entry_id).in_(ids)).order_by(col(MatchRow.id))
    ):
        spans = tuple(Span(**span) for span in match.spans)
        matches.setdefault(match.entry_id, []).append(Match(match.watch, match.score, spans))
    also: dict[int, list[str]] = {}
    members = session.exec(
        select(EntryRow.story_id, FeedRow.name)
        .join(FeedRow, col(FeedRow.id) == EntryRow.feed_id)
        .where(col(EntryRow.story_id).in_(ids), col(EntryRow.dup_outcome) == "joined")
        .order_by(col(EntryRow.id))
    )
    for story_id, source in members:
        if story_id is not None:
            also.setdefault(story_id, []).append(source)
    by_id: dict[int, StoredEntry] = {}
    for entry_row, feed_row in rows:
        assert entry_row.id is not None
        entry = Entry(
            feed_url=feed_row.url,
            feed_name=entry_row.source or feed_row.name,
            title=entry_row.title,
            link=entry_row.link,
            canonical_link=entry_row.canonical_link,
            guid=entry_row.guid,
            summary=entry_row.summary,
            content=entry_row.content,
            published=entry_row.published_at,
            language=entry_row.language,
            author=entry_row.author,
        )
        by_id[entry_row.id] = StoredEntry(
            id=entry_row.id,
            entry=entry,
            first_seen=entry_row.first_seen_at,
            matches=tuple(matches.get(entry_row.id, ())),
            also=tuple(dict.fromkeys(n for n in also.get(entry_row.id, ()) if n != feed_row.name)),
        )
    return [by_id[i] for i in ids if i in by_id]


def _led_by_earliest(session: Session, roots: list[StoredEntry]) -> list[StoredEntry]:
    """``roots`` (stories' first-stored entries), each shown by its earliest copy
    (:func:`monitor.stories.story_leader`)."""
    entries = _table(EntryRow)
    copies: dict[int, list[int]] = {}
    if roots:
        rows = session.execute(
            sa.select(entries.c.story_id, entries.c.id)
            .where(
                entries.c.story_id.in_([root.id for root in roots]),
                entries.c.dup_outcome == "joined",
            )
            .order_by(entries.c.id)
        )
        for story_id, entry_id in rows:
            copies.setdefault(int(story_id), []).append(int(entry_id))
    if not copies:
        return roots
    loaded = {
        stored.id: stored
        for stored in _load_stored(session, [i for ids in copies.values() for i in ids])
    }
    return [
        story_leader(root, [loaded[i] for i in copies.get(root.id, ()) if i in loaded])
        for root in roots
    ]


def _delivery(row: DeliveryRow, digest_row: DigestRow) -> Delivery:
    assert row.id is not None
    return Delivery(
        id=row.id,
        alert=row.alert,
        channel=row.channel,
        target=row.target,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        digest=Digest.model_validate(json.loads(digest_row.payload)),
    )
