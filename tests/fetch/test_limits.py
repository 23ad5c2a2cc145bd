"""Concurrency limits, per host and global, and isolation of slow feeds."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from datetime import timedelta

import pytest

from monitor.config import FetchSettings
from monitor.errors import FetchError
from monitor.fetch.client import Fetcher
from testbed.farm import Farm, FarmConfig
from tests.fetch.conftest import loopback_settings


async def _fetch_all(settings: FetchSettings, urls: list[str]) -> tuple[Fetcher, list[float]]:
    async with Fetcher(settings) as fetcher:
        started = time.monotonic()

        async def one(url: str) -> float:
            with contextlib.suppress(FetchError):
                await fetcher.fetch(url)
            return time.monotonic() - started

        done = await asyncio.gather(*(one(url) for url in urls))
    return fetcher, list(done)


def test_per_host_limit_is_never_exceeded_and_is_reached() -> None:
    config = FarmConfig(feeds=48, items=5, hosts=3, latency=0.05)
    settings = loopback_settings(concurrency=50, per_host_concurrency=3)
    with Farm(config) as farm:
        fetcher, _ = asyncio.run(_fetch_all(settings, farm.urls()))
        seen = farm.snapshot()["peak_per_host"]
    assert seen == dict.fromkeys(farm.host_names, 3)  # measured by the server
    assert dict(fetcher.peak_per_host) == dict.fromkeys(farm.host_names, 3)


def test_global_limit_is_never_exceeded() -> None:
    config = FarmConfig(feeds=40, items=5, hosts=4, latency=0.05)
    settings = loopback_settings(concurrency=5, per_host_concurrency=4)
    with Farm(config) as farm:
        fetcher, _ = asyncio.run(_fetch_all(settings, farm.urls()))
        per_host = farm.snapshot()["peak_per_host"]
    assert fetcher.peak_total == 5
    assert sum(per_host.values()) >= 5  # each host's peak came at a different moment
    assert max(per_host.values()) <= 4


def test_a_slow_feed_delays_nobody_beyond_its_own_deadline() -> None:
    kinds = ("slow_drip",) + ("ok",) * 20
    config = FarmConfig(kinds=kinds, hosts=2, latency=0.02, drip_interval=0.1)
    settings = loopback_settings(
        timeout=timedelta(seconds=2), per_host_concurrency=2, concurrency=4
    )
    with Farm(config) as farm:
        _, finished = asyncio.run(_fetch_all(settings, farm.urls()))
    slow, healthy = finished[0], finished[1:]
    assert slow >= 1.9  # cut at its deadline...
    assert max(healthy) < 1.0  # ...while the others, even on its host, were done long before


def test_cpu_work_on_the_callers_loop_does_not_eat_the_deadlines() -> None:
    """The pipeline parses and writes on its loop; downloads in flight must not time out."""
    config = FarmConfig(feeds=12, items=5, hosts=3, latency=0.2)
    settings = loopback_settings(timeout=timedelta(seconds=1))

    def busy(seconds: float) -> None:  # CPU work that never yields to the event loop
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            sum(range(1000))

    async def run(urls: list[str]) -> list[int]:
        async with Fetcher(settings) as fetcher:
            tasks = [asyncio.create_task(fetcher.fetch(url)) for url in urls]
            await asyncio.sleep(0.05)  # the downloads start...
            busy(1.5)  # ...then the loop is held for longer than their deadline
            return [result.status for result in await asyncio.gather(*tasks)]

    with Farm(config) as farm:
        assert asyncio.run(run(farm.urls())) == [200] * 12


async def _stuck(ended: list[str]) -> None:
    """Waits until cancelled, then takes a while to wind down, and says when it has ended."""
    try:
        await asyncio.sleep(30)
    finally:
        await asyncio.sleep(0.3)
        ended.append("stuck")


def test_work_run_on_the_fetchers_loop_fetches_there_and_ends_before_a_cancel_returns() -> None:
    """``Fetcher.on_loop``: the coroutine runs on the downloads' own loop (its fetches need
    no hand-over), and a caller cancelled meanwhile gets control back only once the
    coroutine has ended, so nothing of it outlives the Fetcher."""
    config = FarmConfig(feeds=3, items=2, hosts=1)
    ended: list[str] = []

    async def run(urls: list[str]) -> tuple[list[int], bool, bool]:
        async with Fetcher(loopback_settings()) as fetcher:

            async def feeds() -> tuple[list[int], bool]:
                results = [await fetcher.fetch(url) for url in urls]
                return [r.status for r in results], fetcher.on_own_loop()

            statuses, own = await fetcher.on_loop(feeds())
            task = asyncio.ensure_future(fetcher.on_loop(_stuck(ended)))
            await asyncio.sleep(0.1)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            finished = ended == ["stuck"]
            return statuses, own and not fetcher.on_own_loop(), finished

    with Farm(config) as farm:
        statuses, own, finished = asyncio.run(run(farm.urls()))
    assert statuses == [200, 200, 200]
    assert own  # the feeds ran on the fetcher's loop, not the caller's
    assert finished  # the cancelled coroutine had ended when the cancel returned


def test_a_caller_cancelled_twice_still_waits_for_the_coroutine_to_end() -> None:
    """A second cancel (a second Ctrl-C, asyncio.run's teardown) must not cut the wait short:
    the fetcher would then close its loop under a coroutine still running."""
    ended: list[str] = []

    async def run() -> bool:
        async with Fetcher(loopback_settings()) as fetcher:
            task = asyncio.ensure_future(fetcher.on_loop(_stuck(ended)))
            await asyncio.sleep(0.1)
            task.cancel()
            await asyncio.sleep(0.05)
            task.cancel()  # again, while it waits for the coroutine to end
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return ended == ["stuck"]

    assert asyncio.run(run())


def test_tasks_still_on_the_fetchers_loop_at_close_are_cancelled_and_awaited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A task the coroutine left behind on the downloads' loop (a batch being written, say)
    is cancelled and waited for when the fetcher closes, not destroyed pending."""
    wound_down: list[str] = []

    async def run() -> None:
        async with Fetcher(loopback_settings()) as fetcher:

            async def leaves_a_task() -> None:
                async def behind() -> None:
                    try:
                        await asyncio.sleep(30)
                    finally:
                        wound_down.append("behind")

                leftover.append(asyncio.ensure_future(behind()))
                await asyncio.sleep(0)

            leftover: list[asyncio.Future[None]] = []
            await fetcher.on_loop(leaves_a_task())

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(run())
        gc.collect()
    assert wound_down == ["behind"]
    assert not [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]


def test_idle_hosts_connections_are_closed_beyond_the_concurrency() -> None:
    config = FarmConfig(feeds=24, items=2, hosts=6)
    settings = loopback_settings(concurrency=2, per_host_concurrency=1)

    async def run(urls: list[str]) -> tuple[int, int]:
        async with Fetcher(settings) as fetcher:
            most = 0

            async def one(url: str) -> None:
                nonlocal most
                await fetcher.fetch(url)
                most = max(most, len(fetcher._clients))

            # Host after host, so each host's last fetch ends before the next host's begin.
            by_host = sorted(urls, key=lambda url: url.split("/")[2])
            for start in range(0, len(by_host), 4):
                await asyncio.gather(*(one(url) for url in by_host[start : start + 4]))
            return most, len(fetcher._clients)

    with Farm(config) as farm:
        most, left = asyncio.run(run(farm.urls()))
    assert most <= 3  # the host in use and at most two idle ones, never one for each of six
    assert left <= 2


async def _read_all(settings: FetchSettings, urls: list[str]) -> tuple[int, list[str]]:
    async with Fetcher(settings) as fetcher:

        async def one(url: str) -> str:
            try:
                return str((await fetcher.fetch(url)).status)
            except FetchError as exc:
                return str(exc)

        outcomes = await asyncio.gather(*(one(url) for url in urls))
    return fetcher.peak_large_bodies, list(outcomes)


# Four bodies that stream on without end, a piece every 5 ms: slowly enough that they are
# read at the same time, unless the turns say otherwise; then four healthy feeds.
_ENDLESS_BESIDE_HEALTHY = FarmConfig(
    kinds=("endless",) * 4 + ("ok",) * 4, items=5, hosts=1, endless_pause=0.005
)


def _large_settings(turns: int) -> FetchSettings:
    return loopback_settings(
        concurrency=8,
        per_host_concurrency=8,
        max_body_bytes=2_000_000,
        max_large_bodies=turns,
        timeout=timedelta(seconds=30),
    )


@pytest.mark.parametrize("turns", [1, 2])
def test_bodies_past_a_mebibyte_take_turns_and_small_ones_never_wait(turns: int) -> None:
    """Four bodies that stream on without end, read at once, would hold four times
    ``max_body_bytes``; past 1 MiB they read ``fetch.max_large_bodies`` at a time, and are
    each still refused at the cap. Feeds beside them are read as usual."""
    with Farm(_ENDLESS_BESIDE_HEALTHY) as farm:
        urls = farm.urls()
        peak, outcomes = asyncio.run(_read_all(_large_settings(turns), urls))
    assert peak == turns
    for url, outcome in zip(urls[:4], outcomes, strict=False):
        assert outcome == f"{url}: body larger than fetch.max_body_bytes (2000000 bytes decoded)"
    assert outcomes[4:] == ["200"] * 4


def test_with_a_turn_for_each_the_large_bodies_read_at_once() -> None:
    """What the turns are for: with as many turns as bodies, the endless bodies of
    :func:`test_bodies_past_a_mebibyte_take_turns_and_small_ones_never_wait` read at the
    same time (so its peaks of one and two are the turns' doing)."""
    with Farm(_ENDLESS_BESIDE_HEALTHY) as farm:
        peak, _ = asyncio.run(_read_all(_large_settings(4), farm.urls()[:4]))
    assert peak == 4
