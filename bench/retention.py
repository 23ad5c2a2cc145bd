"""Database size over a simulated year, without and with retention:
``python bench/retention.py [--per-day 100] [--days 365] [--pg]``.

A frozen clock walks ``--days`` days. Each day ``--per-day`` entries arrive
from 30 feeds (the feed farm's synthetic news text, ``testbed/newstext.py``;
about a third name the USMCA and match a watch), each fingerprinted by the
real dedup code (a pool of 2,000 fingerprints, reused: see ``story_keys``) and
stored with its index keys and matches through
:meth:`Store.add_entries`, the daemon's own write. At the end of each day the
alert's digest of that day's matches is built, queued on one webhook target
and marked sent (the relay's write, without the HTTP). With retention, the
day ends with the daemon's prune (:func:`monitor.store.retention.prune`,
default ages: 180 days) at that day's time.

Not simulated: fetching and parsing (they add no rows) and duplicate
decisions (a copy adds the same rows as an original). The figures scale
linearly with entries per day; the printed extrapolation says so.

Sizes: SQLite, the file and the pages in use (deleted rows leave free pages
that later inserts reuse, so a file does not shrink; ``VACUUM`` would).
PostgreSQL (``--pg``, a fresh schema at ``MONITOR_TEST_PG_URL``): the tables
with their indexes and TOAST; a plain ``VACUUM`` runs every simulated week,
as autovacuum would, so freed space is reused.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.dedup.features import fingerprint_entry
from monitor.digest.build import build_digest
from monitor.store.retention import Cutoffs, prune
from monitor.store.store import Store
from monitor.types import Entry, Match, NewEntry, Span
from testbed.newstext import item_story

FEEDS = 30
START = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
ENTRIES_AGE = DIGESTS_AGE = timedelta(days=180)
NAMES = ("USMCA", "T-MEC", "CUSMA")
KEY_POOL = 2000


_KEYS: dict[int, tuple[int, ...]] = {}


def story_keys(feed: int, item: int, entry: Entry) -> tuple[int, ...]:
    """Real index keys of a real fingerprint. Fingerprinting is the slow part and adds no
    rows of its own, so ``KEY_POOL`` fingerprints are made and reused round-robin: each
    entry still stores its own (key, entry) rows, as many as a fingerprint has."""
    slot = (feed * 7919 + item) % KEY_POOL
    if slot not in _KEYS:
        _KEYS[slot] = tuple(fingerprint_entry(entry).keys)
    return _KEYS[slot]


def day_items(day: int, per_day: int) -> dict[str, list[NewEntry]]:
    """Feed URL -> that day's new entries."""
    by_feed: dict[str, list[NewEntry]] = {}
    now = START + timedelta(days=day)
    for n in range(per_day):
        feed = n % FEEDS
        url = f"http://farm.test/feed{feed}.xml"
        story = item_story(feed, day * per_day + n)
        link = f"https://farm.test/{feed}/{day}/{n}"
        entry = Entry(
            feed_url=url,
            feed_name=f"Farm {feed}",
            title=story.headline,
            link=link,
            canonical_link=link,
            guid=link,
            summary=story.summary,
            published=now - timedelta(minutes=n),
            language="en",
        )
        name = next((name for name in NAMES if name in story.headline + story.summary), None)
        matches = ()
        if name is not None:
            start = (story.headline + " " + story.summary).find(name)
            span = Span("title" if start < len(story.headline) else "summary", 0, len(name), name)
            matches = (Match("usmca", 1.0, (span,)),)
        keys = story_keys(feed, day * per_day + n, entry)
        by_feed.setdefault(url, []).append(
            NewEntry(f"k{day}-{n}", entry, True, matches, None, keys)
        )
    return by_feed


def end_of_day(store: Store, now: datetime) -> None:
    pending = store.pending_items("desk")
    if not pending:
        return
    digest = build_digest(f"{now:%Y%m%d}", "desk", ["usmca"], pending, now, max_items=50)
    store.create_digest(digest, [p.id for p in pending], [("webhook", "https://hook.test/")], now)
    for delivery in store.claim_deliveries("bench", now, now + timedelta(minutes=5), limit=100):
        store.mark_sent(delivery.id, now, lease=delivery.lease)


def sqlite_size(store: Store) -> tuple[int, int]:
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        free = connection.exec_driver_sql("PRAGMA freelist_count").scalar_one()
        size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
    return int(pages * size), int((pages - free) * size)


def pg_size(store: Store) -> tuple[int, int]:
    query = sa.text(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
    )
    with store.engine.connect() as connection:
        total = int(connection.execute(query).scalar_one())
    return total, total


def vacuum(store: Store) -> None:
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM")


@contextmanager
def database(pg: bool) -> Iterator[str]:
    if pg:
        from testbed.pgschema import fresh_schema

        with fresh_schema("bench_ret") as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/retention.db"


def simulate(
    url: str,
    days: int,
    items: Callable[[int], dict[str, list[NewEntry]]],
    retention: bool,
    pg: bool,
) -> tuple[int, int, int, dict[str, int]]:
    """Run the year; (size, size in use, entries left, rows pruned per table)."""
    store = Store.open(url)
    pruned: dict[str, int] = {}
    try:
        store.sync_feeds(
            (f"http://farm.test/feed{f}.xml", f"Farm {f}", timedelta(hours=1)) for f in range(FEEDS)
        )
        for day in range(days):
            now = START + timedelta(days=day)
            with store.transaction():  # the writer's group commit, a day at a time
                for feed, entries in items(day).items():
                    routes = {e.key: ["desk"] for e in entries if e.matches}
                    store.add_entries(feed, entries, routes, now)
            end_of_day(store, now)
            if retention:
                deleted = prune(store, Cutoffs(now - ENTRIES_AGE, now - DIGESTS_AGE), 500)
                for table, n in deleted.items():
                    pruned[table] = pruned.get(table, 0) + n
            if pg and day % 7 == 6:
                vacuum(store)
        if pg:
            vacuum(store)
        size, used = pg_size(store) if pg else sqlite_size(store)
        return size, used, store.entry_count(), pruned
    finally:
        store.close()


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-day", type=int, default=100, help="entries per simulated day")
    parser.add_argument("--days", type=int, default=365, help="simulated days")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()

    started = time.monotonic()
    cache: dict[int, dict[str, list[NewEntry]]] = {}

    def items(day: int) -> dict[str, list[NewEntry]]:
        if day not in cache:  # fingerprinted once, stored twice
            cache[day] = day_items(day, args.per_day)
        return cache[day]

    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"{backend}: {args.per_day} entries/day for {args.days} simulated days")
    results = {}
    for retention in (False, True):
        with database(args.pg) as url:
            results[retention] = simulate(url, args.days, items, retention, args.pg)
        size, used, left, pruned = results[retention]
        label = "with retention (180 d)" if retention else "without retention"
        print(
            f"  {label:24} {mb(size):>10} on disk, {mb(used):>10} in use, "
            f"{left:,} entries kept, {used / max(left, 1):,.0f} B per kept entry"
        )
        if pruned:
            print("    pruned: " + ", ".join(f"{n:,} {t}" for t, n in pruned.items()))
    total = args.per_day * args.days
    plain, kept = results[False][1], results[True][1]
    scale = 3000 / args.per_day
    print(
        f"  {total:,} entries in all; at 3,000 entries/day (x{scale:g}, sizes scale linearly): "
        f"{mb(plain * scale)} after a year and growing without retention, "
        f"about {mb(kept * scale)} and flat with it"
    )
    print(f"  ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
