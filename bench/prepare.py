"""CPU a parser worker spends per entry: ``python bench/prepare.py``.

Two corpora, read at run time: every file of ``../shared/realfeeds`` (200 feeds
as sites served them) and Reuters farm documents (``testbed/farm.py``, 30 real
Reuters-21578 stories per feed, as ``bench/peers.py`` serves them). For each,
it times with CPU time (``time.process_time``: fair on a shared machine), on one
core, the stages a worker runs on a feed's body:

* ``parse``: :func:`monitor.sources.parse_document` (fast path, fallback);
* ``boilerplate``: :func:`monitor.prepare.without_boilerplate`;
* ``fingerprint``: :func:`monitor.dedup.features.fingerprint_entries`, one call per
  document, as a worker runs it;
* ``parse+prepare``: the worker's whole job, :func:`monitor.prepare.parse_and_prepare`,
  with no watches (rule matching is timed by ``bench/rules.py``).

Prints entries/s and CPU microseconds per entry for each; ``--repeat N`` (default 3)
keeps the best of N rounds, ``--feeds N`` sets how many Reuters documents (default 200).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.dedup.features import fingerprint_entries
from monitor.dedup.scheme import V1
from monitor.errors import ParseError
from monitor.prepare import Recipe, RuleSource, parse_and_prepare, without_boilerplate
from monitor.sources import parse_document
from monitor.types import Entry, ParsedFeed
from testbed.farm import rss_body

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "realfeeds"
ITEMS_PER_FEED = 30

Doc = tuple[str, bytes]
RECIPE = Recipe(RuleSource.of((), {}), V1, 3, fast=True, limits=None)


def _url(name: str) -> str:
    return f"https://bench.test/{name}"


def _parsed(docs: list[Doc]) -> list[ParsedFeed]:
    found = []
    for name, content in docs:
        try:
            found.append(parse_document(content, _url(name), name))
        except ParseError:
            continue
    return found


def _cpu(work: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def _stages(docs: list[Doc], repeat: int) -> tuple[list[tuple[str, float]], int]:
    parsed = _parsed(docs)
    entries: list[Entry] = [entry for feed in parsed for entry in feed.entries]

    def whole() -> None:
        for name, content in docs:
            try:
                parse_and_prepare(content, _url(name), name, None, None, None, RECIPE)
            except ParseError:
                continue

    return [
        ("parse", _cpu(lambda: _parsed(docs), repeat)),
        ("boilerplate", _cpu(lambda: [without_boilerplate(f.entries) for f in parsed], repeat)),
        ("fingerprint", _cpu(lambda: [fingerprint_entries(f.entries) for f in parsed], repeat)),
        ("parse+prepare", _cpu(whole, repeat)),
    ], len(entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Parser-worker CPU per entry.")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--feeds", type=int, default=200, help="Reuters farm documents")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.feeds < 1:
        parser.error("--repeat and --feeds must be at least 1")
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 1
    warnings.simplefilter("ignore")  # feedparser's deprecation notices are not the point here
    corpora = {
        "realfeeds": [
            (path.name, path.read_bytes())
            for path in sorted(args.corpus.iterdir())
            if path.is_file() and path.name != "README.md"
        ],
        "reuters": [
            (f"farm-{index}", rss_body(index, ITEMS_PER_FEED, text="reuters"))
            for index in range(args.feeds)
        ],
    }
    for label, docs in corpora.items():
        stages, count = _stages(docs, args.repeat)
        if not count:
            print(f"{label}: no entries to time in {len(docs)} documents", file=sys.stderr)
            return 1
        print(f"{label}: {len(docs)} documents, {count} entries (CPU time, best of {args.repeat})")
        for stage, seconds in stages:
            print(
                f"  {stage:<14} {seconds:7.2f} s {count / seconds:9.0f} entries/s "
                f"{seconds / count * 1e6:7.0f} us/entry"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
