"""Poll cycles at scale against the feed farm: ``python bench/poll.py [--soak]``.

Default run: the farm (a separate process, so its memory is not counted)
serves 2,000 feeds x 30 items under 100 loopback hosts (20 feeds a host,
two in flight per host), 10 % of them faulty
(every hazard of testbed/farm.py). The real :class:`~monitor.pipeline.Pipeline`
on SQLite (a temporary file) polls all of them once, then once more, when
every healthy feed answers 304. Printed per cycle: wall time, feeds/s,
outcomes; then the peak RSS of this process (``resource.getrusage``).
Checked, exit status 1 when missed: cycle 1 < 60 s, cycle 2 < 10 s, peak RSS
< 300 MB, no crash, every healthy feed's items stored, per-host concurrency
never above ``fetch.per_host_concurrency``. ``fetch.timeout`` is 5 s here:
the slow-drip feeds hold their slot until that deadline, so no cycle can be
shorter than it (with the product's default 20 s, cycle 2 takes about 21 s).

``--soak``: the same farm with 20 % faulty and 10 cycles. Each cycle polls
only the feeds that are due by the pipeline's own schedule (interval 5 s,
backoff, Retry-After of 30 s), as the daemon would. Checked: no unhandled
exception, every healthy feed updated or unchanged in every cycle, per-host
concurrency never above the limit, no request inside a Retry-After window
(counted by the farm).

``--fetch-only``: the same two cycles through :class:`Fetcher` alone (no
parsing, dedup or database), to separate the I/O side from the processing.

The farm's feeds are about 15 KB, over the default ``fetch.pool_parse_min_bytes``,
so they are parsed, fingerprinted and matched in the worker processes;
``--parse-in-thread`` raises the threshold so that all of it runs in a thread
of the polling process instead, to compare.

Memory: the peak RSS of the polling process (``resource.getrusage``), the parser workers'
proportional share, and the whole poller's peak: the proportional set size (PSS) of the
polling process and every process it started (the parser workers, their forkserver, the
resource tracker; the farm left out), summed and sampled every half second, checked
< 300 MB, with the peak of each phase (start-up, cycle 1, cycle 2, after). This script is
the program's main module, which the forkserver imports before it forks the workers: like
monitor's own command line it imports monitor's modules inside its functions, so that the
workers load only what they run.

``--text template`` makes every farm item the same sentence but for its
numbers (the worst case for duplicate detection: every item is a candidate for
every other); by default each item is its own story and 5 % are wire copies
carried by many feeds (``--wire-share``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if TYPE_CHECKING:  # the rest inside the functions (see the module docstring)
    from monitor.pipeline import Pipeline, PollSummary

HERE = Path(__file__).resolve().parent


def start_farm(
    args: argparse.Namespace, faulty: float
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    command = [
        sys.executable,
        str(HERE.parent / "testbed" / "farm.py"),
        f"--feeds={args.feeds}",
        f"--items={args.items}",
        f"--hosts={args.hosts}",
        f"--faulty={faulty}",
        f"--latency={args.latency}",
        f"--retry-after={args.retry_after}",
        "--drip-seconds=60",
        f"--text={args.text}",
        f"--wire-share={args.wire_share}",
    ]
    farm = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert farm.stdout is not None
    info = json.loads(farm.stdout.readline())
    return farm, info


def farm_stats(url: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as answer:  # loopback, our own farm
        return dict(json.load(answer))


def write_config(directory: Path, urls: list[str], args: argparse.Namespace, interval: str) -> Path:
    data = {
        "database": f"sqlite:///{directory / 'bench.db'}",
        "fetch": {
            "timeout": f"{args.timeout}s",
            "concurrency": args.concurrency,
            "per_host_concurrency": args.per_host,
            "allow_private": ["127.0.0.0/8"],  # the farm serves on loopback
            # the pipeline parses bodies this large in worker processes (ParserPool)
            **({"pool_parse_min_bytes": 1 << 30} if args.parse_in_thread else {}),
        },
        "feeds": [
            {"url": url, "name": f"Farm {n}", "interval": interval} for n, url in enumerate(urls)
        ],
        "watches": [{"name": "usmca", "query": "USMCA OR CUSMA OR T-MEC"}],
        "alerts": [
            {
                "name": "desk",
                "watches": ["usmca"],
                "webhook": {"url": "http://127.0.0.1:9/unused", "secret": "${BENCH_SECRET}"},
            }
        ],
    }
    path = directory / "monitor.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def cycle_line(label: str, summary: PollSummary, seconds: float) -> str:
    statuses = Counter(f.status for f in summary.feeds)
    return (
        f"{label}: {len(summary.feeds)} feeds in {seconds:.1f} s ({len(summary.feeds) / seconds:.0f} feeds/s); "
        f"updated {statuses['updated']}, not modified {statuses['not_modified']}, "
        f"errors {statuses['error']}; {summary.new} new entries"
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _proc_field(pid: int, filename: str, name: str) -> float | None:
    """A ``Name: N kB`` field of /proc/PID/FILENAME, in MB."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/{filename}").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) / 1024
    return None


def _poller_processes() -> list[int]:
    """This process and its descendants, but the farm (its own process) and its children."""
    found, todo = [os.getpid()], [os.getpid()]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                for kid in (int(pid) for pid in (task / "children").read_text().split()):
                    if _role(kid) != "farm":
                        found.append(kid)
                        todo.append(kid)
    return found


class PollerMemory:
    """The peak of the summed PSS of the whole poller (:func:`_poller_processes`), sampled
    every ``every`` seconds in a thread, in MB; and the peak of each phase (``phase``, set
    by the caller: start-up, cycle 1, cycle 2), to tell which one sets it."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.peak = 0.0
        self.parts: list[tuple[str, float]] = []
        self.phase = "start-up"
        self.by_phase: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PollerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            parts = [(pid, _proc_field(pid, "smaps_rollup", "Pss")) for pid in _poller_processes()]
            total = sum(pss for _, pss in parts if pss is not None)
            phase = self.phase
            self.by_phase[phase] = max(total, self.by_phase.get(phase, 0.0))
            if total > self.peak:
                self.peak = total
                self.parts = [(_role(pid), pss) for pid, pss in parts if pss is not None]


def _role(pid: int) -> str:
    if pid == os.getpid():
        return "polling process"
    with contextlib.suppress(OSError):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        if "farm.py" in command:
            return "farm"
        if "resource_tracker" in command:
            return "resource tracker"
        if "forkserver" in command:
            return "forkserver or worker"
    return "other"


def worker_memory_mb(pipeline: Pipeline) -> list[tuple[float, float]]:
    """(peak RSS, current PSS) of each live parser worker process, from /proc.

    RSS counts the pages a worker shares with the forkserver it was forked from
    (the modules imported there) in full, in every worker; PSS splits them
    between the processes sharing them, so the PSS figures add up.
    """
    pool = pipeline._parsers
    executor = pool._executor if pool is not None else None
    found = []
    for pid in getattr(executor, "_processes", None) or {}:
        peak = _proc_field(pid, "status", "VmHWM")
        shared = _proc_field(pid, "smaps_rollup", "Pss")
        if peak is not None and shared is not None:
            found.append((peak, shared))
    return found


@contextlib.contextmanager
def polling(
    args: argparse.Namespace, faulty: float, interval: str
) -> Iterator[tuple[list[str], set[str], str, Pipeline]]:
    """The farm started, a pipeline on a temporary SQLite file polling all of its feeds:
    (feed URLs, the healthy ones, the farm's stats URL, the pipeline). Stopped after."""
    from monitor.allocator import tune_allocator
    from monitor.collector import collect_less
    from monitor.config import load_config
    from monitor.pipeline import Pipeline
    from monitor.store.store import Store

    tune_allocator()  # as in `monitor run` and `monitor poll`
    collect_less()
    farm, info = start_farm(args, faulty)
    try:
        urls, kinds = info["urls"], info["kinds"]
        healthy = {url for url, kind in zip(urls, kinds, strict=True) if kind == "ok"}
        with tempfile.TemporaryDirectory() as tmp:
            config = load_config(write_config(Path(tmp), urls, args, interval))
            pipeline = Pipeline(config, Store.open(config.database)).start()
            try:
                yield urls, healthy, info["stats"], pipeline
            finally:
                pipeline.close()
    finally:
        farm.kill()


def run_benchmark(args: argparse.Namespace) -> int:
    problems: list[str] = []
    memory = PollerMemory()
    with memory, polling(args, args.faulty, "15m") as (urls, healthy, stats_url, pipeline):
        store = pipeline.store
        print(
            f"farm: {len(urls)} feeds x {args.items} items, {args.hosts} hosts, "
            f"{len(urls) - len(healthy)} faulty ({args.faulty:.0%}); fetch.concurrency "
            f"{args.concurrency}, per host {args.per_host}, timeout {args.timeout}s; "
            f"parsing in {'a thread' if args.parse_in_thread else 'worker processes'}; "
            f"{args.text} text"
        )
        limits = {"cycle 1": 60.0, "cycle 2": 10.0}
        for label in ("cycle 1", "cycle 2"):
            memory.phase = label
            started = time.perf_counter()
            try:
                summary = asyncio.run(pipeline.poll())
            except Exception as exc:  # the point of the bench: count it, do not die
                problems.append(f"{label}: poll crashed: {exc!r}")
                continue
            seconds = time.perf_counter() - started
            print(cycle_line(label, summary, seconds))
            if seconds >= limits[label]:
                problems.append(f"{label} took {seconds:.1f} s (target < {limits[label]:.0f} s)")
            wanted = "updated" if label == "cycle 1" else "not_modified"
            bad = [f for f in summary.feeds if f.url in healthy and f.status != wanted]
            if label == "cycle 1":
                bad += [f for f in summary.feeds if f.url in healthy and f.new != args.items]
            if bad:
                problems.append(f"{label}: {len(bad)} healthy feeds not {wanted}, e.g. {bad[0]}")
            errors = Counter((f.error or "")[:60] for f in summary.feeds if f.status == "error")
            for reason, count in errors.most_common(12):
                print(f"    {count:4d} x {reason}")
        memory.phase = "after"
        workers = worker_memory_mb(pipeline)
        if workers:
            print(
                f"parser workers: {len(workers)}, peak RSS "
                + ", ".join(f"{peak:.0f}" for peak, _ in workers)
                + " MB, proportional share (PSS) now "
                + ", ".join(f"{pss:.0f}" for _, pss in workers)
                + " MB (not counted in the polling process's figure below)"
            )
        stored = store.entry_count()
        print(f"entries stored: {stored} (healthy feeds alone: {len(healthy) * args.items})")
        if stored < len(healthy) * args.items:
            problems.append("some healthy feeds' items are missing from the store")
        stats = farm_stats(stats_url)
        peak_host = max(stats["peak_per_host"].values())
        print(f"farm: most requests in flight on one host: {peak_host} (limit {args.per_host})")
        if peak_host > args.per_host:
            problems.append(f"per-host concurrency reached {peak_host}")
    rss = peak_rss_mb()
    print(f"peak RSS of the polling process: {rss:.0f} MB")
    if rss >= 300:
        problems.append(f"peak RSS {rss:.0f} MB (target < 300 MB)")
    parts = ", ".join(f"{role} {pss:.0f}" for role, pss in memory.parts)
    phases = ", ".join(f"{phase} {pss:.0f}" for phase, pss in memory.by_phase.items())
    print(f"whole poller, peak PSS: {memory.peak:.0f} MB ({parts}); peak by phase: {phases}")
    if memory.peak >= 300:
        problems.append(f"whole poller's peak PSS {memory.peak:.0f} MB (target < 300 MB)")
    return report(problems)


def run_fetch_only(args: argparse.Namespace) -> int:
    """Two cycles through the Fetcher alone: the I/O side, without parse, dedup or SQLite."""
    farm, info = start_farm(args, args.faulty)
    urls, kinds = info["urls"], info["kinds"]
    settings = load_config_settings(args)
    etags: dict[str, str | None] = {}
    problems: list[str] = []
    try:
        for label, wanted in (("fetch cycle 1", 200), ("fetch cycle 2", 304)):
            started = time.perf_counter()
            statuses = asyncio.run(_fetch_cycle(settings, urls, kinds, etags))
            seconds = time.perf_counter() - started
            print(
                f"{label}: {len(urls)} feeds in {seconds:.1f} s ({len(urls) / seconds:.0f} feeds/s); "
                f"{dict(statuses)}"
            )
            if statuses[str(wanted)] != kinds.count("ok"):
                problems.append(f"{label}: healthy feeds not all {wanted}")
        peak_host = max(farm_stats(info["stats"])["peak_per_host"].values())
        print(f"farm: most requests in flight on one host: {peak_host} (limit {args.per_host})")
        if peak_host > args.per_host:
            problems.append(f"per-host concurrency reached {peak_host}")
    finally:
        farm.kill()
    print(f"peak RSS of the polling process: {peak_rss_mb():.0f} MB")
    return report(problems)


async def _fetch_cycle(
    settings: Any, urls: list[str], kinds: list[str], etags: dict[str, str | None]
) -> Counter[str]:
    from monitor.errors import FetchError
    from monitor.fetch.client import Fetcher

    statuses: Counter[str] = Counter()
    async with Fetcher(settings) as fetcher:

        async def one(url: str, kind: str) -> None:
            try:
                result = await fetcher.fetch(url, etags.get(url))
            except FetchError:
                statuses["error" if kind != "ok" else "healthy error"] += 1
                return
            etags[url] = result.etag
            statuses[str(result.status) if kind == "ok" else "faulty answered"] += 1

        await asyncio.gather(*(one(u, k) for u, k in zip(urls, kinds, strict=True)))
    return statuses


def load_config_settings(args: argparse.Namespace) -> Any:
    from monitor.config import FetchSettings

    return FetchSettings(
        timeout=args.timeout,
        concurrency=args.concurrency,
        per_host_concurrency=args.per_host,
        allow_private=("127.0.0.0/8",),  # the farm serves on loopback
    )


def run_soak(args: argparse.Namespace) -> int:
    problems: list[str] = []
    with polling(args, args.faulty if args.faulty_set else 0.2, "5s") as (
        urls,
        healthy,
        stats_url,
        pipeline,
    ):
        config, store = pipeline.config, pipeline.store
        by_url = {feed.url: feed for feed in config.feeds}
        print(
            f"soak: {len(urls)} feeds, {len(urls) - len(healthy)} faulty, {args.cycles} cycles, "
            f"interval 5 s, Retry-After {args.retry_after} s"
        )
        for cycle in range(1, args.cycles + 1):
            now = datetime.now(UTC)
            states = {state.url: state for state in store.feed_states()}
            due = [
                by_url[url]
                for url, state in states.items()
                if url in by_url
                and state.disabled_at is None
                and (state.next_poll_at is None or state.next_poll_at <= now)
            ]
            started = time.perf_counter()
            try:
                summary = asyncio.run(pipeline.poll(due))
            except Exception as exc:
                problems.append(f"cycle {cycle}: unhandled exception {exc!r}")
                continue
            seconds = time.perf_counter() - started
            print(cycle_line(f"cycle {cycle:2d}", summary, seconds))
            polled = {f.url: f for f in summary.feeds}
            hurt = [f for url, f in polled.items() if url in healthy and f.status == "error"]
            missing = healthy - set(polled)
            if hurt or missing:
                problems.append(
                    f"cycle {cycle}: {len(hurt)} healthy feeds failed, {len(missing)} not polled"
                )
            # The next cycle starts when every healthy feed is due again (interval
            # plus jitter); failing feeds come along only when their backoff or
            # Retry-After has passed.
            wait = max(
                (
                    s.next_poll_at
                    for s in store.feed_states()
                    if s.url in healthy and s.next_poll_at
                ),
                default=None,
            )
            if wait is not None and cycle < args.cycles:
                time.sleep(min(max((wait - datetime.now(UTC)).total_seconds(), 0.0), 10.0))
        stats = farm_stats(stats_url)
        peak_host = max(stats["peak_per_host"].values())
        violations = len(stats["retry_after_violations"])
        print(
            f"farm: most requests in flight on one host {peak_host} (limit {args.per_host}); "
            f"requests inside a Retry-After window: {violations}"
        )
        if peak_host > args.per_host:
            problems.append(f"per-host concurrency reached {peak_host}")
        if violations:
            problems.append(f"{violations} requests inside a Retry-After window")
    print(f"peak RSS of the polling process: {peak_rss_mb():.0f} MB")
    return report(problems)


def report(problems: list[str]) -> int:
    if problems:
        print("MISSED:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("all targets met")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Poll cycles at scale against the feed farm.")
    parser.add_argument("--soak", action="store_true", help="10 cycles, 20%% faulty, on schedule")
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--faulty", type=float, default=None)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="fetch.timeout: a slow drip holds this long"
    )
    parser.add_argument("--retry-after", type=int, default=30)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument(
        "--text",
        choices=("news", "template"),
        default="news",
        help="farm item text: distinct stories (default) or one templated sentence (worst case)",
    )
    parser.add_argument("--wire-share", type=float, default=0.05)
    parser.add_argument("--parse-in-thread", action="store_true")
    parser.add_argument("--fetch-only", action="store_true", help="the Fetcher alone, two cycles")
    args = parser.parse_args(argv)
    args.faulty_set = args.faulty is not None
    if args.faulty is None:
        args.faulty = 0.2 if args.soak else 0.1
    os.environ.setdefault("BENCH_SECRET", "whsec_" + "YmVuY2gtc2lnbmluZy1rZXktMzJieXRlcyEhISE=")
    warnings.simplefilter("ignore", DeprecationWarning)
    if args.fetch_only:
        return run_fetch_only(args)
    return run_soak(args) if args.soak else run_benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
