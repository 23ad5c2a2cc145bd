"""Recording a poll (``FeedsRepository.record_poll``): a success clears the feed's failure
notices, and costs no DELETE when there are none; unchanged feeds recorded together end as
recorded one by one; the record hands back the feed's id for its entries (both backends)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.config import load_config
from monitor.errors import StoreError
from monitor.store.feeds import PollRecord
from monitor.store.store import Store
from monitor.types import Entry, NewEntry
from tests.conftest import FROZEN_NOW


def test_a_success_clears_notices_and_costs_no_delete_without_them(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    quiet, noticed = "https://a.example/feed.xml", "https://b.example/feed.xml"
    store = Store.open(load_config(write_config(db_url, [quiet, noticed])).database)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lstrip().upper())

    try:
        store.sync_feeds([(quiet, "A", timedelta(minutes=15)), (noticed, "B", timedelta(hours=1))])
        later = FROZEN_NOW + timedelta(hours=1)
        for url in (quiet, noticed):
            store.record_poll(url, PollRecord(FROZEN_NOW, later, "HTTP 500"))
            store.record_poll(url, PollRecord(FROZEN_NOW, later, "HTTP 500"))
        store.mark_noticed("desk", [noticed], FROZEN_NOW)
        assert [n.url for n in store.feeds_needing_attention("desk", 2)] == [quiet]

        sa.event.listen(store.engine, "before_cursor_execute", seen)
        store.record_poll(quiet, PollRecord(later, later + timedelta(minutes=15)))
        assert not [s for s in statements if s.startswith("DELETE")]
        store.record_poll(noticed, PollRecord(later, later + timedelta(hours=1)))
        assert [s for s in statements if s.startswith("DELETE FROM FEED_NOTICES")]
        sa.event.remove(store.engine, "before_cursor_execute", seen)

        # Both recovered; a new streak of the noticed feed is news again.
        for url in (quiet, noticed):
            assert store.feed_state(url).consecutive_failures == 0
            store.record_poll(url, PollRecord(later, later, "HTTP 500"))
            store.record_poll(url, PollRecord(later, later, "HTTP 500"))
        assert [n.url for n in store.feeds_needing_attention("desk", 2)] == [quiet, noticed]
    finally:
        store.close()


def test_unchanged_feeds_recorded_together_end_as_recorded_one_by_one(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    """``record_unchanged`` (one statement for many 304s) leaves every feed as
    ``record_poll`` leaves its twin: due time, validators, failures cleared, notices
    cleared, lease released, an ETag too long for its column left out and said so; a feed
    not in the database is named and nothing is stored for it."""
    kinds = ("fresh", "failing", "noticed", "long_etag")
    one = [f"https://one.example/{kind}.xml" for kind in kinds]
    many = [f"https://many.example/{kind}.xml" for kind in kinds]
    store = Store.open(load_config(write_config(db_url, one + many)).database)
    later = FROZEN_NOW + timedelta(hours=1)
    due = later + timedelta(minutes=30)
    try:
        store.sync_feeds([(url, url, timedelta(minutes=30)) for url in one + many])
        for url in (*one[1:3], *many[1:3]):
            for _ in range(3):
                store.record_poll(url, PollRecord(FROZEN_NOW, FROZEN_NOW, "HTTP 500"))
        store.mark_noticed("desk", [one[2], many[2]], FROZEN_NOW)
        leased = store.claim_due_feeds("replica-1", later, later + timedelta(minutes=5), 100)
        assert len(leased) == len(one + many)

        def record(url: str) -> PollRecord:
            etag = "x" * 5000 if url.endswith("long_etag.xml") else f'"{url.rsplit("/", 1)[1]}"'
            return PollRecord(later, due, None, etag, "Sat, 21 Nov 2026 08:00:00 GMT")

        for url in one:
            store.record_poll(url, record(url), "replica-1")
        missing = store.record_unchanged(
            [(url, record(url)) for url in [*many, "https://gone.example/feed.xml"]], "replica-1"
        )
        assert missing == ["https://gone.example/feed.xml"]

        def state(url: str) -> tuple[object, ...]:
            s = store.feed_state(url)
            return (
                s.last_polled_at, s.next_poll_at, s.last_success_at, s.first_polled_at, s.etag,
                s.last_modified, s.consecutive_failures, s.last_error, s.lease_owner, s.last_note,
            )  # fmt: skip

        for a, b in zip(one, many, strict=True):
            assert state(a) == state(b), (a, b)
        assert store.feed_state(many[0]).next_poll_at == due
        assert store.feed_state(many[0]).lease_owner is None
        assert store.feed_state(many[1]).consecutive_failures == 0
        long_etag = store.feed_state(many[3])
        assert long_etag.etag is None
        assert "ETag of 5,000 characters not kept" in (long_etag.last_note or "")
        # The noticed feeds recovered: a new failure streak is news again, for both.
        for url in (one[2], many[2]):
            for _ in range(3):
                store.record_poll(url, PollRecord(later, later, "HTTP 500"))
        needing = {n.url for n in store.feeds_needing_attention("desk", 3)}
        assert {one[2], many[2]} <= needing
    finally:
        store.close()


def test_record_poll_hands_back_the_feed_id_its_entries_are_stored_under(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    """A changed feed's job records its poll first and stores its entries under the id that
    record returned (no second lookup of the feed); the rows are those of the lookup's way,
    and a feed that is not in the database is named, not stored."""
    first, second = "https://a.example/feed.xml", "https://b.example/feed.xml"
    store = Store.open(load_config(write_config(db_url, [first, second])).database)
    later = FROZEN_NOW + timedelta(hours=1)

    def new(url: str, n: int) -> NewEntry:
        entry = Entry(url, "A", f"Item {n}", f"{url}#{n}", f"{url}#{n}", None, "Text.", "",
                      FROZEN_NOW - timedelta(minutes=n))  # fmt: skip
        return NewEntry(f"{n:064x}", entry, True)

    try:
        store.sync_feeds([(first, "A", timedelta(minutes=15)), (second, "B", timedelta(hours=1))])
        ids = {url: store.feed_state(url).id for url in (first, second)}
        assert store.record_poll(second, PollRecord(FROZEN_NOW, later)) == ids[second]
        with store.transaction():
            feed_id = store.record_poll(first, PollRecord(FROZEN_NOW, later))
            given = store.add_entries(first, [new(first, 1)], {}, FROZEN_NOW, feed_id)
        looked_up = store.add_entries(second, [new(second, 2)], {}, FROZEN_NOW)
        assert feed_id == ids[first]
        entries = sa.table("entries", sa.column("id"), sa.column("feed_id"))
        with store.engine.connect() as connection:
            rows = dict(connection.execute(sa.select(entries.c.id, entries.c.feed_id)).all())
        assert rows == {given[f"{1:064x}"]: ids[first], looked_up[f"{2:064x}"]: ids[second]}
        with pytest.raises(StoreError, match=r"https://gone\.example/feed\.xml"):
            store.record_poll("https://gone.example/feed.xml", PollRecord(FROZEN_NOW, later))
    finally:
        store.close()


def test_the_states_read_for_a_cycle_are_the_states_read_one_by_one(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    """``feed_states_for`` (the driver's rows, each value through its column type) gives
    every feed the very state ``feed_state`` (the model's object) gives it: never polled,
    failing, moved, gone, leased, parsed with a note, a validator outside ASCII."""
    kinds = ("new", "failing", "moved", "gone", "leased", "parsed")
    urls = [f"https://states.example/{kind}.xml" for kind in kinds]
    store = Store.open(load_config(write_config(db_url, urls)).database)
    later = FROZEN_NOW + timedelta(hours=1, microseconds=250)
    try:
        store.sync_feeds([(url, url.upper(), timedelta(minutes=30)) for url in urls])
        store.record_poll(urls[1], PollRecord(FROZEN_NOW, later, "HTTP 500"))
        store.record_poll(
            urls[2], PollRecord(FROZEN_NOW, later, None, '"v1"', moved_to=urls[2] + "?moved")
        )
        store.record_poll(urls[3], PollRecord(FROZEN_NOW, later, "HTTP 410 Gone", gone=True))
        store.claim_due_feeds("replica-1", later, later + timedelta(minutes=5), 1)
        store.record_poll(
            urls[5],
            PollRecord(
                FROZEN_NOW,
                later,
                None,
                '"caf\xc3\xa9"',
                "Sat, 21 Nov 2026 08:00:00 GMT",
                body_hash="sha256:" + "0" * 64,
                note="2 items cut",
            ),
        )
        together = store.feed_states_for([*urls, "https://states.example/unknown.xml"])
        assert together == {url: store.feed_state(url) for url in urls}
        assert together[urls[5]].last_polled_at == FROZEN_NOW
        assert together[urls[5]].next_poll_at == later
        assert together[urls[3]].disabled_at is not None
        assert [s.lease_owner for s in together.values()].count("replica-1") == 1
    finally:
        store.close()
