"""One lookup over two indexes: the stored archive and this batch's new entries.

Entries of one feed document are stored in one transaction at the end, so
while they are judged, the earlier ones of the batch are not in the database
yet. They go into a :class:`~monitor.dedup.index.MemoryIndex` under negative
ids (``-(i + 1)`` for the i-th), and this index answers for both.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.dedup.index import DedupIndex, StoredDocument, WritableDedupIndex


class LayeredIndex:
    def __init__(self, archive: DedupIndex, batch: WritableDedupIndex) -> None:
        self.archive = archive
        self.batch = batch

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        found = self.batch.candidates(keys, limit, per_key) + self.archive.candidates(
            keys, limit, per_key
        )
        # Most shared first; among equals the batch's own (the newest) first.
        found.sort(key=lambda item: (-item[1], item[0] >= 0, -abs(item[0])))
        return found[:limit]

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        return self.batch.documents([i for i in ids if i < 0]) + self.archive.documents(
            [i for i in ids if i >= 0]
        )

    def add(self, document: StoredDocument, keys: Sequence[int]) -> None:
        self.batch.add(document, keys)
