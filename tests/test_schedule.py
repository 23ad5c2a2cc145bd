"""Scheduling decisions, on a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import AlertConfig, WebhookChannel
from monitor.schedule import feed_jitter, missed_schedule
from tests.conftest import WEBHOOK_SECRET


def alert(schedule: str, timezone: str = "America/Toronto") -> AlertConfig:
    hook = WebhookChannel.model_validate({"url": "https://h.example/x", "secret": WEBHOOK_SECRET})
    return AlertConfig(name="a", watches=("w",), schedule=schedule, timezone=timezone, webhook=hook)


# 08:00 in Toronto on 2026-11-20 is 13:00 UTC (EST, UTC-5).
@pytest.mark.parametrize(
    ("waiting_since", "now", "missed"),
    [
        (None, datetime(2026, 11, 20, 14, tzinfo=UTC), False),
        (datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 20, 12, 59, tzinfo=UTC), False),
        (datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 20, 13, 0, tzinfo=UTC), True),
        (datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 21, 9, tzinfo=UTC), True),
        (datetime(2026, 11, 20, 13, 30, tzinfo=UTC), datetime(2026, 11, 21, 9, tzinfo=UTC), False),
    ],
)
def test_missed_schedule(waiting_since: datetime | None, now: datetime, missed: bool) -> None:
    assert missed_schedule(alert("0 8 * * *"), waiting_since, now) is missed


def test_feed_jitter_is_bounded() -> None:
    assert feed_jitter(timedelta(minutes=10)) == 60
    assert feed_jitter(timedelta(hours=6)) == 120
    assert feed_jitter(timedelta(seconds=30)) == 3
