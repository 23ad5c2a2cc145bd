"""monitor against the feed readers it should beat, on one farm of real news, in one run.

    python -m pip install -e '.[bench]'      # lemon24/reader and rss2email, benchmark-only
    python bench/peers.py                     # 1,000 feeds x 30 items, 10 loopback hosts

One loopback farm (testbed/farm.py) serves real wire stories (Reuters-21578, read at run time
from ../shared/devsets/, see testbed/realnews.py), the newest dated now so every item counts as
new, with ETags. Each system polls every feed: cycle 1 (cold: everything new), then cycle 2
(every feed answers 304) ``--repeat`` times (default 3), of which the median counts, since a
single cycle of about a second moves by a tenth with the machine's load. Each runs in its own
process and its own temporary folder:

- reader: ``update_feeds(workers=16)``, timed around the call (its start-up not counted);
- rss2email: ``r2e run --no-send``, timed as a whole process;
- monitor: ``monitor poll`` on a config of the farm's feeds and the shipped watches, timed as
  a whole process, start-up included, as a user runs it.

All of it ``--rounds`` times (default 3), every system from a cold start each round, in turn:
a single cold cycle moves by a sixth with the machine's load, and the systems of one round run
within minutes of each other. Prints each round's table and monitor's ratios against the
targets (cycle 1 at least 3x faster than reader; cycle 2 at least 2x faster than reader and
faster than rss2email): each round's, and their median, on which the targets are judged;
exits 1 when one is missed. A system that is not installed is reported and left out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Timing:
    system: str
    cycle1: float | None
    cycle2: float | None
    """The median of the cycle-2 runs."""
    note: str = ""
    cycle2_runs: tuple[float, ...] = ()


def timing(system: str, times: list[float], note: str = "") -> Timing:
    """Cycle 1 (the first time), and cycle 2 as the median of the runs after it."""
    return Timing(system, times[0], statistics.median(times[1:]), note, tuple(times[1:]))


READER_DRIVER = """
import json, sys, time
from reader import make_reader
urls, db, workers, repeat = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
reader = make_reader(db)
for url in urls:
    reader.add_feed(url, exist_ok=True)
times, errors = [], 0
for _ in range(1 + repeat):
    start = time.perf_counter()
    # scheduled=False: every feed now, as the other systems do (not only those it deems due).
    for result in reader.update_feeds_iter(workers=workers, scheduled=False):
        errors += result.error is not None
    times.append(time.perf_counter() - start)
entries = reader.get_entry_counts().total
print(json.dumps({"times": times, "entries": entries, "errors": errors}))
"""

R2E_SETUP = """
import json, sys
from rss2email import feeds as r2e_feeds
urls, config, data = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
feeds = r2e_feeds.Feeds(configfiles=[config], datafile_path=data)
feeds.load(require=False)
for index, url in enumerate(urls):
    feeds.new_feed(name=f"farm-{index}", url=url, to="desk@example.org")
feeds.save_config()
feeds.save_feeds()
"""


def start_farm(feeds: int, items: int, hosts: int) -> tuple[subprocess.Popen[str], list[str]]:
    farm = subprocess.Popen(
        [
            sys.executable, str(HERE.parent / "testbed" / "farm.py"), "--feeds", str(feeds), "--items", str(items),
            "--hosts", str(hosts), "--faulty", "0", "--text", "reuters", "--recent",
        ],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert farm.stdout is not None
    line = farm.stdout.readline()
    if not line:
        raise SystemExit("the farm did not start")
    return farm, json.loads(line)["urls"]


def time_process(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    return elapsed, (done.stdout + done.stderr)[-2000:] if done.returncode else ""


def run_reader(urls_file: Path, work: Path, workers: int, repeat: int) -> Timing:
    try:
        import reader  # noqa: F401
    except ImportError:
        return Timing("reader", None, None, "not installed (pip install -e '.[bench]')")
    done = subprocess.run(
        [sys.executable, "-c", READER_DRIVER, str(urls_file), str(work / "reader.db"), str(workers), str(repeat)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        return Timing("reader", None, None, "failed: " + done.stderr[-500:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return timing(
        f"reader update_feeds(workers={workers})",
        result["times"],
        f"{result['entries']} entries, {result['errors']} feed errors",
    )


def run_rss2email(urls_file: Path, work: Path, repeat: int) -> Timing:
    r2e = shutil.which("r2e") or str(Path(sys.executable).parent / "r2e")
    if not Path(r2e).exists():
        return Timing("rss2email", None, None, "not installed (pip install -e '.[bench]')")
    config, data = work / "r2e.cfg", work / "r2e.json"
    config.write_text(
        "[DEFAULT]\nto = desk@example.org\nfrom = monitor-bench@example.org\n"
        "same-server-fetch-interval = 0\n",
        encoding="utf-8",
    )
    setup = subprocess.run(
        [sys.executable, "-c", R2E_SETUP, str(urls_file), str(config), str(data)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if setup.returncode:
        return Timing("rss2email", None, None, "set-up failed: " + setup.stderr[-500:])
    command = [r2e, "-c", str(config), "-d", str(data), "run", "--no-send"]
    times = []
    for _ in range(1 + repeat):
        elapsed, failure = time_process(command, work, dict(os.environ))
        if failure:
            return Timing("rss2email", None, None, "failed: " + failure[-500:])
        times.append(elapsed)
    return timing("rss2email r2e run --no-send", times)


def monitor_config(urls: list[str], work: Path, dedup: dict[str, object] | None = None) -> Path:
    """The shipped config's watches and alert over the farm's feeds, on SQLite in ``work``."""
    shipped = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text(encoding="utf-8"))
    config = {
        key: shipped[key]
        for key in ("aliases", "guards", "rules", "watches", "alerts", "smtp", "fetch")
        if key in shipped
    }
    # The known articles too, as shipped (their path is relative to the shipped config).
    config["seeds"] = [str(REPO / "config" / s) for s in shipped.get("seeds", [])]
    config["database"] = f"sqlite:///{work / 'monitor.db'}"
    config["feeds"] = [{"name": f"farm {n}", "url": url} for n, url in enumerate(urls)]
    config["ops"] = {"enabled": False}
    if dedup:
        config["dedup"] = dedup
    fetch = dict(config.get("fetch", {}))
    fetch["concurrency"] = 50
    # The farm is on loopback: open the feed guard for it (versions before fetch.allow_private
    # fetched loopback as any address).
    fetch.update(_loopback_opt_in())
    config["fetch"] = fetch
    path = work / "monitor.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _loopback_opt_in() -> dict[str, object]:
    from monitor.config import FetchSettings

    fields = FetchSettings.model_fields
    return {"allow_private": ["127.0.0.0/8"]} if "allow_private" in fields else {}


def run_monitor(
    urls: list[str], work: Path, repeat: int, dedup: dict[str, object] | None = None
) -> Timing:
    config = monitor_config(urls, work, dedup)
    script = Path(sys.executable).parent / "monitor"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]
    command = [*base, "--config", str(config), "poll"]
    env = {**os.environ, "MONITOR_LOG_LEVEL": "WARNING"}
    env.pop("MONITOR_DATABASE_URL", None)
    # Schema creation happens on a user's first command of any kind; not part of a poll.
    subprocess.run([*base, "--config", str(config), "db", "upgrade"], env=env, check=False)
    times, notes = [], []
    for _ in range(1 + repeat):
        start = time.perf_counter()
        done = subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True, check=False
        )
        times.append(time.perf_counter() - start)
        last = (done.stdout.strip().splitlines() or [""])[-1]
        notes.append(last)
        if done.returncode not in (0, 1):
            return Timing("monitor poll", None, None, "failed: " + done.stderr[-500:])
    return timing("monitor poll (whole process)", times, notes[0][:80])


def table(timings: list[Timing], feeds: int) -> None:
    print(f"\n{'system':40} {'cycle 1':>14} {'cycle 2 (304)':>14}")
    for t in timings:
        if t.cycle1 is None or t.cycle2 is None:
            print(f"{t.system:40} {'-':>14} {'-':>14}  {t.note}")
            continue
        rate = f"{t.cycle1:6.1f} s ({feeds / t.cycle1:4.0f}/s)"
        runs = "cycle 2 runs " + " ".join(f"{run:.2f}" for run in t.cycle2_runs)
        print(f"{t.system:40} {rate:>14} {t.cycle2:12.2f} s  {runs}; {t.note}")


def _by_system(timings: list[Timing]) -> dict[str, Timing]:
    return {
        t.system.split()[0]: t for t in timings if t.cycle1 is not None and t.cycle2 is not None
    }


def report(rounds: list[list[Timing]], feeds: int) -> int:
    """Each round's table, then monitor's ratios: each round's own (its systems ran within
    minutes of each other), and their median, which the targets are judged on."""
    for number, timings in enumerate(rounds, 1):
        if len(rounds) > 1:
            print(f"\nround {number} of {len(rounds)}:", end="")
        table(timings, feeds)
    found = [_by_system(timings) for timings in rounds]
    if any("monitor" not in systems for systems in found):
        print("monitor did not complete")
        return 1
    missed = 0
    print()

    def judged(
        name: str, ratios: list[float], target: float, unit: str, strictly: bool = False
    ) -> None:
        """``strictly``: the ratio must be above ``target`` ("faster than"), not reach it."""
        nonlocal missed
        middle = statistics.median(ratios)
        missed += middle <= target if strictly else middle < target
        each = ", ".join(f"{r:.2f}" for r in ratios)
        spread = f" (rounds: {each})" if len(ratios) > 1 else ""
        wanted = f"{'>' if strictly else '>='} {target:g}"
        print(f"{name}: monitor is {middle:.2f}{unit}{spread} (target {wanted}{unit})")

    if all("reader" in systems for systems in found):
        judged(
            "cycle 1",
            [s["reader"].cycle1 / s["monitor"].cycle1 for s in found],
            3,
            "x reader's speed",
        )
        judged(
            "cycle 2",
            [s["reader"].cycle2 / s["monitor"].cycle2 for s in found],
            2,
            "x reader's speed",
        )
    if all("rss2email" in systems for systems in found):
        judged(
            "cycle 2",
            [s["rss2email"].cycle2 / s["monitor"].cycle2 for s in found],
            1,
            "x rss2email's speed",
            strictly=True,
        )
    if not all("reader" in s and "rss2email" in s for s in found):
        print("(a peer did not run: its targets are not judged)")
    print("all judged targets met" if not missed else f"{missed} target(s) missed")
    return 1 if missed else 0


SYSTEMS = ("reader", "rss2email", "monitor")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--workers", type=int, default=16, help="reader's worker threads")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="cycle 2 runs per system, of which the median counts (a single run of about a "
        "second moves by a tenth with the machine's load)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="every system from a cold start this many times, in turn; the targets are judged "
        "on the median of each round's ratios (one cold cycle moves by a sixth with the load)",
    )
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help="comma-separated, in run order"
    )
    parser.add_argument(
        "--dedup",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a dedup setting for monitor (e.g. memory_index=true); repeatable",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.repeat < 1:
        parser.error("--rounds and --repeat must be at least 1")
    systems = args.systems.split(",")
    unknown = [name for name in systems if name not in SYSTEMS]
    if unknown:  # before the farm starts and the first peer runs for a minute
        parser.error(f"--systems: unknown {', '.join(unknown)} (known: {', '.join(SYSTEMS)})")
    dedup = {key: yaml.safe_load(value) for key, value in (d.split("=", 1) for d in args.dedup)}
    farm, urls = start_farm(args.feeds, args.items, args.hosts)
    print(f"farm: {len(urls)} feeds x {args.items} items of Reuters-21578 text, {args.hosts} hosts")
    rounds: list[list[Timing]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
            root = Path(tmp)
            urls_file = root / "urls.json"
            urls_file.write_text(json.dumps(urls), encoding="utf-8")
            for number in range(args.rounds):
                timings: list[Timing] = []
                for system in systems:
                    work = root / f"{system}-{number}"  # a cold start: nothing of a round before
                    work.mkdir()
                    if system == "reader":
                        timings.append(run_reader(urls_file, work, args.workers, args.repeat))
                    elif system == "rss2email":
                        timings.append(run_rss2email(urls_file, work, args.repeat))
                    else:
                        timings.append(run_monitor(urls, work, args.repeat, dedup))
                    print(f"  round {number + 1}: {timings[-1]}", flush=True)
                rounds.append(timings)
    finally:
        assert farm.stdin is not None
        farm.stdin.close()
        farm.wait(20)
    return report(rounds, len(urls))


if __name__ == "__main__":
    sys.exit(main())
