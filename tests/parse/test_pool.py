"""Parsing in worker processes: same results, errors as ParseError, survives a dead worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from monitor.errors import ParseError
from monitor.parse.feed import parse_feed
from monitor.parse.pool import WORKER_JOBS, ParserPool, default_workers
from monitor.types import ParsedFeed
from testbed.farm import rss_body
from tests.conftest import REPO


def test_pool_parses_like_parse_feed_and_raises_parse_errors() -> None:
    bodies = [rss_body(n, 10) for n in range(8)]

    async def run() -> None:
        async with ParserPool(workers=2) as pool:
            parsed = await asyncio.gather(
                *(pool.parse(body, f"https://x.test/{n}", f"F{n}") for n, body in enumerate(bodies))
            )
            assert parsed == [
                parse_feed(b, f"https://x.test/{n}", f"F{n}") for n, b in enumerate(bodies)
            ]
            with pytest.raises(ParseError) as caught:
                await pool.parse(b"<html>no feed</html>", "https://x.test/bad", "Bad", "text/html")
            assert caught.value.url == "https://x.test/bad"
            assert "not an RSS or Atom feed" in caught.value.reason

    asyncio.run(run())


async def _parse_until_it_fails(pool: ParserPool) -> None:
    for _ in range(50):  # the executor notices the death asynchronously
        await pool.parse(rss_body(2, 2), "https://x.test/2", "F")
        await asyncio.sleep(0.05)


async def _kill_the_workers_and_recover(pool: ParserPool) -> None:
    """Kill the pool's worker processes: one feed fails, then the next parses."""
    executor = pool._executor
    assert executor is not None
    for pid in list(executor._processes):
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(ParseError, match="parser process died"):
        await _parse_until_it_fails(pool)
    parsed = await pool.parse(rss_body(3, 2), "https://x.test/3", "F")
    assert len(parsed.entries) == 2


def test_a_dead_worker_fails_one_feed_and_the_pool_recovers() -> None:
    async def run() -> None:
        async with ParserPool(workers=1) as pool:
            await pool.parse(rss_body(1, 2), "https://x.test/1", "F")  # the worker is up
            await _kill_the_workers_and_recover(pool)

    asyncio.run(run())


def test_workers_default_to_the_cores() -> None:
    assert default_workers(0) == len(os.sched_getaffinity(0))
    assert default_workers(3) == 3


def _hang(body: bytes, url: str, seconds: float) -> ParsedFeed:
    """Stands in for a parser stuck on a pathological document (runs in the worker)."""
    parsed = parse_feed(body, url, "F")
    time.sleep(seconds)
    return parsed


def test_a_hung_parse_fails_its_feed_and_the_pool_starts_afresh() -> None:
    async def run() -> None:
        async with ParserPool(workers=1, timeout=1.0) as pool:
            with pytest.raises(ParseError, match=r"longer than 1s; the parser was stopped"):
                await pool.run("https://x.test/1", _hang, rss_body(1, 2), "https://x.test/1", 60)
            parsed = await pool.parse(rss_body(3, 2), "https://x.test/3", "F")
            assert len(parsed.entries) == 2

    started = time.monotonic()
    asyncio.run(run())
    assert time.monotonic() - started < 30  # cut off, not left to sleep its 60 s


def test_the_parse_deadline_does_not_count_the_wait_behind_other_feeds() -> None:
    async def run() -> list[int]:
        async with ParserPool(workers=1, timeout=1.0) as pool:
            results = await asyncio.gather(
                *(
                    pool.run(
                        f"https://x.test/{n}", _hang, rss_body(n, 2), f"https://x.test/{n}", 0.4
                    )
                    for n in range(4)
                )
            )
            return [len(parsed.entries) for parsed in results]

    assert asyncio.run(run()) == [2, 2, 2, 2]  # 1.6 s of work in all, none of it stuck


def test_closing_does_not_wait_for_a_stuck_parser() -> None:
    async def run() -> ParserPool:
        pool = ParserPool(workers=1)
        stuck = asyncio.ensure_future(
            pool.run("https://x.test/1", _hang, rss_body(1, 2), "https://x.test/1", 60)
        )
        await asyncio.sleep(0.5)
        started = time.monotonic()
        pool.close(grace=0.5)
        assert time.monotonic() - started < 5
        with pytest.raises(ParseError):
            await stuck
        return pool

    asyncio.run(run())


def test_warming_starts_the_workers_before_the_first_parse_and_they_parse_it() -> None:
    async def run() -> None:
        pool = ParserPool(workers=1)
        try:
            pool.warm()
            pool.warm()  # a second call starts nothing more
            deadline = time.monotonic() + 30
            while pool._executor is None or not pool._executor._processes:
                assert time.monotonic() < deadline, "the workers never started"
                await asyncio.sleep(0.05)
            warmed = set(pool._executor._processes)
            parsed = await pool.parse(rss_body(1, 2), "https://x.test/1", "F")
            assert len(parsed.entries) == 2
            assert set(pool._executor._processes) == warmed  # no second start
        finally:
            pool.close()

    asyncio.run(run())


def test_closing_a_pool_that_is_still_warming_leaves_no_worker() -> None:
    pool = ParserPool(workers=1)
    pool.warm()
    started = time.monotonic()
    pool.close(grace=10)
    assert time.monotonic() - started < 15
    assert pool._executor is None
    assert pool._warming is None


def test_a_stuck_parse_behind_another_is_still_stopped() -> None:
    # One worker holds two bodies: the second waits behind the first (0.5 s), then sticks.
    async def run() -> list[object]:
        async with ParserPool(workers=1, timeout=1.0) as pool:
            return await asyncio.gather(
                pool.run("https://x.test/1", _hang, rss_body(1, 2), "https://x.test/1", 0.5),
                pool.run("https://x.test/2", _hang, rss_body(2, 2), "https://x.test/2", 60),
                return_exceptions=True,
            )

    started = time.monotonic()
    first, second = asyncio.run(run())
    assert isinstance(first, ParsedFeed)
    assert isinstance(second, ParseError)
    assert "longer than 1s; the parser was stopped" in str(second)
    assert time.monotonic() - started < 30


def test_the_workers_are_started_off_the_event_loop_first_and_after_a_death(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loop that awaits parses is the downloads' own: starting the processes takes a
    good part of a second, which on it would hold up every download in flight."""
    starts: list[str] = []
    start = ParserPool._start

    def recorded(pool: ParserPool) -> object:
        if pool._executor is None:
            starts.append(threading.current_thread().name)
        return start(pool)

    monkeypatch.setattr(ParserPool, "_start", recorded)

    async def run() -> str:
        pool = ParserPool(workers=1)
        try:
            await pool.parse(rss_body(1, 2), "https://x.test/1", "F")
            await _kill_the_workers_and_recover(pool)
        finally:
            pool.close()
        return threading.current_thread().name

    loop_thread = asyncio.run(run())
    assert len(starts) == 2  # the first start, and the one after the death
    assert loop_thread not in starts


def _loaded(name: str) -> bool:
    """Runs in a worker: whether ``name`` was imported there (by the forkserver)."""
    return name in sys.modules


_START_AHEAD = textwrap.dedent(
    """
    import asyncio, sys
    from monitor.parse.pool import ParserPool, start_forkserver
    from tests.parse.test_pool import _loaded

    assert start_forkserver()
    print("imported here:", "monitor.prepare" in sys.modules)

    async def run():
        async with ParserPool(workers=1) as pool:  # its own preload names no job
            return [await pool.run("u", _loaded, name) for name in sys.argv[1:]]

    print("in the worker:", *asyncio.run(run()))
    """
)


def test_a_forkserver_started_ahead_imports_the_jobs_for_the_pool_and_not_here() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _START_AHEAD, "monitor.prepare", "monitor.digest"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "imported here: False",  # named, not imported: starting ahead costs the caller nothing
        "in the worker: True False",  # the job's module came from the forkserver; no other
    ]


def test_the_jobs_started_ahead_are_the_ones_the_pipeline_runs() -> None:
    from monitor.prepare import parse_and_prepare

    assert (parse_and_prepare.__module__,) == WORKER_JOBS
    assert ParserPool(preload=WORKER_JOBS).preload == (
        "__main__",
        "monitor.parse.pool",
        "monitor.prepare",
    )
