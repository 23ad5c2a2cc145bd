"""Parse throughput on the real-world corpus, both paths: ``python bench/parse.py``.

Reads every file of ``../shared/realfeeds`` (200 feeds as sites served them)
into memory, then times, on one core:

* ``feedparser``: :func:`parse_feed` with ``fast=False``, feedparser for all;
* ``fast+fallback``: :func:`parse_feed` as the pipeline calls it (the lxml fast
  path, feedparser for what it steps aside from);
* ``fast only`` and ``feedparser, same files``: the files the fast path takes,
  through each path, for a like-for-like ratio.

Each prints files/s, MB/s and entries/s (entries turned into :class:`Entry`
values, HTML to text included). ``--pool`` adds the fast+fallback path through
:class:`ParserPool` (all cores). ``--repeat N`` takes the best of N rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.errors import ParseError
from monitor.parse.feed import parse_fast, parse_feed
from monitor.parse.pool import ParserPool

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "realfeeds"

Doc = tuple[str, bytes]


def _run(docs: list[Doc], parse: Callable[[bytes, str, str], object]) -> tuple[float, int]:
    entries = 0
    started = time.perf_counter()
    for name, content in docs:
        try:
            feed = parse(content, f"https://realfeeds.test/{name}", name)
        except ParseError:
            continue
        entries += len(getattr(feed, "entries", ()) or ())
    return time.perf_counter() - started, entries


def _line(label: str, docs: list[Doc], seconds: float, entries: int) -> str:
    size = sum(len(content) for _, content in docs) / 1e6
    return (
        f"{label:<26} {len(docs):4d} files {size:6.1f} MB {seconds:7.2f} s  "
        f"{len(docs) / seconds:8.1f} files/s {size / seconds:7.2f} MB/s "
        f"{entries / seconds:9.0f} entries/s"
    )


def _best(
    docs: list[Doc], parse: Callable[[bytes, str, str], object], repeat: int
) -> tuple[float, int]:
    runs = [_run(docs, parse) for _ in range(repeat)]
    return min(runs)


async def _pooled(docs: list[Doc]) -> tuple[float, int]:
    async with ParserPool() as pool:
        await pool.parse(docs[0][1], "https://warm.up/", "w")  # start the workers first
        started = time.perf_counter()

        async def one(name: str, content: bytes) -> int:
            try:
                return len(
                    (await pool.parse(content, f"https://realfeeds.test/{name}", name)).entries
                )
            except ParseError:
                return 0

        counts = await asyncio.gather(*(one(name, content) for name, content in docs))
        return time.perf_counter() - started, sum(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Parse throughput, fast path vs feedparser.")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pool", action="store_true", help="also time the ParserPool (all cores)")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 1
    warnings.simplefilter("ignore")  # feedparser's deprecation notices are not the point here
    docs = [
        (path.name, path.read_bytes())
        for path in sorted(args.corpus.iterdir())
        if path.is_file() and path.name != "README.md"
    ]
    taken = [
        (name, content)
        for name, content in docs
        if parse_fast(content, f"https://realfeeds.test/{name}", name) is not None
    ]
    slow = _best(docs, lambda c, u, n: parse_feed(c, u, n, fast=False), args.repeat)
    mixed = _best(docs, parse_feed, args.repeat)
    fast_only = _best(taken, parse_fast, args.repeat)
    slow_same = _best(taken, lambda c, u, n: parse_feed(c, u, n, fast=False), args.repeat)
    print(f"corpus: {args.corpus} ({len(docs)} files; the fast path takes {len(taken)})")
    print(_line("feedparser", docs, *slow))
    print(_line("fast+fallback", docs, *mixed))
    print(_line("fast only", taken, *fast_only))
    print(_line("feedparser, same files", taken, *slow_same))
    print(
        f"speed-up: {slow[0] / mixed[0]:.1f}x on the corpus, {slow_same[0] / fast_only[0]:.1f}x where the fast path applies"
    )
    if args.pool:
        print(_line("fast+fallback, ParserPool", docs, *asyncio.run(_pooled(docs))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
