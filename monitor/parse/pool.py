"""Parsing off the event loop: a pool of worker processes, one per core.

Parsing is CPU work (feedparser takes a fifth of a second on a 1 MB feed);
on the event loop it would stall every download in flight, and in a thread
the GIL would do the same. So :class:`ParserPool` hands the bytes to a
``ProcessPoolExecutor`` and awaits the :class:`ParsedFeed`.

* Workers start with ``forkserver`` (``spawn`` where there is none): forking a
  process that runs an event loop, httpx and database connections is unsafe.
* Errors cross the process boundary as values: a :class:`ParseError` does not
  pickle back with its ``url`` and ``reason``, so the worker returns them and
  the pool raises the ParseError again on this side.
* A worker that dies (a segfault in a C parser, the OOM killer) breaks the
  executor; the feed being parsed gets a ParseError and the pool starts afresh
  for the next one, so one poisonous feed never stops the others.
* Tiny documents still go through the pool: the hop costs well under a
  millisecond and keeps behaviour the same for all sizes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from monitor.errors import ParseError
from monitor.parse.feed import parse_feed
from monitor.types import ParsedFeed

Outcome = tuple[ParsedFeed | None, str | None]


def _work(
    content: bytes,
    url: str,
    name: str,
    content_type: str | None,
    fast: bool,
    base: str | None = None,
) -> Outcome:
    """Runs in a worker: the parsed feed, or the ParseError's reason."""
    try:
        return parse_feed(content, url, name, content_type, fast=fast, base=base), None
    except ParseError as exc:
        return None, exc.reason


def default_workers(configured: int = 0) -> int:
    """``configured`` if set, else one worker per core available to this process."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class ParserPool:
    """``async with ParserPool() as pool: feed = await pool.parse(content, url, name, ctype)``."""

    def __init__(self, workers: int = 0, fast: bool = True) -> None:
        self.workers = default_workers(workers)
        self.fast = fast
        self._executor: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            method = (
                "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            )
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(method)
            )
        return self._executor

    async def __aenter__(self) -> ParserPool:
        self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    async def parse(
        self,
        content: bytes,
        url: str,
        name: str,
        content_type: str | None = None,
        base: str | None = None,
    ) -> ParsedFeed:
        """Parse in a worker process; raises :class:`ParseError` like ``parse_feed``.

        ``base``: the URL the body came from after redirects (see ``parse_feed``).
        """
        executor = self._start()
        loop = asyncio.get_running_loop()
        try:
            parsed, reason = await loop.run_in_executor(
                executor, _work, content, url, name, content_type, self.fast, base
            )
        except BrokenProcessPool as exc:
            self._discard(executor)
            raise ParseError(url, "the parser process died on this feed") from exc
        if parsed is None:
            raise ParseError(url, reason or "parser failed")
        return parsed

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        """Drop a broken executor (once, however many parses saw it break)."""
        if self._executor is executor:
            self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
