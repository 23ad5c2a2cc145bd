"""Where the near-duplicate lookup keys live: rows, as today, or one signature column per entry.

    python bench/keylayout.py [--entries 55000] [--group 60] [--batch 10000] [--lookups 2000]

#14 asks whether one compact signature per entry (one column; the candidate index held in
memory, rebuilt from the column at start) beats the present layout, some forty to sixty
``dedup_keys`` rows per fingerprinted entry, and to measure it. This does, on SQLite as the
store opens it (the real migrations, pragmas and per-connection cache release of
:mod:`monitor.store.db`), with the real keys of real text: farm items as ``bench/poll.py``
deals them (Reuters-21578 stories from ``../shared/devsets/``, 30 to a feed, copies past the
last story), fingerprinted by :func:`monitor.dedup.features.fingerprints`.

For each layout, the same entries are written in group commits of ``--group`` entries (the
writer's groups on a cold cycle hold one to a few feeds), then read back and looked up:

- **rows** (today): each group inserts its entry rows as the store does (a multi-row
  INSERT ... RETURNING), then its key rows sorted by key in one executemany.
- **column**: each entry row carries its keys as one BLOB of signed 64-bit little-endian
  integers in a column added for the bench; no key rows.
- **deferred**: the column, and every ``--batch`` entries the key rows of those entries,
  read back from their signatures and inserted in one key-sorted batch (the rows layout
  filled late: lookups stay in the database, only the newest batch is not in it yet).

Printed per layout: CPU and wall time of the writes, bytes the process wrote (``wchar`` of
``/proc/self/io``: the WAL and the checkpoints), the database's size; the time and memory
(tracemalloc) to build the in-memory postings from the database, as
:class:`monitor.dedup.tailed.TailedIndex` (a dict of postings) and as two sorted numpy
arrays; the time of a candidate lookup, against the database (the default,
``dedup.memory_index: false``: one UNION of bounded range scans,
:class:`monitor.store.dedup_index.DatabaseDedupIndex`) and in memory. Every lookup's
candidates are checked to be the same in each structure, and the build reads the same
postings from either layout.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "testbed")]

ITEMS_PER_FEED = 30


@dataclass(frozen=True)
class Written:
    cpu: float
    wall: float
    wrote: int
    size: int
    rows: int


def wchar() -> int:
    """Bytes this process has written through write(2)/pwrite(2) so far."""
    with open("/proc/self/io", encoding="ascii") as io:
        for line in io:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise SystemExit("/proc/self/io has no wchar (Linux only)")


def entries(count: int) -> list[tuple[str, str, str, tuple[int, ...], str]]:
    """(identity key, title, summary, lookup keys, features JSON) of ``count`` farm items,
    keyed and fingerprinted as the pipeline does it (:func:`monitor.dedup.keys.entry_key`,
    :func:`monitor.dedup.features.fingerprint_entries`)."""
    from realnews import real_item

    from monitor.dedup.features import features_to_json, fingerprint_entries
    from monitor.dedup.keys import entry_key
    from monitor.types import Entry

    items = []
    for n in range(count):
        feed, item = divmod(n, ITEMS_PER_FEED)
        title, summary = real_item(feed, item, ITEMS_PER_FEED)
        link = f"http://farm.example/{feed}/item/{item}"
        items.append(
            Entry(f"http://farm.example/{feed}.xml", "farm", title, link, link, link, summary)
        )
    return [
        (
            entry_key(entry),
            entry.title,
            entry.summary,
            features.keys,
            json.dumps(features_to_json(features), separators=(",", ":")),
        )
        for entry, features in zip(items, fingerprint_entries(items), strict=True)
    ]


def open_store(path: Path) -> Any:
    from monitor.store.db import create_engine, upgrade

    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


ENTRY_COLUMNS = ("key", "feed_id", "title", "summary", "content", "first_seen_at", "alertable")


def write(
    layout: str, path: Path, items: Sequence[Any], group: int, batch: int
) -> tuple[Any, Written]:
    """Store ``items`` in ``layout``, ``group`` entries to a commit, as the writer would;
    ``deferred`` also moves the signatures into key rows every ``batch`` entries."""
    engine = open_store(path)
    signed = layout in ("column", "deferred")
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        raw.execute(
            "INSERT INTO feeds (url, name, active, consecutive_failures, created_at) "
            "VALUES ('http://farm.example/', 'farm', 1, 0, '2026-12-06 00:00:00.000000')"
        )
        if signed:
            raw.execute("ALTER TABLE entries ADD COLUMN signature BLOB")
    columns = (*ENTRY_COLUMNS, "fingerprint", *(("signature",) if signed else ()))
    row_marks = "(" + ", ".join("?" * len(columns)) + ")"
    now = "2026-12-06 12:00:00.000000"
    key_rows = indexed = 0  # key rows written; entries whose rows the deferred index holds
    indexed_through = newest = 0  # ids: the deferred index's high-water mark, the newest entry
    start_io, start_cpu, start = wchar(), time.process_time(), time.perf_counter()
    for first in range(0, len(items), group):
        chunk = items[first : first + group]
        with engine.begin() as connection:
            raw = connection.connection.driver_connection
            params: list[Any] = []
            for key, title, summary, keys, stored in chunk:
                params += [key, 1, title, summary, "", now, 1, stored]
                if signed:
                    params.append(np.asarray(keys, dtype="<i8").tobytes())
            sql = (
                f"INSERT INTO entries ({', '.join(columns)}) VALUES "
                + ", ".join([row_marks] * len(chunk))
                + " ON CONFLICT (key) DO NOTHING RETURNING id, key"
            )
            ids = {key: entry_id for entry_id, key in raw.execute(sql, params)}
            newest = max(ids.values(), default=newest)
            if layout == "rows":
                pairs = {(k, ids[item[0]]) for item in chunk for k in item[3]}
                key_rows += _insert_keys(raw, pairs)
        done = first + len(chunk)
        if layout == "deferred" and (done - indexed >= batch or done == len(items)):
            key_rows += _index_signatures(engine, indexed_through)
            indexed, indexed_through = done, newest
    cpu, wall, wrote = (
        time.process_time() - start_cpu,
        time.perf_counter() - start,
        wchar() - start_io,
    )
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return engine, Written(cpu, wall, wrote, path.stat().st_size, key_rows)


def _insert_keys(raw: Any, pairs: set[tuple[int, int]]) -> int:
    """``(key, entry id)`` rows in key order, in one executemany, as the store inserts them."""
    rows = sorted(pairs, key=lambda pair: pair[0])
    raw.executemany(
        "INSERT INTO dedup_keys (key, entry_id) VALUES (?, ?) ON CONFLICT DO NOTHING", rows
    )
    return len(rows)


def _index_signatures(engine: Any, after: int) -> int:
    """The key rows of the entries with ids above ``after``, read back from their signatures
    and inserted in one key-sorted batch: the deferred index's catching up."""
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        pairs = {
            (key, entry_id)
            for entry_id, blob in raw.execute(
                "SELECT id, signature FROM entries WHERE id > ?", (after,)
            )
            for key in np.frombuffer(blob, dtype="<i8").tolist()
        }
        return _insert_keys(raw, pairs)


class ColumnSource:
    """:class:`monitor.dedup.tailed.KeySource` over the signature column."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def keys_after(self, after: int, also: Sequence[int]) -> list[tuple[int, int]]:
        assert not also
        found: list[tuple[int, int]] = []
        with self.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT id, signature FROM entries WHERE id > ?", (after,)
            )
            for entry_id, blob in rows:
                found += [(entry_id, key) for key in np.frombuffer(blob, dtype="<i8").tolist()]
        return found


class RowSource:
    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def keys_after(self, after: int, also: Sequence[int]) -> list[tuple[int, int]]:
        from sqlmodel import Session

        from monitor.store.dedup_index import DatabaseDedupIndex

        with Session(self.engine) as session:
            return DatabaseDedupIndex(session).keys_after(after, also)


class SortedPostings:
    """The postings as two arrays sorted by (key, entry id): 16 bytes a posting."""

    def __init__(self, engine: Any) -> None:
        blobs, ids = [], []
        with engine.connect() as connection:
            for entry_id, blob in connection.exec_driver_sql("SELECT id, signature FROM entries"):
                blobs.append(blob)
                ids.append(entry_id)
        keys = [np.frombuffer(blob, dtype="<i8") for blob in blobs]
        counts = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
        all_keys = np.concatenate(keys) if keys else np.empty(0, dtype="<i8")
        all_ids = np.repeat(np.asarray(ids, dtype=np.int64), counts)
        order = np.lexsort((all_ids, all_keys))
        self.keys = all_keys[order]
        self.ids = all_ids[order]

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        wanted = np.asarray(list(dict.fromkeys(keys)), dtype="<i8")
        lows = np.searchsorted(self.keys, wanted, side="left")
        highs = np.searchsorted(self.keys, wanted, side="right")
        counts: Counter[int] = Counter()
        for low, high in zip(lows.tolist(), highs.tolist(), strict=True):
            if high > low:
                counts.update(self.ids[max(low, high - per_key) : high].tolist())
        return heapq.nlargest(limit, counts.items(), key=lambda item: (item[1], item[0]))


def measured(build: Callable[[], Any]) -> tuple[Any, float, int]:
    """What ``build`` makes, its wall time, and the memory it holds (tracemalloc, a second run)."""
    start = time.perf_counter()
    made = build()
    seconds = time.perf_counter() - start
    del made
    tracemalloc.start()
    made = build()
    gc.collect()  # what the build left behind for good, not its passing garbage
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return made, seconds, held


def per_lookup(
    candidates: Callable[..., Any], queries: Sequence[Sequence[int]], limit: int, per_key: int
) -> tuple[float, list[Any]]:
    start = time.perf_counter()
    found = [candidates(keys, limit, per_key) for keys in queries]
    return (time.perf_counter() - start) / len(queries), found


def measure(
    items: Sequence[Any], queries: Sequence[Sequence[int]], group: int, batch: int
) -> dict[str, Any]:
    """Write, build and look up in each layout; stops if two structures disagree."""
    from sqlmodel import Session

    from monitor.dedup.settings import DedupSettings
    from monitor.dedup.tailed import TailedIndex
    from monitor.store.dedup_index import DatabaseDedupIndex

    settings = DedupSettings()
    limit, per_key = settings.max_candidates, settings.max_postings_per_key
    results: dict[str, Any] = {}
    found: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory(prefix="keylayout-") as work:
        engine, written = write("deferred", Path(work) / "deferred.db", items, group, batch)
        results["written deferred"] = written
        with Session(engine) as session:
            database = DatabaseDedupIndex(session)
            _, found["deferred"] = per_lookup(database.candidates, queries, limit, per_key)
        engine.dispose()
        for layout in ("rows", "column"):
            engine, written = write(layout, Path(work) / f"{layout}.db", items, group, batch)
            source = RowSource(engine) if layout == "rows" else ColumnSource(engine)

            def tailed(source: Any = source) -> TailedIndex:
                index = TailedIndex(gap_seconds=60.0)
                index.refresh(source, time.monotonic())
                return index

            index, build_s, build_bytes = measured(tailed)
            lookup, found[f"{layout} dict"] = per_lookup(index.candidates, queries, limit, per_key)
            results[f"written {layout}"] = written
            results[f"dict (TailedIndex) from the {layout}"] = (build_s, build_bytes, lookup)
            if layout == "rows":
                with Session(engine) as session:
                    database = DatabaseDedupIndex(session)
                    lookup, found["database"] = per_lookup(
                        database.candidates, queries, limit, per_key
                    )
                results["database (rows, dedup.memory_index off)"] = (None, None, lookup)
            else:
                arrays, sorted_s, sorted_bytes = measured(lambda e=engine: SortedPostings(e))
                lookup, found["sorted"] = per_lookup(arrays.candidates, queries, limit, per_key)
                results["sorted arrays from the column"] = (sorted_s, sorted_bytes, lookup)
            engine.dispose()
    if results["written deferred"].rows != results["written rows"].rows:
        raise SystemExit("the deferred index holds other key rows than the rows layout")
    first = found["database"]
    for name, candidates in found.items():
        if candidates != first:
            raise SystemExit(f"{name} gives other candidates than the database")
    return results


LAYOUTS = ("rows", "column", "deferred")


def report(results: dict[str, Any], entries_count: int, lookups: int) -> None:
    mb = 1e6
    print(
        f"\n{'layout':8} {'write CPU':>10} {'wall':>7} {'wrote':>9} {'database':>9} {'key rows':>10}"
    )
    for layout in LAYOUTS:
        w = results[f"written {layout}"]
        print(
            f"{layout:8} {w.cpu:9.2f}s {w.wall:6.2f}s {w.wrote / mb:7.0f}MB {w.size / mb:7.1f}MB "
            f"{w.rows:10,}"
        )
    for layout in LAYOUTS:
        w = results[f"written {layout}"]
        print(
            f"per entry, {layout}: {1e6 * w.cpu / entries_count:.0f} µs CPU, "
            f"{w.wrote / entries_count / 1e3:.1f} KB written"
        )
    print(f"\n{'candidates from':40} {'build':>8} {'held':>9} {'lookup':>9}")
    for name in (
        "dict (TailedIndex) from the rows",
        "dict (TailedIndex) from the column",
        "sorted arrays from the column",
        "database (rows, dedup.memory_index off)",
    ):
        seconds, held, lookup = results[name]
        built = "" if seconds is None else f"{seconds:7.2f}s"
        kept = "" if held is None else f"{held / mb:7.0f}MB"
        print(f"{name:40} {built:>8} {kept:>9} {1e6 * lookup:7.0f}µs")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nsame candidates from each of them for {lookups:,} lookups; peak RSS {peak:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=55_000, help="fingerprinted entries")
    parser.add_argument("--group", type=int, default=60, help="entries per commit")
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument(
        "--batch", type=int, default=10_000, help="entries a deferred index batch takes"
    )
    args = parser.parse_args(argv)
    for name in ("entries", "group", "batch", "lookups"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    start = time.perf_counter()
    items = entries(args.entries)
    keys_per_entry = sum(len(item[3]) for item in items) / len(items)
    print(
        f"{len(items):,} farm entries fingerprinted in {time.perf_counter() - start:.1f} s, "
        f"{keys_per_entry:.1f} lookup keys an entry; commits of {args.group} entries, "
        f"deferred index batches of {args.batch}"
    )
    rng = np.random.default_rng(14)
    picked = rng.choice(len(items), size=min(args.lookups, len(items)), replace=False)
    queries = [items[i][3] for i in picked.tolist()]
    report(measure(items, queries, args.group, args.batch), len(items), len(queries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
