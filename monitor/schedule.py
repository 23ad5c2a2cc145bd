"""The daemon: claim loops ticked by APScheduler 3, until SIGTERM or SIGINT.

Work is decided in the database, not by each process's timers, so any number
of replicas can share one PostgreSQL database (or one replica its SQLite file):

* **feeds**: every ``replica.tick`` a replica leases the feeds that are due
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a compare-and-set on SQLite),
  polls them, and records each one's next due time (interval with jitter,
  backoff after failures, Retry-After) as it releases the lease. A replica
  that dies mid-poll leaves a lease that expires after ``replica.feed_lease``;
  the next tick of any replica takes the feed over.
* **digests**: each alert's next due time is a row; the replica that moves it
  forward (compare-and-set on the old value) sends that digest. A time that
  passed while every replica was down is due at once on start.
* **deliveries**: pending sends are leased before they go out, so two
  replicas never send the same one; an expired lease is picked up again.
* **retention**: every ``retention.interval`` one replica (a job lease) deletes
  what has grown old (:mod:`monitor.store.retention`).

APScheduler only ticks these loops (``coalesce``, ``max_instances=1``: a slow
tick never overlaps itself). A failing tick is logged and the next one runs.
``SIGHUP`` reloads the config (an invalid one is logged and the old one
kept); the ops endpoint serves /healthz, /readyz and /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import AlertConfig, Config
from monitor.cron import cron_trigger
from monitor.errors import MonitorError
from monitor.ops import metrics
from monitor.ops.failpoints import failpoint
from monitor.ops.server import OpsServer
from monitor.pipeline import Pipeline
from monitor.store.base import Sessions
from monitor.store.retention import Cutoffs, prune_turn
from monitor.store.schedules import AlertSchedules
from monitor.words import counted

log = logging.getLogger(__name__)

MAX_CLAIM_ROUNDS = 50  # claims per tick before yielding to the other loops


def replica_id(config: Config) -> str:
    return config.replica.id or f"{socket.gethostname()}:{os.getpid()}"


def orphaned(owners: set[str], me: str, host: str, alive: Callable[[int], bool]) -> list[str]:
    """Lease owners that cannot be running: this replica's own id from an earlier life,
    or ``host:pid`` ids of this host whose process is gone. Other hosts' leases expire."""
    dead = []
    for owner in owners:
        name, _, pid = owner.rpartition(":")
        if (owner == me and not me.endswith(f":{os.getpid()}")) or (
            name == host and pid.isdigit() and owner != me and not alive(int(pid))
        ):
            dead.append(owner)
    return sorted(dead)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def next_fire(alert: AlertConfig, after: datetime) -> datetime:
    """The first time the alert's cron fires strictly after ``after``."""
    trigger = cron_trigger(alert.schedule, alert.timezone)
    fire: datetime | None = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    if fire is None:  # a cron that never fires again cannot be configured, but be safe
        return after + timedelta(days=3650)
    return fire.replace(microsecond=0)


def when_due(due: datetime | None, now: datetime, timezone: str = "UTC") -> str:
    """``now``, or ``at 2026-12-05 08:00 EST (in 3h 12m)``, for a log line."""
    if due is None or due <= now:
        return "now"
    seconds = int((due - now).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    wait = " ".join([f"{n}{unit}" for n, unit in parts if n][:2]) or "0s"  # two units suffice
    local = due.astimezone(ZoneInfo(timezone))
    return f"at {local:%Y-%m-%d %H:%M:%S %Z} (in {wait})"


def retention_cutoffs(config: Config, now: datetime) -> Cutoffs:
    return Cutoffs(now - config.retention.entries, now - config.retention.deliveries)


def prune_now(
    store: Sessions, config: Config, owner: str, clock: Callable[[], datetime]
) -> dict[str, int] | None:
    """Delete what retention says is old, unless another replica is at it (None); count it."""
    cutoffs = retention_cutoffs(config, clock())
    deleted = prune_turn(
        store, cutoffs, config.retention.batch, owner, clock, config.replica.feed_lease
    )
    for table, count in (deleted or {}).items():
        metrics.PRUNED.labels(table).inc(count)
    if deleted and any(deleted.values()):
        log.info(
            "pruned old rows: %s",
            ", ".join(f"{n} {table}" for table, n in deleted.items() if n),
            extra={"replica": owner},
        )
    return deleted


def _sizes(config: Config) -> str:
    return (
        f"{counted(len(config.feeds), 'feed')}, {counted(len(config.watches), 'watch', 'watches')}, "
        f"{counted(len(config.alerts), 'alert')}"
    )


def schedule_key(alert: AlertConfig) -> str:
    return f"{alert.schedule} {alert.timezone}"


class Daemon:
    """Owns the scheduler, the ops endpoint and the current pipeline of ``monitor run``."""

    def __init__(self, pipeline: Pipeline, reload: Callable[[], Pipeline] | None = None) -> None:
        self.pipeline = pipeline
        self.owner = replica_id(pipeline.config)
        self._reload = reload
        self.scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
        )
        self.scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Future[object]] = set()
        self.ops: OpsServer | None = None
        metrics.LEDGER.source = self._ledger_counts

    def _ledger_counts(self) -> dict[tuple[str, str, str], int]:
        # Looked up on every scrape: a reload may have swapped the pipeline.
        return self.pipeline.store.delivery_counts()

    def _on_error(self, event: JobExecutionEvent) -> None:
        log.error("job %s failed: %r", event.job_id, event.exception, extra={"replica": self.owner})

    # --- the loops ---------------------------------------------------------------------

    async def poll_tick(self) -> int:
        """Claim due feeds and poll them, round after round, until none is due."""
        if self._stop.is_set():
            return 0  # stopping: claim nothing new
        pipeline = self.pipeline
        config = pipeline.config
        by_url = {feed.url: feed for feed in config.feeds}
        polled = 0
        for _ in range(MAX_CLAIM_ROUNDS):
            if self._stop.is_set():
                break
            now = pipeline.clock()
            # Every database call of the daemon runs off the event loop: a locked or slow
            # database must not stop /healthz from answering.
            claims = await asyncio.to_thread(
                pipeline.store.claim_due_feeds,
                self.owner,
                now,
                now + config.replica.feed_lease,
                config.replica.claim_batch,
                share=config.replica.claim_share,
                minimum=config.fetch.concurrency,
            )
            if not claims:
                break
            failpoint("after-claim")
            for claim in claims:
                if claim.taken_over:
                    metrics.LEASE_TAKEOVERS.inc()
                    log.warning(
                        "feed %s: taking over an expired lease",
                        claim.url,
                        extra={"feed": claim.url},
                    )
            feeds = [by_url[c.url] for c in claims if c.url in by_url]
            summary = await pipeline.poll(feeds, owner=self.owner)
            polled += len(feeds)
            if summary.new and any(alert.immediate for alert in config.alerts):
                await asyncio.to_thread(pipeline.send_immediate)
        if polled:
            await asyncio.to_thread(self.log_next_due)
        return polled

    async def digest_tick(self) -> None:
        """Send the digest of every alert whose due time has come, if this replica wins it."""
        if self._stop.is_set():
            return
        pipeline = self.pipeline
        now = pipeline.clock()
        ran = False
        for alert in pipeline.config.alerts:
            if not await asyncio.to_thread(self._win_run, pipeline, alert, now):
                continue  # not due, or another replica took this run
            try:
                await asyncio.to_thread(pipeline.send_digest, alert, False, self.owner)
            except MonitorError as exc:
                log.error(
                    "alert %s: digest run failed: %s", alert.name, exc, extra={"alert": alert.name}
                )
            ran = True
        if ran:
            await asyncio.to_thread(self.log_next_due)

    def _win_run(self, pipeline: Pipeline, alert: AlertConfig, now: datetime) -> bool:
        """True when the alert's digest is due and this replica claimed the run."""
        schedules: AlertSchedules = pipeline.store
        due = schedules.alert_schedule(alert.name, schedule_key(alert), next_fire(alert, now))
        return due <= now and schedules.claim_alert_run(
            alert.name, due, next_fire(alert, now), self.owner, now
        )

    def log_next_due(self) -> None:
        """Say when the next poll and the next digests are due, so that a quiet daemon
        is seen to be waiting, not stuck: at start and after each run."""
        pipeline = self.pipeline
        now = pipeline.clock()
        try:
            first = pipeline.store.next_poll_due()
            digests = [
                (
                    alert,
                    pipeline.store.alert_due(alert.name, schedule_key(alert))
                    or next_fire(alert, now),
                )
                for alert in pipeline.config.alerts
            ]
        except MonitorError as exc:
            log.warning("cannot tell when work is next due: %s", exc)
            return
        if first is None:
            polls = "no feed to poll"
        else:
            due, name = first
            polls = f"next poll {when_due(due, now)} ({name})"
        if digests:
            sends = "next digest " + ", ".join(
                f"{alert.name} {when_due(due, now, alert.timezone)}" for alert, due in digests
            )
        else:
            sends = "no alerts to send"
        log.info("%s; %s", polls, sends, extra={"replica": self.owner})

    async def relay_tick(self) -> None:
        if not self._stop.is_set():
            await asyncio.to_thread(self.pipeline.relay_due, self.owner)

    async def prune_tick(self) -> None:
        if not self._stop.is_set() and self.pipeline.config.retention.enabled:
            pipeline = self.pipeline
            await asyncio.to_thread(
                prune_now, pipeline.store, pipeline.config, self.owner, pipeline.clock
            )

    # --- reload, readiness, life cycle ----------------------------------------------------

    def reload(self) -> bool:
        """Swap in a freshly loaded config; keep the running one if the new one is invalid."""
        if self._reload is None:
            return False
        try:
            fresh = self._reload()
        except MonitorError as exc:
            metrics.RELOADS.labels("rejected").inc()
            log.error("config reload rejected; still running the previous config: %s", exc)
            return False
        old = self.pipeline
        self.pipeline = fresh
        old.close(keep_store=fresh.store is old.store)
        metrics.RELOADS.labels("applied").inc()
        log.info("config reloaded: %s", _sizes(fresh.config))
        return True

    async def readiness(self) -> str | None:
        if not self.scheduler.running:
            return "scheduler not running"
        try:
            await asyncio.wait_for(asyncio.to_thread(self.pipeline.store.ping), timeout=5)
        except TimeoutError:
            return "database did not answer within 5 s"
        except MonitorError as exc:
            return f"database unreachable: {exc}"
        return None

    def schedule_jobs(self) -> None:
        replica = self.pipeline.config.replica
        tick = replica.tick.total_seconds()
        now = self.pipeline.clock()
        jobs: list[tuple[Callable[[], object], float, str]] = [
            (self.poll_tick, tick, "poll"),
            (self.digest_tick, tick, "digest"),
            (
                self.relay_tick,
                self.pipeline.config.delivery.relay_interval.total_seconds(),
                "relay",
            ),
            (
                self.prune_tick,
                self.pipeline.config.retention.interval.total_seconds(),
                "prune",
            ),
        ]
        for func, seconds, name in jobs:
            jitter = seconds * replica.tick_jitter if name == "poll" else None
            self.scheduler.add_job(
                func,
                IntervalTrigger(seconds=seconds, jitter=jitter),
                id=name,
                name=f"{name} tick",
                next_run_time=now,
                replace_existing=True,
            )

    def _background(self, work: Awaitable[object]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # held, or the loop could drop it half-way
        task.add_done_callback(self._tasks.discard)

    def request_stop(self) -> None:
        log.info("stopping: finishing running jobs")
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        # A reload reads the config and syncs the feeds with the database: in a thread.
        loop.add_signal_handler(
            signal.SIGHUP, lambda: self._background(asyncio.to_thread(self.reload))
        )
        config = self.pipeline.config
        if config.ops.enabled:
            self.ops = OpsServer(config.ops.host, config.ops.port, self.readiness)
            await self.ops.start()
        owners = await asyncio.to_thread(self.pipeline.store.lease_owners)
        stale = orphaned(owners, self.owner, socket.gethostname(), pid_alive)
        if stale:
            released = await asyncio.to_thread(self.pipeline.store.release_leases, stale)
            log.info(
                "released %s of dead replicas %s", counted(released, "lease"), ", ".join(stale)
            )
        self.schedule_jobs()
        self.scheduler.start()
        metrics.UP.set(1)
        log.info(
            "monitor running as %s: %s",
            self.owner,
            _sizes(config),
            extra={"replica": self.owner},
        )
        await asyncio.to_thread(self.log_next_due)
        try:
            await self._stop.wait()
        finally:
            metrics.UP.set(0)
            # Pause first: shutting the scheduler down would cancel the jobs still running
            # (a relay mid-send), while its thread went on sending as the process exited.
            self.scheduler.pause()
            await _drain(loop)
            self.scheduler.shutdown(wait=False)
            if self.ops is not None:
                await self.ops.stop()
            self.pipeline.close()
            log.info("monitor stopped")


async def _drain(loop: asyncio.AbstractEventLoop, seconds: float = 30) -> None:
    # Let jobs already running (a poll writing its entries) finish before the loop closes,
    # including one the scheduler handed over just as it stopped.
    current = asyncio.current_task()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        pending = [t for t in asyncio.all_tasks(loop) if t is not current and not t.done()]
        if not pending:
            return
        await asyncio.wait(pending, timeout=remaining)
