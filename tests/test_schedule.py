"""Schedule arithmetic, on fixed times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.config import AlertConfig, WebhookChannel
from monitor.cron import cron_trigger, weekday_names
from monitor.schedule import next_fire, orphaned, schedule_key
from tests.conftest import WEBHOOK_SECRET


def alert(schedule: str, timezone: str = "America/Toronto") -> AlertConfig:
    hook = WebhookChannel.model_validate({"url": "https://h.example/x", "secret": WEBHOOK_SECRET})
    return AlertConfig(name="a", watches=("w",), schedule=schedule, timezone=timezone, webhook=hook)


# 08:00 in Toronto is 13:00 UTC in November (EST) and 12:00 UTC in July (EDT).
@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 20, 13, tzinfo=UTC)),
        (datetime(2026, 11, 20, 13, tzinfo=UTC), datetime(2026, 11, 21, 13, tzinfo=UTC)),
        (datetime(2026, 7, 1, 11, 59, tzinfo=UTC), datetime(2026, 7, 1, 12, tzinfo=UTC)),
    ],
)
def test_next_fire_is_strictly_after_in_the_alerts_timezone(
    after: datetime, expected: datetime
) -> None:
    assert next_fire(alert("0 8 * * *"), after) == expected


def test_weekday_schedule_skips_the_weekend() -> None:
    saturday = datetime(2026, 11, 21, 14, tzinfo=UTC)
    assert next_fire(alert("0 7,17 * * 1-5"), saturday) == datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_schedule_key_changes_with_cron_or_timezone() -> None:
    assert schedule_key(alert("0 8 * * *")) != schedule_key(alert("0 9 * * *"))
    assert schedule_key(alert("0 8 * * *")) != schedule_key(alert("0 8 * * *", "UTC"))


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("0,6", "sat,sun"),
        ("5-7", "fri,sat,sun"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("*/2", "tue,thu,sat,sun"),
        ("1-5/2", "mon,wed,fri"),
        ("SAT,sun", "sat,sun"),
    ],
)
def test_cron_weekdays_mean_what_crontab_means(field: str, names: str) -> None:
    assert weekday_names(field) == names


@pytest.mark.parametrize(
    "expr", ["0 8 * * 8", "0 8 * * 5-1", "0 8 * *", "0 8 * * mon-xyz", "61 8 * * *"]
)
def test_bad_cron_expressions(expr: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each has its own message
        cron_trigger(expr)


def test_orphaned_leases_are_only_those_provably_dead() -> None:
    owners = {"box:101", "box:202", "other:303", "worker-a", "box:notapid"}
    alive = {202}.__contains__
    assert orphaned(owners, "box:999", "box", alive) == ["box:101"]
    # A stable configured id: its own leases come from an earlier life of this replica.
    assert orphaned(owners, "worker-a", "box", alive) == ["box:101", "worker-a"]
