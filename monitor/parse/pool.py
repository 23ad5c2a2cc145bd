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
* A parse that outlives ``timeout`` (a pathological document, a parser stuck
  in a loop) fails its feed with a ParseError, and the pool's processes are
  stopped and replaced, since one stuck worker cannot be told apart from the
  others; parses in flight on the same pool fail with a reason saying so, and
  their feeds are simply polled again next time.
* Workers die with the daemon, even one killed with SIGKILL
  (:mod:`monitor.parse.lifeline`): no orphaned workers, forkserver or resource tracker.
* Workers share what they load: the forkserver imports the parser and the modules the
  caller names (``preload``: the pipeline's per-entry preparation, with its rules and
  fingerprints) once, before it forks any worker, and each worker freezes what it
  inherited (``gc.freeze``), so that its collections never write to those pages and
  they stay shared instead of being copied into every worker.
* Tiny documents still go through the pool: the hop costs well under a
  millisecond and keeps behaviour the same for all sizes.
* :meth:`ParserPool.run` runs a whole job the caller names (the pipeline's
  parse-and-prepare, :func:`monitor.prepare.parse_and_prepare`) in a worker and
  returns its result as a value: the pool calls nothing back, and the entries
  cross back once, already keyed, fingerprinted and matched.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, TypeVar

from monitor.collector import collect_less
from monitor.errors import ParseError
from monitor.parse import lifeline
from monitor.parse.limits import ItemLimits
from monitor.sources import parse_document
from monitor.types import ParsedFeed

_T = TypeVar("_T")
log = logging.getLogger(__name__)


def _call(job: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, str | None]:
    """Runs in a worker: ``job(*args)``, or the reason of the ParseError it raised (which
    would not cross back with its url and reason)."""
    try:
        return job(*args), None
    except ParseError as exc:
        return None, exc.reason


def _parse(
    content: bytes,
    url: str,
    name: str,
    content_type: str | None,
    fast: bool,
    base: str | None,
    limits: ItemLimits | None,
    kind: str | None,
) -> ParsedFeed:
    """Runs in a worker: the parsed feed, of source type ``kind`` (else sniffed)."""
    return parse_document(
        content, url, name, content_type, fast=fast, base=base, limits=limits, kind=kind
    )


WORKER_JOBS = ("monitor.prepare",)
"""The module whose job a poll runs in the workers (:func:`monitor.prepare.parse_and_prepare`),
for the forkserver to import before it forks them; named, not imported, so that starting
the forkserver ahead (:func:`start_forkserver`) costs the polling process no import."""


def _preload(modules: Sequence[str]) -> list[str]:
    """What the forkserver imports: ``__main__``, as multiprocessing does by default (so
    that no worker runs the program's main module again on its own), the parser, and
    ``modules``."""
    return ["__main__", __name__, *modules]


def start_forkserver(preload: Sequence[str] = WORKER_JOBS) -> bool:
    """Start the process the workers are forked from now, importing ``preload`` (see the
    module docstring), ahead of the first :class:`ParserPool` that will use it: its
    imports then run beside the rest of the caller's start-up. False where there is no
    forkserver (the pool spawns its workers) or one runs already (its preload stands)."""
    from multiprocessing import forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_preload(preload))
    forkserver.ensure_running()
    return True


_BODIES_PER_WORKER = 2
"""Bodies handed to each worker process at once (see ``ParserPool._slots``)."""


def _nothing() -> None:
    """Runs in a worker: the job that makes the pool start its processes (:meth:`ParserPool.warm`)."""


def _worker_start(lifeline_end: Connection) -> None:
    """Worker initializer. Freezing first: everything imported in the forkserver (the
    parser, the rules, the fingerprints) moves to the collector's permanent generation, so
    no collection in this worker ever touches it and its pages stay shared; then fewer
    collections (:mod:`monitor.collector`)."""
    gc.freeze()
    collect_less()
    lifeline.hold(lifeline_end)


def default_workers(configured: int = 0) -> int:
    """``configured`` if set, else one worker per core available to this process."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class _Slots:
    """``size`` places at a time, on whichever event loop is running (an asyncio semaphore
    belongs to one loop, and the CLI runs each poll cycle on a fresh one)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore = asyncio.Semaphore(size)

    def __call__(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.size)
        return self._semaphore


class ParserPool:
    """``async with ParserPool() as pool: feed = await pool.parse(content, url, name, ctype)``."""

    def __init__(
        self,
        workers: int = 0,
        fast: bool = True,
        timeout: float | None = None,
        limits: ItemLimits | None = None,
        preload: Sequence[str] = (),
    ) -> None:
        self.workers = default_workers(workers)
        self.preload = tuple(_preload(preload))
        """Modules the forkserver imports before forking the workers (see the module
        docstring and :func:`_preload`), unless it was started ahead with its own."""
        self.fast = fast
        self.limits = limits
        """Caps on a document's items and fields (``parse_document``); None: none."""
        self.timeout = timeout
        """Seconds one parse may take before its worker is stopped (None: no limit),
        counted from when the body is handed to a worker, which may have one other body to
        finish first: a stuck parse is stopped after one to two times this."""
        self._executor: ProcessPoolExecutor | None = None
        self._stopped: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()  # hung ones
        # Two bodies per worker: the one it parses and the next, waiting beside it in the
        # call queue. With one, a worker sat idle through every hand-over (the result back
        # to the event loop, the next body out), which on a busy poller took longer than
        # the parse: a cold cycle of 1,000 feeds took 15 % longer. A body so may wait behind
        # one other parse, itself bounded by the timeout, hence the doubled deadline.
        self._slots = _Slots(self.workers * _BODIES_PER_WORKER)
        self._deadline = None if timeout is None else timeout * _BODIES_PER_WORKER
        self._threads: ThreadPoolExecutor | None = None  # for small documents (run_in_thread)
        self._thread_slots = _Slots(self.workers)
        self._lifeline: tuple[Connection, Connection] | None = None
        """The pipe whose write end, held here only, keeps the workers alive."""
        self._warming: Future[None] | None = None
        """Done once the processes :meth:`warm` started in a thread are up."""

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            method = (
                "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            )
            context = multiprocessing.get_context(method)
            if method == "forkserver":  # heeded when the forkserver starts (the first pool)
                context.set_forkserver_preload(list(self.preload))
            if self._lifeline is None:
                self._lifeline = context.Pipe(duplex=False)
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_worker_start,
                initargs=(self._lifeline[0],),
            )
        return self._executor

    def warm(self) -> None:
        """Start the worker processes now, in a thread, when parsing is about to come (a
        cold cycle): starting them blocks for a good part of a second (the forkserver
        imports the parser, the rules and the fingerprints before it forks), which on the
        first parse would hold up the event loop and every download's hand-over with it."""
        if self._executor is not None or self._warming is not None:
            return
        warming: Future[None] = Future()
        self._warming = warming

        def start() -> None:
            try:
                self._start().submit(_call, _nothing, ()).result()
            except Exception as exc:  # the first parse starts the pool afresh and says why
                log.warning("could not start the parser processes ahead: %r", exc)
            finally:
                warming.set_result(None)

        threading.Thread(target=start, name="monitor-parse-start", daemon=True).start()

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

    def close(self, grace: float = 10.0) -> None:
        """Stop the workers: ``grace`` seconds to finish what they are parsing, then killed
        (a stuck parser must not hold up a shutdown or a reload)."""
        if self._warming is not None:
            with contextlib.suppress(FutureTimeout):
                self._warming.result(grace)  # a pool still starting is stopped once up
            self._warming = None
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None
        executor, self._executor = self._executor, None
        if executor is not None:
            processes = list((getattr(executor, "_processes", None) or {}).values())
            manager = getattr(executor, "_executor_manager_thread", None)
            executor.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + grace
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join(1.0)
            # With the workers gone the executor's own thread ends at once, letting go of
            # its queues, whose semaphores are then released: left to a process that ends
            # with os._exit (monitor poll), they would be reported as leaked on stderr.
            if manager is not None:
                manager.join(max(0.0, deadline - time.monotonic()) + 1.0)
                del manager
        if self._lifeline is not None:
            for end in self._lifeline:
                end.close()
            self._lifeline = None

    async def parse(
        self,
        content: bytes,
        url: str,
        name: str,
        content_type: str | None = None,
        base: str | None = None,
        kind: str | None = None,
    ) -> ParsedFeed:
        """Parse in a worker process; raises :class:`ParseError` like ``parse_document``.

        ``base``: the URL the body came from after redirects; ``kind``: the feed's source
        type, when its config names one (see :mod:`monitor.sources`).
        """
        return await self.run(
            url, _parse, content, url, name, content_type, self.fast, base, self.limits, kind
        )

    async def run(self, url: str, job: Callable[..., _T], *args: Any) -> _T:
        """``job(*args)`` in a worker process, under the same deadline and crash handling as
        a parse (``url`` names the feed in their errors); its result, returned as a value.

        ``job`` must be a module-level function and ``args`` and its result picklable. It
        is the whole of the work: the pool calls nothing back, and a ParseError the job
        raises is raised again here with its url and reason.
        """
        async with self._slots():
            if self._executor is None:
                # Started in a thread, never here: the caller's loop is the downloads' own,
                # and starting the processes blocks for a good part of a second.
                self.warm()
            if self._warming is not None and not self._warming.done():
                await asyncio.wrap_future(self._warming)
            executor = self._start()  # up now, unless starting ahead failed (then: here)
            future = asyncio.get_running_loop().run_in_executor(executor, _call, job, args)
            try:
                result, reason = await asyncio.wait_for(future, self._deadline)
            except TimeoutError as exc:
                self._stop(executor)
                raise ParseError(
                    url, f"parsing took longer than {self.timeout:g}s; the parser was stopped"
                ) from exc
            except BrokenProcessPool as exc:
                if executor in self._stopped:
                    raise ParseError(
                        url,
                        "the parser was restarted because another feed hung it; retried next poll",
                    ) from exc
                self._discard(executor)
                raise ParseError(url, "the parser process died on this feed") from exc
        if reason is not None:
            raise ParseError(url, reason)
        done: _T = result
        return done

    async def run_in_thread(self, work: Callable[[], _T], url: str) -> _T:
        """Run ``work`` (a small document's parse) in one of the pool's own threads, under
        the same deadline. A thread cannot be stopped: one that overruns is abandoned and
        finishes in the background, but it never holds up the event loop's own executor
        (the scheduler and the relay use that one)."""
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="monitor-parse")
        async with self._thread_slots():
            future = asyncio.get_running_loop().run_in_executor(self._threads, work)
            try:
                return await asyncio.wait_for(future, self.timeout)
            except TimeoutError as exc:
                raise ParseError(url, f"parsing took longer than {self.timeout:g}s") from exc

    def _stop(self, executor: ProcessPoolExecutor) -> None:
        """Kill the executor's processes (one of them is stuck) and start afresh next time."""
        self._stopped.add(executor)
        processes = list((getattr(executor, "_processes", None) or {}).values())
        for process in processes:
            process.kill()
        self._discard(executor)

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        """Drop a broken executor (once, however many parses saw it break)."""
        if self._executor is executor:
            self._executor = None
            self._warming = None  # the next parse starts the processes afresh, ahead
            executor.shutdown(wait=False, cancel_futures=True)
