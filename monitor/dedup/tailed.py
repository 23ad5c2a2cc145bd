"""The candidate lookup in memory, caught up with the store before each feed is judged.

The database layout keeps some forty ``(key, entry id)`` rows per entry, and a lookup asks
for candidates with up to three key queries: on a cold cycle (every entry new) those
queries were a third of the writer thread's time. :class:`TailedIndex` holds the same
postings in memory instead: read once from the store, then only the rows of entries
newer than its high-water mark (its own process's and every other replica's), so the
candidates are the ones the database would give (:meth:`candidates` ranks as
:class:`~monitor.dedup.index.MemoryIndex` and the database do). The candidates'
documents are still read from the store.

Ids are not committed in id order on PostgreSQL: a replica's transaction may take id 105
and commit after another's 106 is read. An id skipped between rows seen is a *gap*,
asked for again at each refresh until it shows up or ``gap_seconds`` have passed (a
transaction open that long has failed; ids left by rolled-back or conflicting inserts
never show up). An entry committed before a refresh is therefore held after it.

Entries pruned by retention stay in the postings until the next start; their documents
are gone, so a lookup leaves them out (:meth:`DedupIndex.documents` skips unknown ids).
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from monitor.dedup.index import DedupIndex, StoredDocument


class KeySource(Protocol):
    """What :class:`TailedIndex` reads from the store."""

    def keys_after(self, after: int, also: Sequence[int]) -> list[tuple[int, int]]:
        """``(entry id, key)`` of every stored key of the entries with ids above ``after``
        or among ``also``."""
        ...


class TailedIndex:
    """Postings ``key -> entry ids`` (ascending) of every stored entry, kept in memory."""

    def __init__(self, gap_seconds: float) -> None:
        self.gap_seconds = gap_seconds
        self._postings: dict[int, int | list[int]] = {}
        self._high = 0
        self._gaps: dict[int, float] = {}  # id not seen below the high-water mark -> since

    def __len__(self) -> int:
        return len(self._postings)

    def clear(self) -> None:
        """Forget everything (after a rolled-back write); the next refresh reads it all."""
        self._postings.clear()
        self._high = 0
        self._gaps.clear()

    def refresh(self, source: KeySource, now: float) -> None:
        """Read the keys of entries stored since the last refresh; ``now`` in seconds
        (monotonic), to expire gaps."""
        self._gaps = {i: t for i, t in self._gaps.items() if now - t < self.gap_seconds}
        rows = source.keys_after(self._high, sorted(self._gaps))
        seen: set[int] = set()
        for entry_id, key in rows:
            seen.add(entry_id)
            self._post(key, entry_id)
        for entry_id in seen:
            self._gaps.pop(entry_id, None)
        if seen:
            top = max(seen)
            if top > self._high:
                for missing in set(range(self._high + 1, top)) - seen:
                    self._gaps[missing] = now
                self._high = top

    def _post(self, key: int, entry_id: int) -> None:
        posting = self._postings.get(key)
        if posting is None:
            self._postings[key] = entry_id
        elif isinstance(posting, int):
            if posting != entry_id:
                self._postings[key] = sorted((posting, entry_id))
        else:
            where = bisect.bisect_left(posting, entry_id)
            if where == len(posting) or posting[where] != entry_id:
                posting.insert(where, entry_id)  # a gap filled late lands in id order

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        counts: Counter[int] = Counter()
        for key in dict.fromkeys(keys):
            posting = self._postings.get(key)
            if posting is None:
                continue
            if isinstance(posting, int):
                counts[posting] += 1
            else:
                counts.update(posting[-per_key:])  # ascending: the newest last
        # The top few of thousands of ids (a common word's posting): no full sort.
        return heapq.nlargest(limit, counts.items(), key=lambda item: (item[1], item[0]))

    def view(self, documents: DedupIndex) -> TailedView:
        """A :class:`DedupIndex`: candidates from memory, documents from ``documents``."""
        return TailedView(self, documents)


class TailedView:
    """Candidates from a :class:`TailedIndex`; documents read from the archive."""

    def __init__(self, index: TailedIndex, documents: DedupIndex) -> None:
        self._index = index
        self._documents = documents

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        return self._index.candidates(keys, limit, per_key)

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        return self._documents.documents(ids) if ids else []
