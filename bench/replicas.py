"""Replicas sharing a feed farm on PostgreSQL: ``python bench/replicas.py [--feeds N] [--seconds S]``.

The feed farm of ``testbed/farm.py`` (in a thread of this process; every feed
healthy, stable ETags, 304 to a matching ``If-None-Match``) serves ``--feeds``
synthetic feeds (default 10,000) of 10 items under ten loopback hosts and,
through a subclass, records the time of every request per feed. Against it
run real ``monitor run`` processes (``testbed/daemon.py``), first one,
then three, each configuration on a fresh PostgreSQL schema at
``MONITOR_TEST_PG_URL`` (default ``127.0.0.1:5432/test``; dropped after).
Replica settings: ``replica.tick`` 0.5 s, ``claim_batch`` 200,
``fetch.concurrency`` and ``per_host_concurrency`` 50, ops on port 0, JSON
logs at INFO (read by this process), two watches and one alert whose digest
is not due during the run.

Before the replicas start, the benchmark migrates the schema and writes the
feed rows with the state a previous poll left (ETag, last poll an hour ago),
as a deployment restarted after an outage would find them; so the
replicas do not insert the same 10,000 rows at once, and the figure is the
steady state (a conditional GET answered 304), not the first ingest.
``--changed SHARE`` leaves that share of the feeds without state: they answer
200 and every item is new (parsed, deduplicated, matched, stored).

Per configuration, two phases, each a fresh start of the replicas:

1. **throughput**: every feed due now, interval 1 h, so each is due once.
   After ``WARMUP`` seconds from the first request (and every replica up),
   the feeds first requested within the next ``--seconds`` (default 60) are
   counted: feeds/s. When the whole cycle ends sooner, feeds/s is the number
   of feeds over the cycle's duration (first to last request). Over the same
   span the replicas' CPU time (``/proc``: the processes and their children)
   gives the cores they got and feeds per replica CPU-second, a figure that
   moves less than feeds/s when other work shares the machine. A feed
   requested twice in this phase is a double fetch.
2. **doubles**: ``--doubles-feeds`` of the feeds (default 600, spread over the
   hosts) get an ``--interval`` of 15 s, the others are marked polled just now
   (1 h interval, not due); the replicas start again and run for
   ``--doubles-seconds`` (default 40) once all are up. Every request of the
   phase is checked: a feed requested twice less than its interval apart is
   a double fetch (must be 0), and so is any request of a feed not due. Also
   printed: the request rate once all are up, the shortest and longest gap.

The machine's load average is printed at the start and the end: the figures
mean little if other work competed for the cores.

Exit status 1 on a double fetch or a replica that does not stop cleanly.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
import yaml

from monitor.store.store import Store
from testbed.daemon import DaemonProcess
from testbed.farm import Farm, FarmConfig
from testbed.pgschema import PG_URL, fresh_schema

WEBHOOK_SECRET = "whsec_" + "YmVuY2gtcmVwbGljYXMtc2lnbmluZy1rZXktMzItYnl0ZXMh"
HOSTS = 10
ITEMS = 10
TICK = 0.5
CLAIM_BATCH = 200
CONCURRENCY = 50
LONG_INTERVAL = 3600.0
WARMUP = 5.0
WATCHES = [
    {"name": "usmca", "query": "USMCA OR CUSMA OR T-MEC OR ACEUM"},
    {
        "name": "canada-mexico",
        "query": "(Canada OR Ottawa) NEAR/15 (Mexico OR Sheinbaum)",
        "exclude": '"New Mexico"',
    },
]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POLL_LINE = re.compile(r"poll: (\d+) feeds? in .*, (\d+) failed$")


class TimedFarm(Farm):
    """The farm, also keeping the time of every feed request."""

    def __init__(self, config: FarmConfig) -> None:
        super().__init__(config)
        self.times: dict[int, list[float]] = {}
        self.conditional = 0
        self._times_lock = threading.Lock()

    async def _answer(self, method: str, target: str, headers: dict[str, str], writer: Any) -> bool:
        path = target.split("?", 1)[0]
        if path.startswith("/feed/") and path.endswith(".xml"):
            try:
                index = int(path[len("/feed/") : -len(".xml")])
            except ValueError:
                index = -1
            with self._times_lock:
                self.times.setdefault(index, []).append(time.monotonic())
                self.conditional += "if-none-match" in headers
        return await super()._answer(method, target, headers, writer)

    def firsts_after(self, moment: float) -> list[float]:
        """Per feed requested since ``moment``, the time of its first request since then."""
        with self._times_lock:
            return [
                next(x for x in times if x >= moment)
                for times in self.times.values()
                if times[-1] >= moment
            ]

    def requests(self) -> int:
        with self._times_lock:
            return sum(len(times) for times in self.times.values())

    def times_between(self, start: float, end: float) -> dict[int, list[float]]:
        with self._times_lock:
            found = {i: [x for x in times if start <= x < end] for i, times in self.times.items()}
        return {i: times for i, times in found.items() if times}


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh schema; its URL (``search_path``) while in use; dropped after."""
    with fresh_schema("bench_replicas") as url:
        yield url


def write_config(path: Path, database: str, urls: list[str], intervals: list[float]) -> None:
    config: dict[str, Any] = {
        "database": database,
        "fetch": {
            "timeout": "20s",
            "concurrency": CONCURRENCY,
            "per_host_concurrency": CONCURRENCY,
            "allow_private": ["127.0.0.0/8"],  # the farm serves on loopback
        },
        "replica": {"tick": f"{TICK}s", "claim_batch": CLAIM_BATCH},
        "delivery": {"relay_interval": "30s", "allow_private": ["127.0.0.0/8"]},
        "ops": {"port": 0, "log_format": "json"},
        "feeds": [
            {"url": url, "name": f"Farm {n}", "interval": f"{interval:g}s"}
            for n, (url, interval) in enumerate(zip(urls, intervals, strict=True))
        ],
        "watches": WATCHES,
        "alerts": [
            {
                "name": "desk",
                "watches": [w["name"] for w in WATCHES],
                "schedule": "0 8 1 1 *",  # once a year: no digest is due during the run
                "webhook": {
                    "url": "http://127.0.0.1:9/unused-hook",
                    "secret": "${BENCH_WEBHOOK_SECRET}",
                },
            }
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def seed(store: Store, farm: TimedFarm, stateless: set[int]) -> None:
    """Feed rows as a previous poll left them an hour ago, every feed due now.

    Feeds in ``stateless`` keep no ETag: they answer 200 and all their items are new.
    """
    urls = farm.urls()
    now = datetime.now(UTC)
    store.sync_feeds(
        (url, f"Farm {n}", timedelta(seconds=LONG_INTERVAL)) for n, url in enumerate(urls)
    )
    before = now - timedelta(seconds=LONG_INTERVAL)
    rows = [
        {"url": url, "etag": farm.body(n)[1], "before": before, "due": now}
        for n, url in enumerate(urls)
        if n not in stateless
    ]
    with store.engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE feeds SET etag = :etag, first_polled_at = :before, "
                "last_polled_at = :before, last_success_at = :before, next_poll_at = :due "
                "WHERE url = :url"
            ),
            rows,
        )


def make_due(store: Store, urls: list[str], now: datetime) -> None:
    """``urls`` due now; every other feed as if polled just now (next due in an hour)."""
    later = now + timedelta(seconds=LONG_INTERVAL)
    with store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE feeds SET last_polled_at = :now, next_poll_at = :later"),
            {"now": now, "later": later},
        )
        connection.execute(
            sa.text("UPDATE feeds SET next_poll_at = :due WHERE url = :url"),
            [{"url": url, "due": now} for url in urls],
        )


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


@dataclass
class Replicas:
    """``monitor run`` processes on one config, started together."""

    path: Path
    count: int
    daemons: list[DaemonProcess] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)

    def __enter__(self) -> Replicas:
        env = {"BENCH_WEBHOOK_SECRET": WEBHOOK_SECRET, "MONITOR_LOG_LEVEL": "INFO"}
        self.daemons = [DaemonProcess(self.path, **env) for _ in range(self.count)]
        try:
            for daemon in self.daemons:
                daemon.wait_for_log(r"monitor running as", timeout=180)
        except BaseException:
            for daemon in self.daemons:  # one did not start: leave no process behind
                daemon.kill()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.codes = [daemon.stop(timeout=90) for daemon in self.daemons]

    def cpu_seconds(self) -> float:
        """CPU time used so far by the replicas and their child processes (parser workers)."""
        pids = {daemon.process.pid for daemon in self.daemons}
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(stat.parent.name) in pids or int(fields[1]) in pids:  # fields[1]: parent pid
                total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        return total

    def failed_polls(self) -> int:
        failed = 0
        for daemon in self.daemons:
            for message in daemon.messages():
                if found := POLL_LINE.match(message):
                    failed += int(found.group(2))
        return failed


class CpuSamples:
    """The replicas' CPU time read every ``step`` seconds in a thread, so that the CPU
    of any span can be told afterwards: a cycle of three replicas can end before the
    warm-up does, and the span it took is known only then. Enter it before the replicas
    start and leave it after they stop."""

    def __init__(self, replicas: Replicas, step: float = 0.2) -> None:
        self._replicas, self._step = replicas, step
        self._samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-samples", daemon=True)

    def __enter__(self) -> CpuSamples:
        self._samples.append((time.monotonic(), self._replicas.cpu_seconds()))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # No last sample: the replicas have stopped by now, and their CPU with them.
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._step):
            self._samples.append((time.monotonic(), self._replicas.cpu_seconds()))

    def at(self, moment: float) -> float:
        """CPU seconds used by ``moment``, read between the samples on either side."""
        samples = self._samples
        if moment <= samples[0][0]:
            return samples[0][1]
        for (t0, c0), (t1, c1) in itertools.pairwise(samples):
            if moment <= t1:
                return c0 + (c1 - c0) * (moment - t0) / max(t1 - t0, 1e-9)
        return samples[-1][1]


@dataclass
class Result:
    replicas: int
    rate: float = 0.0
    how: str = ""
    fetched: int = 0
    cores: float = 0.0
    """CPU the replicas used while measured, in cores."""
    per_cpu_second: float = 0.0
    """Feeds fetched per CPU second of the replicas (less sensitive to a busy machine)."""
    failed: int = 0
    conditional: float = 0.0
    doubles_rate: float = 0.0
    gaps: int = 0
    min_gap: float | None = None
    max_gap: float | None = None
    doubles: list[str] = field(default_factory=list)
    within_half: int = 0
    """Double fetches less than half an interval apart (two polls in one interval)."""
    problems: list[str] = field(default_factory=list)


def throughput(
    replicas: int, farm: TimedFarm, args: argparse.Namespace, database: str, path: Path
) -> Result:
    result = Result(replicas)
    urls = farm.urls()
    write_config(path, database, urls, [LONG_INTERVAL] * len(urls))
    launched = time.monotonic()
    requests, conditional = farm.requests(), farm.conditional
    running = Replicas(path, replicas)
    # Sampled from before the replicas start (none yet: 0 s), so any span is covered.
    with CpuSamples(running) as cpu, running:
        up = time.monotonic()
        wait_until(lambda: bool(farm.firsts_after(launched)), 60)
        start = max(min(farm.firsts_after(launched)) + WARMUP, up)
        end = start + args.seconds
        time.sleep(max(0.0, start - time.monotonic()))
        began = time.monotonic()
        complete = wait_until(
            lambda: len(farm.firsts_after(launched)) >= len(urls), end - time.monotonic()
        )
        ended = time.monotonic()
        requests, conditional = farm.requests() - requests, farm.conditional - conditional
        firsts = farm.firsts_after(launched)
        result.failed = running.failed_polls()
    if complete:
        # CPU up to the cycle's last request; a cycle that ended within the warm-up
        # is measured over its own span.
        ended = max(firsts)
        if ended <= began:
            began = min(firsts)
    spent = cpu.at(ended) - cpu.at(began)
    result.fetched = len(firsts)
    result.conditional = conditional / max(1, requests)
    result.cores = spent / max(ended - began, 1e-9)
    result.per_cpu_second = sum(1 for x in firsts if began <= x <= ended) / max(spent, 1e-9)
    for n, stamps in sorted(farm.times_between(launched, time.monotonic()).items()):
        for a, b in itertools.pairwise(stamps):  # every feed is due once in this phase
            result.doubles.append(f"feed {n} twice {b - a:.2f}s apart (interval 1h)")
            result.within_half += 1
    if complete and max(firsts) < end:
        result.rate = len(firsts) / (max(firsts) - min(firsts))
        result.how = "whole cycle"
    else:
        result.rate = sum(1 for x in firsts if start <= x < end) / args.seconds
        result.how = f"{args.seconds:g}s window"
    if any(running.codes):
        result.problems.append(f"exit codes {running.codes} (throughput phase)")
    return result


def doubles(
    result: Result,
    farm: TimedFarm,
    args: argparse.Namespace,
    store: Store,
    database: str,
    path: Path,
) -> None:
    urls = farm.urls()
    short = set(range(0, len(urls), max(1, len(urls) // args.doubles_feeds))[: args.doubles_feeds])
    intervals = [args.interval if n in short else LONG_INTERVAL for n in range(len(urls))]
    write_config(path, database, urls, intervals)
    make_due(store, [urls[n] for n in short], datetime.now(UTC))
    launched = time.monotonic()
    with Replicas(path, result.replicas) as running:
        start = time.monotonic()  # every replica up
        time.sleep(args.doubles_seconds)
        end = time.monotonic()
    window = farm.times_between(start, end)
    result.doubles_rate = sum(len(t) for t in window.values()) / (end - start)
    times = farm.times_between(launched, end)  # every fetch of the phase, start-up included
    gaps = [
        (b - a, n)
        for n, stamps in times.items()
        if n in short
        for a, b in itertools.pairwise(stamps)
    ]
    result.gaps = len(gaps)
    if gaps:
        result.min_gap = min(gap for gap, _ in gaps)
        result.max_gap = max(gap for gap, _ in gaps)
    for gap, n in sorted(gaps):
        if gap < args.interval:
            result.doubles.append(f"feed {n} twice {gap:.2f}s apart (interval {args.interval:g}s)")
            result.within_half += gap < args.interval / 2
    for n, stamps in sorted(times.items()):
        if n not in short:
            result.doubles.append(f"feed {n} (interval 1h, not due) fetched {len(stamps)} times")
            result.within_half += len(stamps)
    if result.doubles:
        result.problems.append(f"{len(result.doubles)} double fetches")
    if any(running.codes):
        result.problems.append(f"exit codes {running.codes} (doubles phase)")


def run(replicas: int, farm: TimedFarm, args: argparse.Namespace, directory: Path) -> Result:
    stateless = set(range(0, args.feeds, round(1 / args.changed))) if args.changed > 0 else set()
    with pg_schema() as database:
        store = Store.open(database)  # migrates, as `monitor db upgrade` would
        try:
            seed(store, farm, stateless)
            path = directory / f"monitor-{replicas}.yaml"
            result = throughput(replicas, farm, args, database, path)
            print(
                f"  {replicas} replica(s): {result.rate:,.0f} feeds/s ({result.how}), "
                f"{result.fetched:,} feeds fetched, {result.failed} failed polls",
                flush=True,
            )
            doubles(result, farm, args, store, database, path)
            print(
                f"  {replicas} replica(s): doubles phase: {result.gaps:,} refetch gaps, "
                f"{len(result.doubles)} doubles",
                flush=True,
            )
        finally:
            store.close()
    return result


def table(results: list[Result]) -> str:
    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    rows = [
        (
            "replicas",
            "feeds/s",
            "measured over",
            "replica CPU, cores",
            "feeds per replica CPU-s",
            "conditional GETs",
            "failed polls",
            "doubles-phase req/s",
            "refetch gaps",
            "min gap s",
            "max gap s",
            "double fetches",
            "of which < interval/2",
        )
    ]
    rows += [
        (
            str(r.replicas),
            f"{r.rate:,.0f}",
            r.how,
            f"{r.cores:.2f}",
            f"{r.per_cpu_second:,.0f}",
            f"{r.conditional:.0%}",
            str(r.failed),
            f"{r.doubles_rate:,.1f}",
            f"{r.gaps:,}",
            secs(r.min_gap),
            secs(r.max_gap),
            str(len(r.doubles)),
            str(r.within_half),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="throughput window")
    parser.add_argument("--changed", type=float, default=0.0, help="share of feeds with new items")
    parser.add_argument("--doubles-feeds", type=int, default=600)
    parser.add_argument("--doubles-seconds", type=float, default=40.0)
    parser.add_argument("--interval", type=float, default=15.0, help="doubles-phase interval")
    parser.add_argument("--replicas", default="1,3", help="configurations, e.g. 1,3")
    args = parser.parse_args(argv)
    args.doubles_feeds = min(args.doubles_feeds, args.feeds)
    configurations = [int(n) for n in args.replicas.split(",")]
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
        f"PostgreSQL at {PG_URL.rsplit('@', 1)[-1]}"
    )
    print(
        f"settings: farm of {args.feeds:,} feeds x {ITEMS} items on {HOSTS} loopback hosts "
        f"(a thread of this process), {args.changed:.0%} of them with new items; "
        f"replica.tick {TICK:g}s, claim_batch {CLAIM_BATCH}, fetch.concurrency {CONCURRENCY}, "
        f"per_host_concurrency {CONCURRENCY}; throughput: interval {LONG_INTERVAL:g}s, "
        f"{WARMUP:g}s warm-up, {args.seconds:g}s window; doubles: {args.doubles_feeds} feeds "
        f"at {args.interval:g}s for {args.doubles_seconds:g}s"
    )
    results = []
    farm = TimedFarm(FarmConfig(feeds=args.feeds, items=ITEMS, hosts=HOSTS))
    with farm, tempfile.TemporaryDirectory() as tmp:
        for replicas in configurations:
            results.append(run(replicas, farm, args, Path(tmp)))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    print(table(results))
    for result in results:
        for line in result.doubles[:10]:
            print(f"  {result.replicas} replica(s): {line}")
        for problem in result.problems:
            print(f"  {result.replicas} replica(s): PROBLEM: {problem}")
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
