"""Poll scheduling policy: backoff, jitter, Retry-After, broken feeds (frozen clock, seeded rng)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import FetchSettings
from monitor.fetch.policy import backoff, is_broken, next_poll_at

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
NO_JITTER = FetchSettings(poll_jitter=0)


@pytest.mark.parametrize(
    ("failures", "wait"),
    [(0, 15), (1, 30), (2, 60), (3, 120), (4, 240), (5, 360), (6, 360), (500, 360)],
)
def test_backoff_doubles_then_caps(failures: int, wait: int) -> None:
    when = next_poll_at(15 * MINUTE, failures, None, NOW, NO_JITTER, random.Random(1))
    assert when == NOW + wait * MINUTE


def test_success_resets_to_the_interval() -> None:
    assert backoff(15 * MINUTE, 0, NO_JITTER) == 15 * MINUTE


def test_interval_longer_than_the_cap_is_kept() -> None:
    assert backoff(timedelta(days=1), 3, NO_JITTER) == timedelta(days=1)


def test_jitter_only_adds_and_is_bounded() -> None:
    settings = FetchSettings()  # 10 %, at most 2 minutes
    rng = random.Random(42)
    for _ in range(200):
        when = next_poll_at(15 * MINUTE, 0, None, NOW, settings, rng)
        assert NOW + 15 * MINUTE <= when <= NOW + 15 * MINUTE + 90 * timedelta(seconds=1)
    long = [next_poll_at(timedelta(hours=6), 0, None, NOW, settings, rng) for _ in range(200)]
    assert max(long) <= NOW + timedelta(hours=6, minutes=2)


def test_jitter_spreads_the_feeds_of_one_host() -> None:
    rng = random.Random(7)
    times = {next_poll_at(15 * MINUTE, 0, None, NOW, FetchSettings(), rng) for _ in range(50)}
    seconds = {t.replace(microsecond=0) for t in times}
    assert len(seconds) > 40  # not all at the same second


def test_same_seed_same_schedule() -> None:
    first = next_poll_at(15 * MINUTE, 2, None, NOW, FetchSettings(), random.Random(3))
    again = next_poll_at(15 * MINUTE, 2, None, NOW, FetchSettings(), random.Random(3))
    assert first == again


def test_retry_after_is_a_floor() -> None:
    when = next_poll_at(15 * MINUTE, 1, 3600.0, NOW, NO_JITTER, random.Random(1))
    assert when == NOW + timedelta(hours=1)
    short = next_poll_at(15 * MINUTE, 1, 10.0, NOW, NO_JITTER, random.Random(1))
    assert short == NOW + 30 * MINUTE  # the backoff is longer than what the server asked


def test_retry_after_is_capped_and_jittered_later_never_earlier() -> None:
    settings = FetchSettings(retry_after_cap=timedelta(hours=2))
    rng = random.Random(5)
    for _ in range(50):
        when = next_poll_at(15 * MINUTE, 1, 10 * 86400.0, NOW, settings, rng)
        assert NOW + timedelta(hours=2) <= when <= NOW + timedelta(hours=2, minutes=2)


@pytest.mark.parametrize(("failures", "broken"), [(0, False), (7, False), (8, True), (30, True)])
def test_broken_after_the_configured_failures(failures: int, broken: bool) -> None:
    assert is_broken(failures, FetchSettings()) is broken
    assert is_broken(2, FetchSettings(broken_after_failures=2))
