"""When to try a failed delivery again: bounded exponential backoff with jitter.

Pure: the attempt count, times, the receiver's Retry-After and a random number
in [0, 1) come in; the next attempt time (or None: give up) comes out.

The n-th retry waits ``initial * 2**(n-1)``, capped at ``max_interval``, then
scaled by a random factor in [1 - jitter, 1] so that many deliveries failing
together (a receiver's outage) do not all come back at the same second. A
Retry-After from the receiver is a floor. Past ``give_up_after`` since the
delivery was queued, it fails for good.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.deliver.settings import DeliverySettings


def next_attempt(
    attempts: int,
    queued_at: datetime,
    now: datetime,
    retry_after: float | None,
    settings: DeliverySettings,
    rand: float,
) -> datetime | None:
    """The time of the next try after ``attempts`` failed tries, or None to give up."""
    exponent = max(attempts - 1, 0)
    initial = settings.retry_initial.total_seconds()
    base = min(initial * (2 ** min(exponent, 32)), settings.retry_max_interval.total_seconds())
    delay = base * (1 - settings.retry_jitter * rand)
    if retry_after is not None:
        delay = max(delay, retry_after)
    when = now + timedelta(seconds=delay)
    if when - queued_at > settings.give_up_after:
        return None
    return when
