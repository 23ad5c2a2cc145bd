"""Alert schedules: when each alert's digest is next due, and which replica ran it.

Replicas racing for one run move the due time with a compare-and-set
(:meth:`SchedulesRepository.claim_alert_run`): exactly one wins.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import col

from monitor.store.base import StoreBase, table_of, upsert
from monitor.store.models import (
    AlertScheduleRow,
)

log = logging.getLogger(__name__)


class AlertSchedules(Protocol):
    """What the scheduler needs to run each alert's digest once, whatever the replicas."""

    def alert_schedule(self, alert: str, schedule: str, first_run: datetime) -> datetime: ...

    def alert_due(self, alert: str, schedule: str) -> datetime | None: ...

    def claim_alert_run(
        self, alert: str, due: datetime, following: datetime, owner: str, now: datetime
    ) -> bool: ...


class SchedulesRepository(StoreBase):
    """When each alert's digest is due, and which replica runs it."""

    def alert_schedule(self, alert: str, schedule: str, first_run: datetime) -> datetime:
        """The alert's next due time; (re)set to ``first_run`` if new or its schedule changed.

        Replicas starting together all get here for a new alert: the row is inserted unless
        there (the first wins, the others find it), the way feed rows are."""
        table = table_of(AlertScheduleRow)
        insert = upsert(self.backend, table)
        with self.session() as session:
            session.execute(
                insert.values(
                    alert=alert, schedule=schedule, next_run_at=first_run
                ).on_conflict_do_nothing(index_elements=["alert"])
            )
            session.execute(
                sa.update(table)
                .where(table.c.alert == alert, table.c.schedule != schedule)
                .values(schedule=schedule, next_run_at=first_run)
            )
            due: datetime = session.execute(
                sa.select(table.c.next_run_at).where(table.c.alert == alert)
            ).scalar_one()
            return due

    def alert_due(self, alert: str, schedule: str) -> datetime | None:
        """The alert's stored next due time, if it has one for this schedule; reads only
        (for the daemon's "next digest" line, which must not race the digest tick)."""
        with self.session() as session:
            row = session.get(AlertScheduleRow, alert)
            return row.next_run_at if row is not None and row.schedule == schedule else None

    def claim_alert_run(
        self, alert: str, due: datetime, following: datetime, owner: str, now: datetime
    ) -> bool:
        """Move the alert's due time from ``due`` to ``following``: True for the one winner."""
        with self.session() as session:
            result = session.execute(
                sa.update(AlertScheduleRow)
                .where(
                    col(AlertScheduleRow.alert) == alert,
                    col(AlertScheduleRow.next_run_at) == due,
                )
                .values(next_run_at=following, last_run_at=now, last_run_by=owner)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
