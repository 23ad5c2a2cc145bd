"""Several replicas sharing one database: claims, leases, takeovers, schedules (both backends)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from monitor.config import load_config
from monitor.pipeline import Pipeline
from monitor.schedule import Daemon
from monitor.store.store import Store
from testbed.servers import HttpServer, Request, Route
from tests.conftest import FROZEN_NOW
from tests.support.clock import ManualClock
from tests.support.feeds import Item, rss


def replicas(config_path: Path, clock: ManualClock, count: int) -> list[Daemon]:
    daemons = []
    for index in range(count):
        config = load_config(config_path)
        config = config.model_copy(
            update={"replica": config.replica.model_copy(update={"id": f"r{index}"})}
        )
        daemons.append(Daemon(Pipeline(config, Store.open(config.database), clock).start()))
    return daemons


def close(daemons: list[Daemon]) -> None:
    for daemon in daemons:
        daemon.pipeline.store.close()


def feed_farm(http_server: HttpServer, count: int) -> list[str]:
    urls = []
    for n in range(count):
        item = Item(
            f"Story {n}",
            f"https://news.example/{n}",
            "text",
            FROZEN_NOW - timedelta(hours=1),
            f"s{n}",
        )
        urls.append(http_server.add(f"/feed{n}.xml", Route(body=rss([item]))))
    return urls


async def digest_all(daemons: list[Daemon]) -> None:
    await asyncio.gather(*(d.digest_tick() for d in daemons))


async def tick_all(daemons: list[Daemon]) -> list[int]:
    return list(await asyncio.gather(*(d.poll_tick() for d in daemons)))


def test_each_due_feed_is_polled_by_exactly_one_replica_per_interval(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    urls = feed_farm(http_server, 30)
    clock = ManualClock(FROZEN_NOW)
    daemons = replicas(write_config(db_url, urls), clock, 3)
    try:
        for _ in range(4):  # four intervals (15 min each, up to 10 % jitter)
            polled = asyncio.run(tick_all(daemons))
            assert sum(polled) == 30
            assert asyncio.run(tick_all(daemons)) == [0, 0, 0]  # nothing is due twice
            clock.advance(minutes=17)
    finally:
        close(daemons)
    per_feed = Counter(r.path for r in http_server.requests)
    assert set(per_feed.values()) == {4}
    assert len(per_feed) == 30


def test_an_expired_lease_is_taken_over(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    urls = feed_farm(http_server, 3)
    clock = ManualClock(FROZEN_NOW)
    dead, alive = replicas(write_config(db_url, urls), clock, 2)
    try:
        now = clock()
        # "dead" leases every feed and dies without polling.
        claims = dead.pipeline.store.claim_due_feeds("r0", now, now + timedelta(minutes=5), 100)
        assert len(claims) == 3
        assert asyncio.run(alive.poll_tick()) == 0  # the leases are live
        clock.advance(minutes=5, seconds=1)
        assert asyncio.run(alive.poll_tick()) == 3
        states = alive.pipeline.store.feed_states()
        assert all(s.lease_owner is None and s.last_success_at == clock() for s in states)
    finally:
        close([dead, alive])
    assert len(http_server.requests) == 3


def test_a_digest_run_is_won_by_one_replica_and_missed_runs_catch_up(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    received: list[Request] = []

    def hook(request: Request) -> tuple[int, dict[str, str], bytes]:
        received.append(request)
        return 200, {}, b""

    urls = [
        http_server.add(
            "/usmca.xml",
            Route(
                body=rss(
                    [
                        Item(
                            "USMCA news",
                            "https://n.example/1",
                            "x",
                            FROZEN_NOW - timedelta(hours=1),
                            "u1",
                        )
                    ]
                )
            ),
        )
    ]
    clock = ManualClock(
        FROZEN_NOW
    )  # 04:00 in Toronto; the alert fires at 08:00 Toronto (13:00 UTC)
    config = write_config(db_url, urls, webhook_url=http_server.add("/hook", Route(responder=hook)))
    daemons = replicas(config, clock, 3)
    try:
        asyncio.run(tick_all(daemons))
        asyncio.run(digest_all(daemons))
        assert received == []  # not due before 08:00 Toronto
        clock.advance(hours=4, minutes=1)
        asyncio.run(digest_all(daemons))
        assert len(received) == 1
        asyncio.run(digest_all(daemons))
        assert len(received) == 1
        # Every replica is down for two days, then one returns: the missed run goes out once.
        clock.advance(days=2)
        http_server.routes["/usmca.xml"] = Route(
            body=rss(
                [
                    Item(
                        "USMCA more news",
                        "https://n.example/2",
                        "x",
                        clock() - timedelta(hours=1),
                        "u2",
                    )
                ]
            )
        )
        asyncio.run(daemons[0].poll_tick())
        asyncio.run(daemons[1].digest_tick())
        asyncio.run(daemons[2].digest_tick())
        assert len(received) == 2
    finally:
        close(daemons)


def test_sighup_reload_applies_a_new_watch_and_rejects_a_broken_config(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    item = Item(
        "Steel quota talks resume",
        "https://n.example/steel",
        "x",
        FROZEN_NOW - timedelta(hours=1),
        "st",
    )
    route = Route(body=rss([item]))
    path = write_config(db_url, [http_server.add("/f.xml", route)])
    clock = ManualClock(FROZEN_NOW)
    state: dict[str, Path] = {"config": path}

    def reload() -> Pipeline:
        fresh = load_config(state["config"])
        return Pipeline(fresh, daemon.pipeline.store, clock).start()

    daemon = Daemon(
        Pipeline(load_config(path), Store.open(load_config(path).database), clock).start(),
        reload,
    )
    try:
        asyncio.run(daemon.poll_tick())
        assert daemon.pipeline.store.count_pending("desk") == 0  # no watch covers steel yet
        text = path.read_text()
        path.write_text(
            text.replace(
                "watches:\n- name: usmca", "watches:\n- name: steel\n  query: steel\n- name: usmca"
            ).replace("  - usmca\n", "  - usmca\n  - steel\n", 1)
        )
        assert daemon.reload() is True
        assert "steel" in {w.name for w in daemon.pipeline.config.watches}
        route.body = rss(
            [Item("Steel tariffs return", "https://n.example/s2", "x", FROZEN_NOW, "st2")]
        )
        clock.advance(minutes=20)
        asyncio.run(daemon.poll_tick())
        assert daemon.pipeline.store.count_pending("desk") == 1

        path.write_text("feeds: [{url: not-a-url}]\n")
        running = daemon.pipeline
        assert daemon.reload() is False
        assert daemon.pipeline is running
    finally:
        daemon.pipeline.store.close()
