"""The daemon: APScheduler 3 ticks the pipeline until SIGTERM or SIGINT.

* one interval job per feed (its ``interval``, with jitter so feeds do not all
  fire on the same second), the first run soon after start;
* one cron job per alert (its ``schedule`` in its ``timezone``) that sends the
  digest;
* one job at start-up that relays deliveries left pending by a crash, and
  sends the digest of any alert whose scheduled time passed while its items
  were waiting (the daemon was down at that moment), without waiting for the
  next cron tick.

Every job has ``coalesce=True`` and ``max_instances=1``: a slow poll never
overlaps itself, and missed runs collapse into one. A failing job is logged
and the scheduler goes on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from datetime import datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import AlertConfig, FeedConfig
from monitor.deliver.relay import relay
from monitor.errors import MonitorError
from monitor.pipeline import Pipeline

log = logging.getLogger(__name__)

JITTER_SHARE = 0.1  # up to 10 % of a feed's interval, so one host's feeds spread out
MAX_JITTER_SECONDS = 120


def feed_jitter(interval: timedelta) -> int:
    return int(min(interval.total_seconds() * JITTER_SHARE, MAX_JITTER_SECONDS))


def missed_schedule(alert: AlertConfig, waiting_since: datetime | None, now: datetime) -> bool:
    """True when the alert's schedule fired after its oldest item was queued, before ``now``."""
    if waiting_since is None:
        return False
    trigger = CronTrigger.from_crontab(alert.schedule, timezone=alert.timezone)
    fire = trigger.get_next_fire_time(None, waiting_since)
    return fire is not None and fire <= now


class Daemon:
    """Owns the scheduler and the pipeline for the life of ``monitor run``."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
        )
        self.scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)
        self._stop = asyncio.Event()

    def _on_error(self, event: JobExecutionEvent) -> None:
        log.error("job %s failed: %r", event.job_id, event.exception)

    def schedule_jobs(self) -> None:
        now = self.pipeline.clock()
        spread = self.pipeline.config.startup_spread.total_seconds()
        for feed in self.pipeline.config.feeds:
            self.scheduler.add_job(
                self._poll,
                IntervalTrigger(
                    seconds=feed.interval.total_seconds(), jitter=feed_jitter(feed.interval)
                ),
                args=[feed],
                id=f"poll:{feed.url}",
                name=f"poll {feed.display_name}",
                next_run_time=now + timedelta(seconds=random.uniform(0, spread)),
                replace_existing=True,
            )
        for alert in self.pipeline.config.alerts:
            self.scheduler.add_job(
                self._digest,
                CronTrigger.from_crontab(alert.schedule, timezone=alert.timezone),
                args=[alert],
                id=f"digest:{alert.name}",
                name=f"digest {alert.name}",
                replace_existing=True,
            )
        self.scheduler.add_job(
            self._relay_due,
            IntervalTrigger(seconds=self.pipeline.config.delivery.relay_interval.total_seconds()),
            id="relay",
            name="relay due deliveries",
            replace_existing=True,
        )
        self.scheduler.add_job(
            self._catch_up, id="startup", name="relay pending, send missed digests"
        )

    async def _poll(self, feed: FeedConfig) -> None:
        summary = await self.pipeline.poll([feed])
        if summary.new and any(alert.immediate for alert in self.pipeline.config.alerts):
            await asyncio.to_thread(self.pipeline.send_immediate)

    async def _relay_due(self) -> None:
        await asyncio.to_thread(self.pipeline.relay_due)

    async def _digest(self, alert: AlertConfig) -> None:
        try:
            await asyncio.to_thread(self.pipeline.send_digest, alert)
        except MonitorError as exc:
            log.error("alert %s: digest run failed: %s", alert.name, exc)

    async def _catch_up(self) -> None:
        store, config = self.pipeline.store, self.pipeline.config
        pending = store.pending_deliveries()
        if pending:
            log.info("relaying %d deliveries left pending by an earlier run", len(pending))
            await asyncio.to_thread(relay, store, config, pending, self.pipeline.clock())
        now = self.pipeline.clock()
        for alert in config.alerts:
            waiting_since = store.oldest_pending_at(alert.name)
            if missed_schedule(alert, waiting_since, now):
                log.info(
                    "alert %s: a scheduled digest was missed while stopped; sending now", alert.name
                )
                await self._digest(alert)

    def request_stop(self) -> None:
        log.info("stopping: finishing running jobs")
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        self.schedule_jobs()
        self.scheduler.start()
        log.info(
            "monitor running: %d feeds, %d watches, %d alerts",
            len(self.pipeline.config.feeds),
            len(self.pipeline.config.watches),
            len(self.pipeline.config.alerts),
        )
        try:
            await self._stop.wait()
        finally:
            self.scheduler.shutdown(wait=False)
            await _drain(loop)
            log.info("monitor stopped")


async def _drain(loop: asyncio.AbstractEventLoop) -> None:
    # Let jobs already running (a poll writing its entries) finish before the loop closes.
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks(loop) if t is not current and not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=30)
