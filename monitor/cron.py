"""Standard crontab expressions, read the way cron reads them.

APScheduler 3's ``CronTrigger.from_crontab`` passes the weekday field through
unchanged, and APScheduler numbers weekdays from Monday = 0, while cron numbers
them from Sunday = 0 (and 7). Left alone, ``0 8 * * 1-5`` would fire Tuesday to
Saturday. This module expands the weekday field into explicit day names
(``mon,tue,wed,thu,fri``), which both readings agree on, so every schedule in
monitor means what a crontab user expects.
"""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(token: str) -> int:
    lowered = token.strip().lower()
    if lowered[:3] in _NAMES and lowered.isalpha():
        return _NAMES.index(lowered[:3])
    if not lowered.isdigit() or int(lowered) > 7:
        raise ValueError(f"bad weekday {token!r} (0-7 or sun-sat; 0 and 7 are Sunday)")
    return int(lowered) % 7


def _weekdays(field: str) -> set[int]:
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in weekday field {part!r}")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            start, end = span.split("-", 1)
            first, last = _day(start), _day(end)
            if end.strip() == "7":
                last = 7  # "5-7" is Friday to Sunday
            if last < first:
                raise ValueError(f"weekday range {span!r} runs backwards")
        else:
            first = last = _day(span)
            if step_text:
                last = 6  # "1/2": from Monday, every second day
        days.update(day % 7 for day in range(first, last + 1, step))
    return days


def weekday_names(field: str) -> str:
    """A cron weekday field as APScheduler day names: ``1-5`` -> ``mon,tue,wed,thu,fri``."""
    if field.strip() == "*":
        return "*"
    days = _weekdays(field)
    ordered = [1, 2, 3, 4, 5, 6, 0]  # Monday first, as APScheduler lists them
    return ",".join(_NAMES[day] for day in ordered if day in days)


def cron_trigger(expr: str, timezone: str = "UTC") -> CronTrigger:
    """The trigger for a five-field crontab ``expr`` in ``timezone``; ValueError if malformed."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=weekday_names(weekday),
        timezone=timezone,
    )
