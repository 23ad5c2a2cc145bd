"""The near-duplicate index in the database: :class:`monitor.dedup.index.DedupIndex`.

``dedup_keys`` holds (key, entry id) pairs. A lookup reads, for each of its
keys, at most ``per_key`` postings, newest entry first, and counts how many
keys each entry shares: one bounded index range scan per key, whatever the
size of the archive, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlmodel import Session

from monitor.dedup.seedfeed import SEED_FEED_URL
from monitor.store.lists import chunked
from monitor.store.models import AlertItemRow, DedupKeyRow, EntryFeaturesRow, EntryRow, FeedRow

if TYPE_CHECKING:
    from monitor.dedup.index import StoredDocument

MAX_KEYS_PER_QUERY = 200  # bound on the UNION's size; an article has about 40 keys


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


@lru_cache(maxsize=MAX_KEYS_PER_QUERY)
def _candidates_query(size: int) -> sa.TextClause:
    """The lookup for ``size`` keys (built once per size: parsing the text is not free)."""
    parts = [
        f"SELECT * FROM (SELECT entry_id AS doc_id FROM dedup_keys WHERE key = :k{i} "
        f"ORDER BY entry_id DESC LIMIT :per_key) AS p{i}"
        for i in range(size)
    ]
    return sa.text(
        "SELECT doc_id, COUNT(*) AS shared FROM ("
        + " UNION ALL ".join(parts)
        + ") AS postings GROUP BY doc_id ORDER BY shared DESC, doc_id DESC LIMIT :limit"
    )


class DatabaseDedupIndex:
    """Candidates and documents for the duplicate lookup, read through one session."""

    def __init__(self, session: Session, scheme: str | None = None) -> None:
        self.session = session
        self.scheme = scheme
        """The tag of the fingerprint scheme the lookups use: an entry's packed features
        (``entry_features``) of this scheme are read instead of its text. None: every
        candidate comes with its text only."""

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        distinct = list(dict.fromkeys(keys))[:MAX_KEYS_PER_QUERY]
        if not distinct:
            return []
        query = _candidates_query(len(distinct))
        params: dict[str, int] = {f"k{i}": key for i, key in enumerate(distinct)}
        params.update(per_key=per_key, limit=limit)
        return [(int(doc), int(shared)) for doc, shared in self.session.execute(query, params)]

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        if not ids:
            return []
        # Here, not at the top: the fingerprinting modules load numpy, which a poll of
        # unchanged feeds (and every command that only reads the store) never needs.
        from monitor.dedup.features import features_from_json
        from monitor.dedup.index import StoredDocument
        from monitor.dedup.packed import unpack

        entries, feeds, packed_rows = _table(EntryRow), _table(FeedRow), _table(EntryFeaturesRow)
        # The columns a document needs, not mapped row objects, which cost a fifth more
        # (12 candidates of 300 words from 20,000 on SQLite, unpacking included: 0.85 ms
        # against 1.06 ms).
        rows = self.session.execute(
            sa.select(
                entries.c.id,
                entries.c.title,
                entries.c.summary,
                entries.c.content,
                entries.c.link,
                entries.c.guid,
                entries.c.published_at,
                entries.c.first_seen_at,
                entries.c.fingerprint,
                feeds.c.url,
                packed_rows.c.data,
            )
            .join(feeds, feeds.c.id == entries.c.feed_id)
            .outerjoin(packed_rows, packed_rows.c.entry_id == entries.c.id)
            .where(entries.c.id.in_(ids))
        )
        documents = []
        scheme = self.scheme
        for row in rows:
            (doc_id, title, summary, content, link, guid) = row[:6]
            (published_at, first_seen, fingerprint, feed_url, packed) = row[6:]
            features = None
            kept: bytes | None = None  # the packed bytes the features came from
            published = published_at or first_seen
            if fingerprint:
                features = features_from_json(json.loads(fingerprint), doc_id=doc_id)
            elif packed is not None and scheme is not None:
                # Bytes that do not unpack (another scheme, damaged) leave the text to do it.
                features = unpack(packed, scheme, doc_id, title, published)
                kept = packed if features is not None else None
            text = content if summary and summary in content else None
            body = text or "\n".join(part for part in (summary, content) if part)
            documents.append(
                StoredDocument(
                    doc_id=doc_id,
                    title=title,
                    text=body,
                    link=link,
                    guid=guid,
                    feed_url=feed_url,
                    published=published,
                    features=features,
                    packed=kept,
                )
            )
        return documents

    # --- the stories waiting for a digest (monitor.dedup.pending.PendingSource) --------------

    def pending_roots(self) -> set[int]:
        queue = _table(AlertItemRow)
        rows = self.session.execute(
            sa.select(queue.c.entry_id).where(queue.c.digest_id.is_(None)).distinct()
        )
        return {int(entry_id) for (entry_id,) in rows}

    def known_articles(self) -> set[int]:
        entries, feeds = _table(EntryRow), _table(FeedRow)
        rows = self.session.execute(
            sa.select(entries.c.id)
            .join(feeds, feeds.c.id == entries.c.feed_id)
            .where(feeds.c.url == SEED_FEED_URL)
        )
        return {int(entry_id) for (entry_id,) in rows}

    def story_members(self, roots: Iterable[int], after: int) -> list[tuple[int, int]]:
        entries = _table(EntryRow)
        wanted = sorted(roots)
        found: list[tuple[int, int]] = []
        for chunk in chunked(wanted):
            rows = self.session.execute(
                sa.select(entries.c.id, entries.c.story_id).where(
                    entries.c.story_id.in_(chunk), entries.c.id > after
                )
            )
            found += [(int(entry_id), int(root)) for entry_id, root in rows]
        return found

    def keys_of(self, ids: Sequence[int]) -> dict[int, list[int]]:
        table = _table(DedupKeyRow)
        found: dict[int, list[int]] = {}
        for chunk in chunked(ids):
            rows = self.session.execute(
                sa.select(table.c.entry_id, table.c.key).where(table.c.entry_id.in_(chunk))
            )
            for entry_id, key in rows:
                found.setdefault(int(entry_id), []).append(int(key))
        return found

    def last_entry_id(self) -> int:
        entries = _table(EntryRow)
        return int(self.session.execute(sa.select(sa.func.max(entries.c.id))).scalar() or 0)

    # --- the postings held in memory (monitor.dedup.tailed.KeySource) -----------------------

    def keys_after(self, after: int, also: Sequence[int]) -> list[tuple[int, int]]:
        table = _table(DedupKeyRow)
        # By the entry id index: a range for the new entries, a list for the gaps.
        rows = list(
            self.session.execute(
                sa.select(table.c.entry_id, table.c.key).where(table.c.entry_id > after)
            )
        )
        for chunk in chunked(also):
            rows += self.session.execute(
                sa.select(table.c.entry_id, table.c.key).where(table.c.entry_id.in_(chunk))
            )
        return [(int(entry_id), int(key)) for entry_id, key in rows]
