"""The pipeline's database writer: one thread, jobs in turn, several to a transaction.

A poll cycle's database work (a feed's state, its new entries with their
duplicate lookups, its poll record) runs here, one job at a time, so a feed's
entries are stored before the next feed's are judged against them and the
event loop never waits on the database.

Jobs that queue up while one runs are committed together (*group commit*):
the near-duplicate index takes some forty rows per entry at random places in
its B-tree, so a commit writes out pages all over it, and one commit for many
feeds writes each such page once instead of once per feed. A group is closed
after ``max_jobs`` jobs or ``max_seconds`` of work, so no job waits long for
its commit and the write lock is never held for long. A second by default: a
cold cycle's feeds of 30 new items take some 25 ms each here, and half a second
cut groups short of the ``fetch.parse_ahead`` feeds that wait for them.

A job's result is handed back only after its group committed. If any job of a
group fails, the group is rolled back and its jobs run again one at a time,
each in its own transaction, so only the failing one fails. A job must
therefore leave no trace outside the database before the commit: it returns
its result with an optional ``after`` callback that the writer calls once the
commit has succeeded (cache updates, metrics), and ``on_rollback`` lets the
owner drop anything it might have learnt from rows that were rolled back.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from monitor.store.store import Store

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_I = TypeVar("_I")
_R = TypeVar("_R")
After = Callable[[], None] | None
_STOP = object()  # the stop marker, when it is met while a group is being filled


@dataclass(frozen=True, slots=True)
class Done(Generic[_T]):
    """What a job returns: its result, and what to do once it is committed."""

    result: _T
    after: After = None


@dataclass(slots=True)
class _Job:
    run: Callable[[], Done[Any]]
    future: Future[Any] = field(default_factory=Future)


class Writer:
    """``async with Writer(store) as writer: result = await writer.run(job)``."""

    def __init__(
        self,
        store: Store,
        max_jobs: int = 64,
        max_seconds: float = 1.0,
        on_rollback: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.max_jobs = max_jobs
        self.max_seconds = max_seconds
        self.on_rollback = on_rollback
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # Taken to queue a job and to close: no job can slip in behind the stop marker.
        self._lock = threading.Lock()
        self._closed = False

    async def __aenter__(self) -> Writer:
        self._thread = threading.Thread(target=self._loop, name="monitor-store", daemon=True)
        self._thread.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with self._lock:
            self._closed = True
            self._queue.put(None)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    async def run(self, job: Callable[[], Done[_T]]) -> _T:
        """Run ``job`` in the writer thread; its result once its transaction committed."""
        item = _Job(job)
        with self._lock:
            if self._thread is None or self._closed:
                raise RuntimeError("the writer is not running")
            self._queue.put(item)
        result: _T = await asyncio.wrap_future(item.future)
        return result

    # --- the thread ----------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                # A job whose caller stopped waiting (its task was cancelled) is not run.
                if first.future.set_running_or_notify_cancel() and self._run_group([first]):
                    return
        finally:
            with self._lock:
                self._closed = True
            self._fail_queued()

    def _fail_queued(self) -> None:
        """Whatever is still queued when the thread ends fails, rather than waiting forever."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None and job.future.set_running_or_notify_cancel():
                job.future.set_exception(RuntimeError("the writer stopped before this job ran"))

    def _run_group(self, group: list[_Job]) -> bool:
        """Run ``group`` and whatever queues up behind it (within the limits) in one
        transaction; True when the stop marker was taken off the queue meanwhile."""
        stopping = False
        done: list[Done[Any]] = []
        started = time.monotonic()
        try:
            with self.store.transaction():
                while True:
                    done.append(group[len(done)].run())
                    if len(done) < len(group):
                        continue
                    more = self._next(len(group), started)
                    if more is None:
                        break
                    if not isinstance(more, _Job):
                        stopping = True
                        break
                    group.append(more)
        except Exception:  # every job is retried alone, and fails alone
            self._rolled_back()
            for job in group:
                self._run_alone(job)
            return stopping
        except BaseException as exc:  # not a job's own failure: fail them all, end the thread
            self._rolled_back()
            for job in group:
                job.future.set_exception(exc)
            log.critical("the database writer stopped: %r", exc)
            return True
        for job, outcome in zip(group, done, strict=True):
            self._finish(job, outcome)
        return stopping

    def _next(self, taken: int, started: float) -> _Job | object | None:
        """The next job to add to the group, ``_STOP``, or None to close the group."""
        while taken < self.max_jobs and time.monotonic() - started <= self.max_seconds:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return None
            if more is None:
                return _STOP
            if more.future.set_running_or_notify_cancel():
                return more
            # else its caller stopped waiting: skip it and look further
        return None

    def _run_alone(self, job: _Job) -> None:
        try:
            with self.store.transaction():
                outcome = job.run()
        except BaseException as exc:  # handed to the waiting coroutine
            self._rolled_back()
            job.future.set_exception(exc)
            return
        self._finish(job, outcome)

    def _rolled_back(self) -> None:
        if self.on_rollback is not None:
            try:
                self.on_rollback()
            except Exception:
                log.exception("rollback hook failed")

    def _finish(self, job: _Job, outcome: Done[Any]) -> None:
        if outcome.after is not None:
            try:
                outcome.after()
            except BaseException:  # an after-commit hook must not lose the committed result
                log.exception("after-commit step failed")
        job.future.set_result(outcome.result)


class Batched(Generic[_I, _R]):
    """Items that many coroutines hand in one at a time and one writer job takes together:
    ``result = await batched.add(item)``, once the job that took ``item`` has committed.

    ``run`` gets a list of items and returns one result per item, in order. One job is
    queued or running at a time; what is added meanwhile waits for the next, which takes
    all of it, so the busier the writer the larger its batches, and an item never waits
    for more than the job before its own. A job that fails fails each of its items (the
    writer has already retried it alone). Use from the writer's event loop only.
    """

    def __init__(self, writer: Writer, run: Callable[[list[_I]], list[_R]]) -> None:
        self._writer = writer
        self._run = run
        self._waiting: list[tuple[_I, asyncio.Future[_R]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def add(self, item: _I) -> _R:
        future: asyncio.Future[_R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                # An item whose coroutine stopped waiting before its job began is dropped.
                batch = [(item, future) for item, future in self._waiting if not future.done()]
                self._waiting = []
                if not batch:
                    continue
                job = partial(self._job, [item for item, _ in batch])
                try:
                    results = await self._writer.run(job)
                except asyncio.CancelledError:
                    for _, future in batch + self._waiting:
                        future.cancel()
                    raise
                except BaseException as exc:  # handed to each of the batch's coroutines
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # its waiter may have been cancelled
                        future.set_result(result)
        finally:
            self._flushing = None

    def _job(self, items: list[_I]) -> Done[list[_R]]:
        return Done(self._run(items))
