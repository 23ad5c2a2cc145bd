"""Every size bounded: items per feed, field lengths, future dates, column limits.

Each test runs the real path (a loopback feed server, the pipeline, SQLite and
PostgreSQL): on PostgreSQL a value longer than its column, or a NUL byte, used
to roll back a feed's whole poll record, silently and at every poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from monitor.config import MAX_FEED_NAME_CHARS, MAX_URL_CHARS
from monitor.errors import StoreError
from monitor.pipeline import Pipeline
from monitor.store.models import DeliveryRow, FeedRow
from testbed.servers import HttpServer, Request, Route
from tests.conftest import FROZEN_NOW
from tests.support.cli import monitor
from tests.support.feeds import Item, rss


def items(count: int, start: datetime = FROZEN_NOW) -> list[Item]:
    """``count`` items, the first the newest, one minute apart."""
    return [
        Item(
            f"USMCA item {i}", f"https://n.example/{i}", "x", start - timedelta(minutes=i), f"g{i}"
        )
        for i in range(count)
    ]


def stored_titles(pipeline: Pipeline) -> list[str]:
    return [e.entry.title for e in pipeline.store.iter_entries(FROZEN_NOW - timedelta(days=365))]


def test_a_huge_feed_keeps_its_newest_items_and_says_so(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    listed = items(1200)
    listed[7] = Item("USMCA " + "long " * 400, "https://n.example/7", "y" * 5000, FROZEN_NOW, "g7")
    # Shuffled: the newest are kept, wherever they stand in the document.
    url = http_server.add("/huge.xml", Route(body=rss(listed[600:] + listed[:600])))
    config = write_config(
        db_url,
        [url],
        fetch={"max_items_per_feed": 100, "max_title_chars": 60, "max_summary_chars": 1000},
    )
    pipeline = open_pipeline(config)
    (outcome,) = asyncio.run(pipeline.poll()).feeds
    assert outcome.status == "updated"
    assert outcome.new == 100
    assert outcome.note is not None
    assert "kept the newest 100 of 1,200 items (fetch.max_items_per_feed 100)" in outcome.note
    assert "1 title clipped to 60 characters" in outcome.note
    assert "1 summary clipped to 1,000 characters" in outcome.note
    titles = stored_titles(pipeline)
    assert {f"USMCA item {i}" for i in range(100) if i != 7} <= set(titles)
    (long_title,) = [t for t in titles if t.startswith("USMCA long")]
    assert len(long_title) <= 60
    assert long_title.endswith("…")
    assert pipeline.store.feed_state(url).last_note == outcome.note
    pipeline.close()
    status = monitor(config, "status")
    assert status.returncode == 0, status.stderr
    assert "note:" in status.stdout
    # The whole note reads in one piece (wrapped at words), not chopped up in a column.
    assert " ".join(outcome.note.split()) in " ".join(status.stdout.split())


def test_a_far_future_date_becomes_the_time_first_seen(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    future = datetime(9999, 12, 31, tzinfo=UTC)
    old = FROZEN_NOW - timedelta(days=30)
    body = rss(
        [
            Item("USMCA from the future", "https://n.example/f", "x", future, "f"),
            Item(
                "USMCA slightly ahead",
                "https://n.example/s",
                "x",
                FROZEN_NOW + timedelta(minutes=30),
                "s",
            ),
            Item("USMCA old news", "https://n.example/o", "x", old, "o"),
        ]
    )
    url = http_server.add("/future.xml", Route(body=body))
    pipeline = open_pipeline(write_config(db_url, [url]))
    asyncio.run(pipeline.poll())
    published = {
        e.entry.title: e.entry.published
        for e in pipeline.store.iter_entries(FROZEN_NOW - timedelta(days=365))
    }
    assert published["USMCA from the future"] == FROZEN_NOW
    assert published["USMCA slightly ahead"] == FROZEN_NOW + timedelta(minutes=30)  # allowed skew
    # The first poll's backfill rule holds it back like any other old item: only the two
    # current ones wait for the digest.
    pending = {stored.entry.title for stored in pipeline.store.pending_items("desk")}
    assert pending == {"USMCA from the future", "USMCA slightly ahead"}


def test_oversized_headers_a_long_redirect_and_nul_bytes_do_not_stop_a_feed(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    body = rss(
        [
            Item(
                "USMCA nul\x00title",
                "https://n.example/\x00x",
                "sum\x00mary",
                FROZEN_NOW,
                "g\x00uid",
            )
        ]
    )
    target = "/served.xml?" + "q" * 3000

    def served(request: Request) -> tuple[int, dict[str, str], bytes]:
        return 200, {"ETag": '"' + "e" * 2000 + '"', "Last-Modified": "M" * 300}, body

    def moved(request: Request) -> tuple[int, dict[str, str], bytes]:
        return 301, {"Location": http_server.url(target)}, b""

    http_server.add(target, Route(responder=served))
    url = http_server.add("/moved.xml", Route(responder=moved))
    pipeline = open_pipeline(write_config(db_url, [url]))
    (outcome,) = asyncio.run(pipeline.poll()).feeds
    assert outcome.status == "updated", outcome.error
    assert outcome.new == 1
    state = pipeline.store.feed_state(url)
    assert state.last_error is None
    assert state.next_poll_at is not None
    assert state.etag is None
    assert state.last_modified is None
    assert state.fetch_url is None  # still polled at the configured address
    assert state.last_note is not None
    assert "ETag of 2,002 characters not kept (at most 1,024)" in state.last_note
    assert "Last-Modified of 300 characters not kept (at most 200)" in state.last_note
    assert "permanent redirect target of" in state.last_note
    stored_entries = list(pipeline.store.iter_entries(FROZEN_NOW - timedelta(days=1)))
    (stored,) = stored_entries
    entry = stored.entry
    assert "\x00" not in entry.title + entry.summary + (entry.link or "") + (entry.guid or "")


def test_a_poll_that_cannot_be_stored_is_still_recorded_with_its_error(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = http_server.add("/f.xml", Route(body=rss(items(3))))
    pipeline = open_pipeline(write_config(db_url, [url]))

    def refuse(*args: object, **kwargs: object) -> dict[str, int]:
        raise StoreError("database error on the test database: value too long")

    monkeypatch.setattr(pipeline.store, "add_entries", refuse)
    (outcome,) = asyncio.run(pipeline.poll()).feeds
    assert outcome.status == "error"
    state = pipeline.store.feed_state(url)
    assert (
        state.last_error == "could not store: database error on the test database: value too long"
    )
    assert state.consecutive_failures == 1
    assert state.next_poll_at is not None
    assert state.next_poll_at > FROZEN_NOW
    assert state.lease_owner is None


# Every bounded column and what keeps values within it. A new VARCHAR column fails here
# until its guard is named.
GUARDED = {
    "feeds.url": "config: feeds[].url (MAX_URL_CHARS)",
    "feeds.name": "config: feeds[].name (MAX_FEED_NAME_CHARS)",
    "feeds.etag": "store: dropped with a note (record_poll)",
    "feeds.last_modified": "store: dropped with a note (record_poll)",
    "feeds.lease_owner": "config: replica.id max 200; hostname:pid otherwise",
    "feeds.fetch_url": "store: dropped with a note (record_poll)",
    "feeds.body_hash": "internal: a SHA-256 hex digest",
    "entries.key": "internal: a hash",
    "entries.canonical_link": "store: clipped (_entry_values)",
    "articles.url": "full text: a page whose address is longer is not read (article_key)",
    "entries.language": "store: clipped (_entry_values)",
    "entries.author": "store: clipped (_entry_values)",
    "entries.dup_signal": "internal: a signal name",
    "entries.dup_outcome": "internal: joined or suppressed",
    "entries.source": "store: clipped (_entry_values)",
    "feed_notices.alert": "config: alert names (max 100)",
    "matches.watch": "config: watch names (max 100)",
    "digests.id": "internal: a timestamp and a hex id",
    "digests.alert": "config: alert names (max 100)",
    "alert_items.alert": "config: alert names (max 100)",
    "deliveries.digest_id": "internal: digest ids",
    "deliveries.alert": "config: alert names (max 100)",
    "deliveries.channel": "internal: email or webhook",
    "deliveries.target": "config: email (max 254) or webhook url (MAX_URL_CHARS)",
    "deliveries.status": "internal: pending, sent or failed",
    "deliveries.lease_owner": "config: replica.id max 200",
    "deliveries.lease_token": "internal: a random token",
    "alert_schedules.alert": "config: alert names (max 100)",
    "alert_schedules.schedule": "config: cron (max 100) and a timezone name",
    "alert_schedules.last_run_by": "config: replica.id max 200",
    "channel_states.alert": "config: alert names (max 100)",
    "channel_states.channel": "internal: email or webhook",
    "channel_states.target": "config: email (max 254) or webhook url (MAX_URL_CHARS)",
    "job_leases.name": "internal: job names",
    "job_leases.owner": "config: replica.id max 200",
    "job_leases.token": "internal: a random token",
}


def test_every_bounded_column_has_a_guard() -> None:
    import monitor.store.articles  # noqa: F401  (every table's model, whatever ran before)

    bounded = {
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
        if getattr(column.type, "length", None)
    }
    assert bounded == set(GUARDED)
    assert FeedRow.__table__.c.url.type.length == MAX_URL_CHARS  # type: ignore[attr-defined]
    assert DeliveryRow.__table__.c.target.type.length == MAX_URL_CHARS  # type: ignore[attr-defined]
    assert FeedRow.__table__.c.name.type.length == MAX_FEED_NAME_CHARS  # type: ignore[attr-defined]


def test_a_config_value_longer_than_its_column_fails_check(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    long_url = "https://long.example/" + "a" * 2100
    config.write_text(
        "database: sqlite:///" + str(tmp_path / "m.db") + "\n"
        "feeds:\n"
        f"  - url: {long_url}\n"
        "  - url: https://ok.example/feed\n"
        f"    name: {'n' * 400}\n"
        "watches: [{name: w, query: usmca}]\n"
        "alerts: [{name: a, watches: [w], schedule: '" + ",".join(["1"] * 60) + " 8 * * *', "
        "webhook: {url: 'https://h.example/x', secret: '${TEST_WEBHOOK_SECRET}'}}]\n"
    )
    result = monitor(config, "check")
    assert result.returncode == 1
    assert "feeds[0].url (line 3): URL of 2,121 characters; at most 2,048" in result.stderr
    assert "feeds[1].name (line 5): String should have at most 300 characters" in result.stderr
    assert (
        "alerts[0].schedule (line 7): cron expression of 127 characters; at most 100"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_the_postgresql_columns_are_the_declared_ones(db_url: str) -> None:
    """The guards above check the model; this checks the database agrees with it."""
    from monitor.store.store import Store

    store = Store.open(db_url)
    try:
        inspector = sa.inspect(store.engine)
        for name in GUARDED:
            table, column = name.split(".")
            (found,) = [c for c in inspector.get_columns(table) if c["name"] == column]
            declared = SQLModel.metadata.tables[table].c[column].type.length  # type: ignore[attr-defined]
            assert getattr(found["type"], "length", None) == declared, name
    finally:
        store.close()


def test_rows_marked_as_holding_no_text_skip_the_nul_byte_walk() -> None:
    from types import SimpleNamespace

    from monitor.store.bounds import NO_TEXT, strip_nul_bytes

    rows = [(1, 2), (3, 4)]
    marked = SimpleNamespace(execution_options={NO_TEXT: True})
    plain = SimpleNamespace(execution_options={})
    _, passed = strip_nul_bytes(None, None, "INSERT", rows, marked, True)
    assert passed is rows  # not copied row by row
    _, cleaned = strip_nul_bytes(None, None, "INSERT", [("a\x00b", 1)], plain, True)
    assert cleaned == [("ab", 1)]
