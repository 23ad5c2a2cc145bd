"""The in-memory postings (monitor.dedup.tailed): caught up with the store, gaps asked again."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.dedup.index import MemoryIndex, StoredDocument
from monitor.dedup.tailed import TailedIndex


class Rows:
    """A store's ``dedup_keys`` as committed so far."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int]] = []
        self.asked: list[tuple[int, tuple[int, ...]]] = []

    def keys_after(self, after: int, also: Sequence[int]) -> list[tuple[int, int]]:
        self.asked.append((after, tuple(also)))
        return [(i, k) for i, k in self.rows if i > after or i in also]


def test_candidates_rank_as_the_memory_index_does() -> None:
    rows = Rows()
    memory = MemoryIndex()
    postings = {1: [1, 2, 3], 2: [1, 2], 3: [1, 2], 4: [1], 5: [2, 3]}
    for entry_id, keys in postings.items():
        rows.rows += [(entry_id, key) for key in keys]
        memory.add(StoredDocument(entry_id, "", ""), keys)
    tailed = TailedIndex(gap_seconds=60)
    tailed.refresh(rows, now=0.0)
    for keys, limit, per_key in (([1, 2, 3], 10, 10), ([1, 2, 3], 2, 10), ([1], 10, 2)):
        assert tailed.candidates(keys, limit, per_key) == memory.candidates(keys, limit, per_key)


def test_a_late_commit_below_the_high_water_mark_is_still_read() -> None:
    rows = Rows()
    rows.rows = [(1, 10), (3, 30)]  # id 2 taken by a transaction not committed yet
    tailed = TailedIndex(gap_seconds=60)
    tailed.refresh(rows, now=0.0)
    assert tailed.candidates([20], 5, 5) == []
    rows.rows.append((2, 20))
    tailed.refresh(rows, now=1.0)
    assert rows.asked[-1] == (3, (2,))
    assert tailed.candidates([20], 5, 5) == [(2, 1)]
    tailed.refresh(rows, now=2.0)
    assert rows.asked[-1] == (3, ())  # found: no longer asked for


def test_a_gap_that_never_fills_is_dropped_after_gap_seconds() -> None:
    rows = Rows()
    rows.rows = [(1, 10), (4, 40)]
    tailed = TailedIndex(gap_seconds=60)
    tailed.refresh(rows, now=0.0)
    tailed.refresh(rows, now=59.0)
    assert rows.asked[-1] == (4, (2, 3))
    tailed.refresh(rows, now=61.0)
    assert rows.asked[-1] == (4, ())


def test_newest_ids_kept_per_key_when_a_gap_fills_out_of_order() -> None:
    rows = Rows()
    rows.rows = [(1, 7), (3, 7)]
    tailed = TailedIndex(gap_seconds=60)
    tailed.refresh(rows, now=0.0)
    rows.rows.append((2, 7))
    tailed.refresh(rows, now=1.0)
    assert tailed.candidates([7], 5, 2) == [(3, 1), (2, 1)]


def test_clear_reads_everything_again() -> None:
    rows = Rows()
    rows.rows = [(1, 10)]
    tailed = TailedIndex(gap_seconds=60)
    tailed.refresh(rows, now=0.0)
    tailed.clear()
    assert tailed.candidates([10], 5, 5) == []
    tailed.refresh(rows, now=1.0)
    assert rows.asked[-1] == (0, ())
    assert tailed.candidates([10], 5, 5) == [(1, 1)]
