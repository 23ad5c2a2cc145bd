"""The express pass of ``monitor poll`` (monitor.store.express, monitor.pipeline.poll_express):
feeds that answer 304 are recorded without SQLAlchemy, as the store records them, and
everything else goes to the full pipeline with the answer already fetched, so no feed is
asked twice. It runs only on a SQLite file whose schema, feed list and feeds are settled;
on PostgreSQL the poll takes the full path, with the same results."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.fetch.policy import max_jitter
from monitor.pipeline import FeedOutcome, Pipeline, poll_unchanged_first
from monitor.store.express import (
    ETAG_LENGTH,
    LAST_MODIFIED_LENGTH,
    ExpressFeeds,
    open_express,
)
from monitor.store.feedstate import FeedState, PollRecord
from monitor.store.models import FeedRow
from monitor.store.store import Store
from testbed.servers import HttpServer, Route
from tests.conftest import FROZEN_NOW
from tests.support.cli import monitor, monitor_on_terminal, python
from tests.support.feeds import Item, rss

INTERVAL = timedelta(minutes=15)


def _items(name: str, count: int) -> list[Item]:
    return [
        Item(
            f"{name} story {n} on the USMCA review",
            f"https://news.example/{name}/{n}",
            f"Text of {name} story {n}.",
            FROZEN_NOW - timedelta(minutes=n),
            f"{name}-{n}",
        )
        for n in range(count)
    ]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    url = f"sqlite:///{tmp_path / 'express.db'}"
    store = Store.open(url)
    yield url, store
    store.close()


def _express(url: str) -> ExpressFeeds:
    express = open_express(url)
    assert express is not None
    return express


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(path)) as db:
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("feeds", "feed_notices")
        }


def _settle(store: Store, urls: list[str]) -> None:
    """Every feed known and parsed once, as a first poll leaves them."""
    store.sync_feeds([(url, url.rsplit("/", 1)[1], INTERVAL) for url in urls])
    for url in urls:
        store.record_poll(
            url,
            PollRecord(FROZEN_NOW, FROZEN_NOW + INTERVAL, None, '"v0"', body_hash="sha256:0"),
        )


def test_the_express_pass_reads_the_states_the_store_reads(
    sqlite_store: tuple[str, Store],
) -> None:
    url, store = sqlite_store
    kinds = ("new", "failing", "moved", "gone", "leased", "parsed")
    urls = [f"https://states.example/{kind}.xml" for kind in kinds]
    later = FROZEN_NOW + timedelta(hours=1, microseconds=250)
    store.sync_feeds([(feed, feed.upper(), INTERVAL) for feed in urls])
    store.record_poll(urls[1], PollRecord(FROZEN_NOW, later, "HTTP 500"))
    store.record_poll(urls[2], PollRecord(FROZEN_NOW, later, None, '"v1"', moved_to=urls[2] + "?m"))
    store.record_poll(urls[3], PollRecord(FROZEN_NOW, later, "HTTP 410 Gone", gone=True))
    store.claim_due_feeds("replica-1", later, later + timedelta(minutes=5), 1)
    store.record_poll(
        urls[5],
        PollRecord(FROZEN_NOW, later, None, '"caf\xc3\xa9"', "Sat, 21 Nov 2026 08:00:00 GMT",
                   body_hash="sha256:" + "0" * 64, note="2 items cut"),
    )  # fmt: skip
    express = _express(url)
    try:
        read = express.states([*urls, "https://states.example/unknown.xml"])
    finally:
        express.close()
    assert read == store.feed_states_for(urls)
    assert read[urls[5]].next_poll_at == later


def test_polls_recorded_by_the_express_pass_leave_the_rows_the_store_leaves(
    sqlite_store: tuple[str, Store], tmp_path: Path
) -> None:
    """Two copies of one database, the same 304s recorded by the express pass in one and
    by ``Store.record_unchanged`` (no lease, as ``monitor poll``) in the other: every
    column of every feed and every failure notice ends the same."""
    url, store = sqlite_store
    kinds = ("fresh", "failing", "noticed", "leased", "moved", "gone", "never")
    urls = [f"https://rows.example/{kind}.xml" for kind in kinds]
    _settle(store, urls[:-1])
    store.sync_feeds([(feed, feed.rsplit("/", 1)[1], INTERVAL) for feed in urls])
    for feed in urls[1:3]:
        for _ in range(3):
            store.record_poll(feed, PollRecord(FROZEN_NOW, FROZEN_NOW, "HTTP 500"))
    store.mark_noticed("desk", [urls[2]], FROZEN_NOW)
    store.claim_due_feeds("replica-1", FROZEN_NOW, FROZEN_NOW + timedelta(minutes=5), 100)
    store.record_poll(urls[4], PollRecord(FROZEN_NOW, FROZEN_NOW, None, moved_to=urls[4] + "?m"))
    store.record_poll(urls[5], PollRecord(FROZEN_NOW, FROZEN_NOW, "HTTP 410", gone=True))
    store.close()
    path = Path(url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(path)) as db, db:  # as a digest that listed it leaves it
        db.execute("UPDATE feeds SET broken_reported_at = last_polled_at WHERE url = ?", (urls[1],))
    twin = tmp_path / "twin.db"
    shutil.copyfile(path, twin)

    later = FROZEN_NOW + timedelta(hours=1, microseconds=7)
    polls = [
        (feed, PollRecord(later, later + INTERVAL, None, f'"{n}\x00"', f"day {n}"))
        for n, feed in enumerate([*urls, "https://rows.example/unknown.xml"])
    ]
    # A server that ignores conditional GET, sending the body stored already.
    polls[0] = (urls[0], replace(polls[0][1], etag=None, body_hash="sha256:0"))
    polls[1] = (urls[1], replace(polls[1][1], body_hash="sha256:0"))
    express = _express(url)
    try:
        assert express.record_unchanged(polls) == ["https://rows.example/unknown.xml"]
    finally:
        express.close()
    other = Store.open(f"sqlite:///{twin}")
    try:
        assert other.record_unchanged(polls) == ["https://rows.example/unknown.xml"]
    finally:
        other.close()
    assert _rows(path) == _rows(twin)
    assert _rows(path)["feed_notices"] == []  # the noticed feed recovered


def test_the_column_lengths_it_checks_are_the_models() -> None:
    table: Any = FeedRow.__table__  # type: ignore[attr-defined]
    assert table.c.etag.type.length == ETAG_LENGTH
    assert table.c.last_modified.type.length == LAST_MODIFIED_LENGTH


def _decline_case(
    case: str, db: sqlite3.Connection, wanted: dict[str, tuple[str, timedelta]]
) -> None:
    first = next(iter(wanted))
    if case == "behind":
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    elif case == "added":
        wanted["https://added.example/feed.xml"] = ("added", INTERVAL)
    elif case == "renamed":
        wanted[first] = ("another name", INTERVAL)
    elif case == "removed":
        del wanted[first]
    elif case == "never parsed":
        db.execute("UPDATE feeds SET body_hash = NULL WHERE url = ?", (first,))
    elif case == "interval shortened":
        wanted[first] = (wanted[first][0], timedelta(minutes=1))
    elif case == "odd date":
        db.execute("UPDATE feeds SET last_success_at = '2026-11-21T08:00:00+00:00'")


@pytest.mark.parametrize(
    "case",
    ["settled", "behind", "added", "renamed", "removed", "never parsed", "interval shortened",
     "odd date"],
)  # fmt: skip
def test_the_express_pass_answers_only_what_the_store_would_not_change_first(
    sqlite_store: tuple[str, Store], case: str
) -> None:
    """The states come back only when the schema is current, syncing the feed list would
    write nothing (no feed added, renamed, removed, brought forward by a shorter interval),
    every feed was parsed before and every date is in the store's own form."""
    url, store = sqlite_store
    urls = [f"https://settled.example/{n}.xml" for n in range(3)]
    _settle(store, urls)
    wanted = {feed: (feed.rsplit("/", 1)[1], INTERVAL) for feed in urls}
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db, db:
        _decline_case(case, db, wanted)
    express = _express(url)
    try:
        states = express.states_if_settled(wanted)
    finally:
        express.close()
    if case == "settled":
        assert states == store.feed_states_for(urls)
    else:
        assert states is None


@pytest.mark.parametrize(
    "database",
    ["postgresql+psycopg://localhost/test", "sqlite://", "sqlite:///:memory:",
     "sqlite:///{tmp}/absent.db", "sqlite:///{tmp}/monitor.db?timeout=3"],
)  # fmt: skip
def test_the_express_pass_is_for_a_sqlite_file_only(tmp_path: Path, database: str) -> None:
    (tmp_path / "monitor.db").touch()
    assert open_express(database.replace("{tmp}", str(tmp_path))) is None


def _states(db_url: str, feeds: list[str]) -> dict[str, FeedState]:
    store = Store.open(db_url)
    try:
        return store.feed_states_for(feeds)
    finally:
        store.close()


_POLL_AND_LIST = textwrap.dedent(
    """
    import sys
    from monitor.cli import main
    code = main(["--config", sys.argv[1], "poll"])
    print("loaded:", code, *[n for n in sys.argv[2:] if n in sys.modules])
    """
)


def test_a_poll_of_unchanged_feeds_on_sqlite_loads_neither_sqlalchemy_nor_the_models(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    """Feeds that answer 304, and one whose server ignores conditional GET and sends the
    same body again."""
    feeds = [http_server.add(f"/{n}.xml", Route(body=rss(_items(str(n), 2)))) for n in range(2)]
    feeds.append(
        http_server.add("/2.xml", Route(body=rss(_items("2", 2)), etag=False, last_modified=None))
    )
    config = write_config(db_url, feeds)
    assert monitor(config, "poll").returncode == 0
    before = _states(db_url, feeds)
    heavy = ("sqlalchemy", "sqlmodel", "monitor.store.models", "monitor.store.store", "psycopg")
    second = python(_POLL_AND_LIST, str(config), *heavy)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("  unchanged  Feed ") == 3, second.stdout
    assert "3 unchanged, 0 failed" in second.stdout, second.stdout
    loaded = second.stdout.splitlines()[-1].split()
    if db_url.startswith("sqlite"):
        assert loaded == ["loaded:", "0"]
    else:  # PostgreSQL: the full store, as ever
        assert loaded[:5] == ["loaded:", "0", "sqlalchemy", "sqlmodel", "monitor.store.models"]
    for n in range(3):
        assert len(http_server.requests_to(f"/{n}.xml")) == 2
    assert not http_server.requests_to("/2.xml")[-1].headers.get("if-none-match")
    after = _states(db_url, feeds)
    for feed in feeds:  # each poll recorded, the body's hash kept
        assert after[feed].last_polled_at > before[feed].last_polled_at  # type: ignore[operator]
        assert after[feed].body_hash == before[feed].body_hash is not None


def test_a_poll_hands_what_changed_or_failed_to_the_pipeline_asking_each_feed_once(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    """Unchanged, changed and failing feeds in one poll: the express pass records the
    first, the pipeline stores and reports the others from the answers already fetched;
    each feed is asked once a poll, on both backends alike."""
    paths = ["/same.xml", "/changed.xml", "/broken.xml"]
    feeds = [http_server.add(path, Route(body=rss(_items(path[1:-4], 2)))) for path in paths]
    config = write_config(db_url, feeds)
    assert monitor(config, "poll").returncode == 0
    http_server.add("/changed.xml", Route(body=rss(_items("changed", 3))))
    http_server.add("/broken.xml", Route(status=500, body=b"oops"))

    second = monitor(config, "poll")

    assert second.returncode == 1, second.stderr
    lines = second.stdout.splitlines()
    assert lines[:3] == [  # in the config's order, whichever pass polled them
        "  unchanged  Feed 0",
        "  ok         Feed 1: 3 items, 1 new, 1 matched, 0 duplicates",
        f"  FAILED     Feed 2 ({feeds[2]}): HTTP 500 Internal Server Error",
    ], second.stdout
    assert lines[-1].startswith("poll: 3 feeds in "), second.stdout
    assert lines[-1].endswith("1 new entry, 1 matched, 0 duplicates, 1 unchanged, 1 failed")
    for path in paths:
        assert len(http_server.requests_to(path)) == 2, path
    states = _states(db_url, feeds)
    assert states[feeds[2]].consecutive_failures == 1
    assert states[feeds[0]].last_polled_at == states[feeds[0]].last_success_at
    assert states[feeds[0]].last_polled_at is not None
    assert states[feeds[0]].last_polled_at > states[feeds[0]].first_polled_at  # type: ignore[operator]


def test_once_enough_answers_wait_the_pipeline_fetches_the_rest(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    """``fetch.parse_ahead`` answers at most wait for the pipeline: the feeds not fetched
    by then are fetched by the pipeline, once, and every one is stored."""
    count = 8
    paths = [f"/{n}.xml" for n in range(count)]
    feeds = [http_server.add(path, Route(body=rss(_items(path[1:-4], 1)))) for path in paths]
    config = write_config(
        db_url, feeds, fetch={"timeout": "5s", "concurrency": 1, "parse_ahead": 1}
    )
    assert monitor(config, "poll").returncode == 0
    for path in paths[2:]:
        http_server.add(path, Route(body=rss(_items(path[1:-4], 2))))

    second = monitor(config, "poll")

    assert second.returncode == 0, second.stderr
    assert second.stdout.count("  unchanged  Feed ") == 2, second.stdout
    assert second.stdout.count(": 2 items, 1 new, ") == count - 2, second.stdout
    for path in paths:
        assert len(http_server.requests_to(path)) == 2, path


class _Refusing(ExpressFeeds):
    def record_unchanged(self, polls: Any) -> list[str]:
        raise sqlite3.OperationalError("database is locked")


def test_polls_the_express_pass_cannot_store_are_stored_by_the_pipeline(
    http_server: HttpServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'refusing.db'}"
    feeds = [http_server.add(f"/{n}.xml", Route(body=rss(_items(str(n), 1)))) for n in range(3)]
    config = load_config(write_config(url, feeds))
    opened: list[Pipeline] = []

    def full() -> Pipeline:
        opened.append(Pipeline(config, Store.open(url)).start())
        return opened[-1]

    asyncio.run(full().poll())
    express = _express(url)
    refusing = _Refusing(express.connection)
    states = refusing.states_if_settled(
        {feed.url: (feed.display_name, feed.interval) for feed in config.feeds},
        jitter=lambda wait: max_jitter(wait, config.fetch),
    )
    assert states is not None
    seen: list[FeedOutcome] = []
    try:
        summary = asyncio.run(
            poll_unchanged_first(config, config.feeds, states, refusing, full, seen.append)
        )
        after = opened[-1].store.feed_states_for(feeds)
    finally:
        refusing.close()
        for pipeline in opened:
            pipeline.close()
    assert [outcome.status for outcome in summary.feeds] == ["not_modified"] * 3
    assert sorted(outcome.url for outcome in seen) == sorted(feeds)
    assert len(opened) == 2  # the pipeline opened to store them
    for feed in feeds:
        assert len(http_server.requests_to(feed.removeprefix(http_server.base))) == 2
        assert after[feed].last_polled_at != states[feed].last_polled_at


def test_on_a_terminal_the_bar_counts_both_passes_and_the_summary_shows_once(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    paths = ["/same.xml", "/changed.xml"]
    feeds = [http_server.add(path, Route(body=rss(_items(path[1:-4], 2)))) for path in paths]
    config = write_config(db_url, feeds)
    assert monitor(config, "poll").returncode == 0
    http_server.add("/changed.xml", Route(body=rss(_items("changed", 3))))

    code, lines = monitor_on_terminal(config, "poll")

    screen = "\n".join(lines)
    assert code == 0, screen
    assert screen.count("poll: 2 feeds") == 1, screen
    assert "  unchanged  Feed 0" in lines, screen
    assert "  ok         Feed 1: 3 items, 1 new, 1 matched, 0 duplicates" in lines, screen
    assert not [line for line in lines if "Traceback" in line or "error" in line.lower()], screen


def test_a_poll_of_named_feeds_takes_the_express_pass_for_them_alone(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    feeds = [http_server.add(f"/{n}.xml", Route(body=rss(_items(str(n), 1)))) for n in range(3)]
    config = write_config(db_url, feeds)
    assert monitor(config, "poll").returncode == 0

    named = monitor(config, "poll", "--feed", "Feed 1")

    assert named.returncode == 0, named.stderr
    assert named.stdout.splitlines()[0] == "  unchanged  Feed 1", named.stdout
    assert named.stdout.splitlines()[-1].startswith("poll: 1 feed in "), named.stdout
    assert [len(http_server.requests_to(f"/{n}.xml")) for n in range(3)] == [1, 2, 1]


def test_a_gone_feed_polled_again_by_force_and_moved_is_read_not_taken_for_unchanged(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    """A feed disabled by a 410 has no body stored; polled again with ``--force``, its
    answer through a permanent redirect is a new body (not one "hashing as the one
    stored"), and the pipeline reads it."""
    new = http_server.add("/new.xml", Route(body=rss(_items("new", 2))))
    old = http_server.add("/old.xml", Route(status=410, body=b"gone"))
    config = write_config(db_url, [old])
    assert monitor(config, "poll").returncode == 3  # its one feed, all it polled, failed: gone
    http_server.add("/old.xml", Route(responder=lambda _: (301, {"Location": new}, b"")))

    forced = monitor(config, "poll", "--force")

    assert "  ok         Feed 0: 2 items, 2 new, " in forced.stdout, forced.stdout + forced.stderr
