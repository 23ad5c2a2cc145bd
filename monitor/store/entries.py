"""Entries: stored items with their identity keys, matches and duplicate decisions,
the alert queue (pending items), and known (seed) articles.

:meth:`EntriesRepository.add_entries` stores a feed's new entries, their keys,
matches and alert queue rows in one transaction and a handful of statements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Session, col, select

from monitor.dedup.seedfeed import SEED_FEED_URL, SEED_SOURCE
from monitor.errors import StoreError
from monitor.store.base import StoreBase, as_utc, table_of
from monitor.store.binds import bind_processor, bound
from monitor.store.bounds import NO_TEXT
from monitor.store.dedup_index import DatabaseDedupIndex
from monitor.store.feeds import feed_id_at, insert_feed
from monitor.store.lists import chunked, placeholders
from monitor.store.models import (
    AlertItemRow,
    DedupKeyRow,
    EntryFeaturesRow,
    EntryRow,
    FeedRow,
    MatchRow,
)
from monitor.stories import story_leader
from monitor.types import (
    DuplicateOf,
    Entry,
    Match,
    NewEntry,
    Span,
    StoredEntry,
)

log = logging.getLogger(__name__)


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
    indexed: bool = True
    """Whether it is in the near-duplicate index (has key rows). An alertable entry that
    matched no watch is not, under ``dedup.index_unmatched: false``: it was compared with
    nothing, so "original" says nothing about it."""


class EntryReader(Protocol):
    """Reading stored entries (``monitor explain``, ``monitor status``)."""

    def entry_record(self, entry_id: int) -> EntryRecord: ...

    def find_entry_ids(self, *texts: str) -> list[int]: ...

    def has_entry(self, entry_id: int) -> bool: ...

    def entry_counts_since(self, since: datetime) -> dict[str, int]: ...


class PendingItems(Protocol):
    """The alert queue as a digest run reads it."""

    def pending_items(self, alert: str, limit: int | None = None) -> list[StoredEntry]: ...

    def count_pending(self, alert: str) -> int: ...


class EntriesRepository(StoreBase):
    """Entries with their identity keys and matches, the alert queue, known articles."""

    @contextmanager
    def dedup_index(self, scheme: str | None = None) -> Iterator[DatabaseDedupIndex]:
        """The near-duplicate index, read in one session (for a batch of lookups); with
        ``scheme`` (a scheme's tag), candidates come with their packed features where stored."""
        with self.session() as session:
            yield DatabaseDedupIndex(session, scheme)

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
            feed_id = insert_feed(session, self.backend, SEED_FEED_URL, SEED_SOURCE, active=False)
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
        # Key order: fewer pages. By the key alone, which sorts in half the time of the
        # pairs; the entries of one key need no order (the rows are distinct either way).
        rows = sorted({(key, entry_id) for entry_id, key in pairs}, key=itemgetter(0))
        if not rows:
            return
        session.connection().exec_driver_sql(
            f"INSERT INTO {DedupKeyRow.__tablename__} (key, entry_id) "
            f"VALUES ({placeholders(self.backend, 2)}) "
            "ON CONFLICT DO NOTHING",
            rows,
            execution_options={NO_TEXT: True},
        )

    def _insert_features(self, session: Session, rows: list[tuple[int, bytes]]) -> None:
        """Store entries' packed comparison features: ``(entry id, bytes)`` rows, straight to
        the driver in one executemany, as the key rows are."""
        if not rows:
            return
        session.connection().exec_driver_sql(
            f"INSERT INTO {EntryFeaturesRow.__tablename__} (entry_id, data) "
            f"VALUES ({placeholders(self.backend, 2)})",
            rows,
            execution_options={NO_TEXT: True},
        )

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` are already stored."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.session() as session:
            # Straight to the driver: asked once per changed feed, in the writer thread.
            connection = session.connection()
            for chunk in chunked(wanted):
                found.update(
                    key
                    for (key,) in connection.exec_driver_sql(
                        f"SELECT key FROM {EntryRow.__tablename__} "
                        f"WHERE key IN ({placeholders(self.backend, len(chunk))})",
                        tuple(chunk),
                    )
                )
        return found

    def texts_by_key(self, keys: Iterable[str]) -> dict[str, tuple[str, str, str]]:
        """``key -> (title, summary, content)``, outer spaces stripped, of the stored ``keys``."""
        wanted = list(dict.fromkeys(keys))
        entries = table_of(EntryRow)
        found: dict[str, tuple[str, str, str]] = {}
        with self.session() as session:
            for chunk in chunked(wanted):
                rows = session.execute(
                    sa.select(
                        entries.c.key, entries.c.title, entries.c.summary, entries.c.content
                    ).where(entries.c.key.in_(chunk))
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
        feed_id: int | None = None,
    ) -> dict[str, int]:
        """Store new entries with their matches, duplicate decisions and index keys, and
        queue the originals for alerts, atomically.

        ``feed_id``: the id of the feed at ``feed_url``, when the caller has just read it
        in the same transaction (:meth:`~monitor.store.feeds.FeedsRepository.record_poll`
        returns it); otherwise it is looked up.

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
            if feed_id is None:
                feed_id = feed_id_at(session, feed_url)
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
            self._insert_features(
                session,
                [(ids[item.key], item.comparison) for item in stored if item.comparison],
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
                session.execute(sa.insert(table_of(MatchRow)), matches)
            queued = [
                {"alert": alert, "entry_id": ids[item.key], "created_at": now}
                for item in stored
                if item.alertable and item.duplicate is None
                for alert in routes.get(item.key, ())
            ]
            if queued:
                session.execute(sa.insert(table_of(AlertItemRow)), queued)
        return {item.key: ids[item.key] for item in stored}

    def _stories(self, session: Session, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """``id -> (id, story id)`` for the stored entries among ``ids``."""
        if not ids:
            return {}
        rows = session.execute(
            sa.select(table_of(EntryRow).c.id, table_of(EntryRow).c.story_id).where(
                table_of(EntryRow).c.id.in_(sorted(set(ids)))
            )
        )
        return {int(i): (int(i), int(story or i)) for i, story in rows}

    def _insert_entries(self, session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert entry rows, skipping keys already stored; ``key -> id`` of those inserted.

        Straight to the driver, a few hundred rows per multi-row statement: a cold cycle
        stores tens of thousands of entries in the writer thread, where SQLAlchemy's
        per-parameter handling cost several times the inserts themselves. Values go
        through each column type's own bind processor (the dates' storage form is the
        ORM's), and text loses NUL bytes here, as :func:`strip_nul_bytes` does for the
        other statements.
        """
        if not rows:
            return {}
        dialect = session.get_bind().dialect
        columns = tuple(rows[0])
        processors = _entry_processors(dialect, columns)
        found: dict[str, int] = {}
        for chunk in chunked(rows, _ENTRY_ROWS_PER_STATEMENT):
            params: list[Any] = []
            for row in chunk:
                params += bound(map(row.__getitem__, columns), processors)
            result = session.connection().exec_driver_sql(
                _insert_entries_sql(self.backend, columns, len(chunk)),
                tuple(params),
                execution_options={NO_TEXT: True},
            )
            found.update((key, int(entry_id)) for entry_id, key in result)
        return found

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
                indexed=session.exec(
                    select(DedupKeyRow.key).where(DedupKeyRow.entry_id == entry_id).limit(1)
                ).first()
                is not None,
            )

    def find_entry_ids(self, *texts: str) -> list[int]:
        """Entries whose link, canonical link or guid is one of ``texts`` (for
        ``monitor explain URL``), by id."""
        found: set[int] = set()
        with self.session() as session:
            for chunk in chunked(texts):
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

    def stored_entries(self, ids: Sequence[int]) -> list[StoredEntry]:
        """Entries by id, with their matches, in the order of ``ids``."""
        with self.session() as session:
            return _load_stored(session, ids)

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
            return None if oldest is None else as_utc(oldest)


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


_ENTRY_ROWS_PER_STATEMENT = 200
"""Rows per INSERT: 200 rows of 21 columns stay far below SQLite's 32,766 parameters and
PostgreSQL's 65,535."""


@lru_cache(maxsize=8)
def _entry_processors(dialect: Dialect, columns: tuple[str, ...]) -> tuple[Any, ...]:
    """Each column's bind processor on ``dialect`` (None where values go as they are)."""
    table = table_of(EntryRow)
    return tuple(bind_processor(table.c[column].type, dialect) for column in columns)


@lru_cache(maxsize=64)
def _insert_entries_sql(backend: str, columns: tuple[str, ...], rows: int) -> str:
    values = f"({placeholders(backend, len(columns))})"
    return (
        f"INSERT INTO {EntryRow.__tablename__} ({', '.join(columns)}) "
        f"VALUES {', '.join([values] * rows)} ON CONFLICT (key) DO NOTHING RETURNING id, key"
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
    entries = table_of(EntryRow)
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
