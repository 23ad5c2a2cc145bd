"""Replicas starting together, and a feed-list sync racing a poll record (both backends)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from monitor.config import load_config
from monitor.pipeline import Pipeline
from monitor.store.feeds import PollRecord
from monitor.store.store import Store
from testbed.pgschema import fresh_schema
from testbed.servers import HttpServer
from tests.conftest import FROZEN_NOW, REPO
from tests.integration.test_replicas import close, feed_farm, replicas, tick_all
from tests.support.clock import ManualClock

REPLICAS = 6


def test_replicas_starting_together_on_an_empty_database_all_start(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    # The shipped known articles make every replica write the seed pseudo-feed at start.
    path = write_config(
        db_url,
        [f"https://news.example/feed{n}.xml" for n in range(20)],
        seeds=[str(REPO / "config" / "seeds.json")],
    )
    config = load_config(path)
    stores = [Store.open(config.database) for _ in range(REPLICAS)]
    gate = threading.Barrier(REPLICAS)
    failures: list[BaseException] = []

    def start(store: Store) -> None:
        gate.wait()
        try:
            Pipeline(config, store, lambda: FROZEN_NOW).start().close(keep_store=True)
        except BaseException as exc:  # collected and reported below
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(store,)) for store in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert len(stores[0].seeds()) == 2
        states = stores[0].feed_states()
        assert len(states) == 21  # 20 feeds and the known articles' pseudo-feed
    finally:
        for store in stores:
            store.close()


def test_a_poll_recorded_during_a_feed_sync_keeps_its_next_due_time(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    url = "https://news.example/feed.xml"
    config = load_config(write_config(db_url, [url]))
    syncing, polling = Store.open(config.database), Store.open(config.database)
    try:
        # Polled an hour ago under a 1 h interval; the config now says 15 min, so a sync
        # brings the next poll forward to 15 min after that poll.
        earlier = FROZEN_NOW - timedelta(hours=1)
        syncing.sync_feeds([(url, "Feed", timedelta(hours=1))])
        syncing.record_poll(url, PollRecord(earlier, earlier + timedelta(hours=1)))
        recorded = PollRecord(FROZEN_NOW, FROZEN_NOW + timedelta(minutes=15))
        fired: list[str] = []

        def poll_in_between(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            # Another replica records a poll after this sync read the row, before it writes.
            if statement.lstrip().upper().startswith("UPDATE FEEDS") and not fired:
                fired.append(statement)
                polling.record_poll(url, recorded)

        sa.event.listen(syncing.engine, "before_cursor_execute", poll_in_between)
        syncing.sync_feeds([(url, "Feed", timedelta(minutes=15))])
        sa.event.remove(syncing.engine, "before_cursor_execute", poll_in_between)
        assert fired, "the sync wrote nothing: the race was not staged"
        state = polling.feed_state(url)
        assert state.last_polled_at == FROZEN_NOW
        assert state.next_poll_at == recorded.next_poll_at
    finally:
        syncing.close()
        polling.close()


def test_a_shortened_interval_still_brings_the_next_poll_forward(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    url = "https://news.example/feed.xml"
    store = Store.open(load_config(write_config(db_url, [url])).database)
    try:
        earlier = FROZEN_NOW - timedelta(hours=1)
        store.sync_feeds([(url, "Feed", timedelta(hours=1))])
        store.record_poll(url, PollRecord(earlier, earlier + timedelta(hours=1)))
        store.sync_feeds([(url, "Renamed", timedelta(minutes=15))])
        state = store.feed_state(url)
        assert state.next_poll_at == earlier + timedelta(minutes=15)
        assert state.name == "Renamed"
        store.sync_feeds([])
        assert store.feed_states()[0].url == url  # kept, inactive
    finally:
        store.close()


def test_a_restart_on_an_unchanged_config_leaves_every_due_time_alone(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    # A poll's due time is its interval plus random jitter (fetch.poll_jitter, at most
    # poll_jitter_max): the jitter is not a shortened interval, so starting again on the
    # same config writes no feed row and keeps the jitter.
    url = "https://news.example/feed.xml"
    config = load_config(write_config(db_url, [url]))  # interval 15m: jitter up to 90 s
    store = Store.open(config.database)
    try:
        Pipeline(config, store, lambda: FROZEN_NOW).start().close(keep_store=True)
        earlier = FROZEN_NOW - timedelta(minutes=5)
        jittered = earlier + timedelta(minutes=15, seconds=89)
        store.record_poll(url, PollRecord(earlier, jittered))
        updates: list[str] = []

        def count_updates(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE FEEDS"):
                updates.append(statement)

        sa.event.listen(store.engine, "before_cursor_execute", count_updates)
        Pipeline(config, store, lambda: FROZEN_NOW).start().close(keep_store=True)
        sa.event.remove(store.engine, "before_cursor_execute", count_updates)
        assert updates == []
        assert store.feed_state(url).next_poll_at == jittered
        # A due time beyond what the interval and its jitter can set is brought forward.
        store.sync_feeds([(url, "Feed 0", timedelta(minutes=10))], jitter=lambda wait: wait * 0.1)
        assert store.feed_state(url).next_poll_at == earlier + timedelta(minutes=10)
    finally:
        store.close()


def test_replicas_ticking_together_split_a_backlog(
    http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    # PostgreSQL only: replicas share work there. SQLite supports one replica (README), and
    # its one writer lock lets whichever replica holds it starve the others' claims.
    urls = feed_farm(http_server, 120)
    clock = ManualClock(FROZEN_NOW)
    with fresh_schema("split") as db_url:
        path = write_config(db_url, urls, replica={"claim_batch": 200})
        daemons = replicas(path, clock, 3)
        try:
            polled = asyncio.run(tick_all(daemons))
        finally:
            close(daemons)
    assert sum(polled) == 120
    # Each round claims a share of what is due, not all of it: every replica gets work.
    assert min(polled) >= 120 * 0.15, polled


def test_replicas_reading_a_new_alert_schedule_together_all_get_one_due_time(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    config = load_config(write_config(db_url, []))
    stores = [Store.open(config.database) for _ in range(REPLICAS)]
    gate = threading.Barrier(REPLICAS)
    due: list[Any] = []
    failures: list[BaseException] = []

    def first_tick(store: Store, n: int) -> None:
        gate.wait()
        try:
            # Each replica computed its own first run; the first to insert wins.
            due.append(store.alert_schedule("desk", "0 8 * * *", FROZEN_NOW + timedelta(hours=n)))
        except BaseException as exc:  # collected and reported below
            failures.append(exc)

    threads = [
        threading.Thread(target=first_tick, args=(store, n)) for n, store in enumerate(stores)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert len(due) == REPLICAS
        assert len(set(due)) == 1  # every replica got the winner's time
        assert stores[0].alert_due("desk", "0 8 * * *") == due[0]
        # A changed schedule resets the time once; its own schedule is kept after.
        changed = stores[1].alert_schedule("desk", "0 9 * * *", FROZEN_NOW + timedelta(days=1))
        assert changed == FROZEN_NOW + timedelta(days=1)
        assert stores[2].alert_schedule("desk", "0 9 * * *", FROZEN_NOW) == changed
    finally:
        for store in stores:
            store.close()
