"""When to poll a feed next, and when to call it broken: pure decisions.

Inputs are values (the feed's interval, its consecutive failures, the
server's Retry-After, ``now``, the settings, a random source); the output is
a time. Nothing here reads a clock or the database, so the tests freeze
``now`` and seed ``rng``.

* Success: the next poll is one ``interval`` away, plus jitter.
* Failure: the wait doubles with each consecutive failure, ``interval * 2**n``,
  capped at ``fetch.backoff_cap`` (never below the interval itself), plus
  jitter. One success resets the count, so the caller passes 0 again.
* Retry-After (429 / 503): the server's wait, capped at
  ``fetch.retry_after_cap``, is a floor: no poll before it, whatever the
  backoff says, plus jitter so every client told "come back in 60 s" does not
  come back on the same second.
* Jitter is a random share (``fetch.poll_jitter``) of the wait, at most
  ``fetch.poll_jitter_max``, and always *added*: a poll is never earlier than
  the rule above, only a little later. It spreads the feeds of one host that
  share an interval, so they are not fetched at the same second.
* A feed is broken after ``fetch.broken_after_failures`` consecutive failures.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from monitor.fetch.settings import FetchSettings

_MAX_DOUBLINGS = 32  # 2**32 intervals is past any cap; keeps the float finite


def backoff(interval: timedelta, consecutive_failures: int, settings: FetchSettings) -> timedelta:
    """The wait before the next poll, before jitter and Retry-After."""
    if consecutive_failures <= 0:
        return interval
    doublings = min(consecutive_failures, _MAX_DOUBLINGS)
    grown = interval.total_seconds() * 2.0**doublings
    ceiling = max(settings.backoff_cap.total_seconds(), interval.total_seconds())
    return timedelta(seconds=min(grown, ceiling))


def max_jitter(wait: timedelta, settings: FetchSettings) -> timedelta:
    """The most :func:`jitter` adds to ``wait``: ``poll_jitter`` of it, at most
    ``poll_jitter_max``."""
    return min(wait * settings.poll_jitter, settings.poll_jitter_max)


def jitter(wait: timedelta, settings: FetchSettings, rng: random.Random) -> timedelta:
    """A random addition to ``wait``, up to :func:`max_jitter`."""
    bound = max_jitter(wait, settings).total_seconds()
    return timedelta(seconds=rng.uniform(0.0, bound)) if bound > 0 else timedelta(0)


def next_poll_at(
    interval: timedelta,
    consecutive_failures: int,
    retry_after: float | None,
    now: datetime,
    settings: FetchSettings,
    rng: random.Random,
) -> datetime:
    """The earliest time the feed should be polled again.

    ``consecutive_failures`` counts the failure just recorded (0 after a
    success); ``retry_after`` is the seconds the server asked for, if any.
    """
    wait = backoff(interval, consecutive_failures, settings)
    if retry_after is not None and retry_after > 0:
        asked = timedelta(seconds=min(retry_after, settings.retry_after_cap.total_seconds()))
        wait = max(wait, asked)
    return now + wait + jitter(wait, settings, rng)


def is_broken(consecutive_failures: int, settings: FetchSettings) -> bool:
    """True once a feed has failed ``broken_after_failures`` times in a row."""
    return consecutive_failures >= settings.broken_after_failures


RETRY_AFTER_NOTE = "the server asked to wait"
"""Written into a failed poll's stored error when the answer carried a Retry-After: the
store keeps no other trace of it, and a manual poll must know to leave the feed alone."""


def with_retry_after(reason: str, retry_after: float | None) -> str:
    """A poll's error, saying how long the server asked to wait, if it did."""
    if retry_after is None or retry_after <= 0:
        return reason
    return f"{reason} ({RETRY_AFTER_NOTE} {retry_after:.0f}s)"


def manual_skip(
    disabled_at: datetime | None,
    last_error: str | None,
    next_poll_at: datetime | None,
    now: datetime,
) -> str | None:
    """Why a manual poll leaves a feed alone, or None to poll it: the publisher said it
    is gone (410), or asked to wait (Retry-After) and the wait has not passed."""
    if disabled_at is not None:
        return "gone (410)"
    if last_error and RETRY_AFTER_NOTE in last_error and next_poll_at and next_poll_at > now:
        return f"server asked to wait until {next_poll_at:%Y-%m-%d %H:%M:%S} UTC"
    return None
