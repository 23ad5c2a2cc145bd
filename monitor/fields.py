"""Field types the settings models share: durations, web and email addresses, names,
timezones, cron schedules, quiet hours, the base model.

A module of its own, importing no stage (a cron schedule is checked by
:mod:`monitor.cron`, loaded when one is), so that a stage's settings model
(a channel's, in :mod:`monitor.channels`) can use them without importing
:mod:`monitor.config`, which imports those models to compose the whole configuration.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """``90`` (seconds), ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 15m, 2h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (found := _DURATION.match(value)):
        seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2) or "s"]
    else:
        raise ValueError(f"expected a duration such as 90s, 15m, 2h or 1d, got {value!r}")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return timedelta(seconds=seconds)


MAX_URL_CHARS = 2048
"""Longest feed or webhook address: what the database's address columns hold, and more
than browsers and servers commonly accept."""


def _check_http_url(url: str) -> str:
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValueError(f"expected an http:// or https:// URL, got {url[:200]!r}")
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"URL of {len(url):,} characters; at most {MAX_URL_CHARS:,}")
    return url


def _check_email(value: str) -> str:
    if len(value) > 254:  # RFC 5321's longest forward path
        raise ValueError(f"email address of {len(value)} characters; at most 254")
    if not re.fullmatch(
        r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+|[^@\s<>,;\"]+@localhost", value
    ):
        raise ValueError(f"not an email address: {value!r}")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
EmailAddress = Annotated[str, AfterValidator(_check_email)]
Name = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")
]
"""A watch's, alert's or guard's name: shown in logs, digests and the CLI."""


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown timezone {name!r} (use an IANA name like America/Toronto)"
        ) from exc
    return name


def _check_cron(expr: str) -> str:
    if len(expr) > 100:  # stored with the timezone in a 200-character column
        raise ValueError(f"cron expression of {len(expr)} characters; at most 100")
    from monitor.cron import cron_trigger  # APScheduler's parser, loaded only for a schedule

    try:
        cron_trigger(expr)
    except ValueError as exc:
        raise ValueError(
            f"bad cron expression {expr!r}: {exc} (five fields: minute hour day month weekday)"
        ) from exc
    return expr


def _check_quiet_hours(value: str) -> str:
    found = re.fullmatch(
        r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*", value
    )
    if not found or found.group(1, 2) == found.group(3, 4):
        raise ValueError(f"expected quiet hours as HH:MM-HH:MM (e.g. 22:00-07:00), got {value!r}")
    return value


Timezone = Annotated[str, AfterValidator(_check_timezone)]
"""An IANA timezone name (``America/Toronto``)."""
Cron = Annotated[str, AfterValidator(_check_cron)]
"""Five cron fields: minute hour day month weekday."""
QuietHours = Annotated[str, AfterValidator(_check_quiet_hours)]
"""``HH:MM-HH:MM``, wrapping past midnight when the end is earlier."""


def in_quiet_hours(spec: str | None, local: time) -> bool:
    """True when ``local`` (a wall-clock time) falls inside ``spec`` (wraps past midnight)."""
    if not spec:
        return False
    start_text, end_text = (part.strip() for part in spec.split("-"))
    start, end = time.fromisoformat(start_text.zfill(5)), time.fromisoformat(end_text.zfill(5))
    if start < end:
        return start <= local < end
    return local >= start or local < end


class SettingsModel(BaseModel):
    """Frozen, unknown keys refused, values kept out of error messages (they may be secrets)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


__all__ = [
    "MAX_URL_CHARS",
    "Cron",
    "Duration",
    "EmailAddress",
    "HttpUrl",
    "Name",
    "QuietHours",
    "SettingsModel",
    "Timezone",
    "in_quiet_hours",
    "parse_duration",
]
