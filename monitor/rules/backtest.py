"""Backtest: run a watch over entries already stored, and report what it would have caught,
and what its query matched but a rule or guard stopped (counted by what stopped it).

Pure: the entries come in as an iterable (the CLI streams them from the store
in batches), the compiled rules and the day boundaries' timezone are
arguments. Nothing is sent or written.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from monitor.rules.engine import RuleSet, Stop
from monitor.types import Match, StoredEntry

NEWEST_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Hit:
    """One stored entry the watch's query matched."""

    stored: StoredEntry
    match: Match
    stop: Stop | None = None
    """What stopped the watch on it; ``None`` when it fired."""

    @property
    def when(self) -> datetime:
        """The entry's published time, else when it was first seen."""
        return self.stored.entry.published or self.stored.first_seen


@dataclass(frozen=True)
class BacktestReport:
    watch: str
    scanned: int
    total: int
    per_day: dict[date, int] = field(default_factory=dict)
    newest: tuple[Hit, ...] = ()
    stopped: dict[str, int] = field(default_factory=dict)
    """Entries the query matched but a rule stopped, by :attr:`Stop.label`, most first (then by name)."""
    newest_stopped: tuple[Hit, ...] = ()


def backtest(
    rules: RuleSet, watch: str, entries: Iterable[StoredEntry], timezone: str = "UTC"
) -> BacktestReport:
    """Judge ``entries`` with ``watch`` in ``rules``; count hits per local day, stops by rule."""
    zone = ZoneInfo(timezone)
    scanned = 0
    per_day: Counter[date] = Counter()
    stopped: Counter[str] = Counter()
    newest: list[tuple[float, int, Hit]] = []
    newest_stopped: list[tuple[float, int, Hit]] = []
    for stored in entries:
        scanned += 1
        verdict = next((v for v in rules.judge(stored.entry) if v.watch == watch), None)
        if verdict is None:
            continue
        hit = Hit(stored, verdict.match, verdict.stopped)
        if verdict.stopped is None:
            per_day[hit.when.astimezone(zone).date()] += 1
            _keep_newest(newest, hit)
        else:
            stopped[verdict.stopped.label] += 1
            _keep_newest(newest_stopped, hit)
    return BacktestReport(
        watch,
        scanned,
        sum(per_day.values()),
        dict(sorted(per_day.items())),
        _newest_first(newest),
        dict(sorted(stopped.items(), key=lambda item: (-item[1], item[0]))),
        _newest_first(newest_stopped),
    )


def _keep_newest(heap: list[tuple[float, int, Hit]], hit: Hit) -> None:
    heapq.heappush(heap, (hit.when.timestamp(), hit.stored.id, hit))
    if len(heap) > NEWEST_SHOWN:
        heapq.heappop(heap)


def _newest_first(heap: list[tuple[float, int, Hit]]) -> tuple[Hit, ...]:
    return tuple(hit for _, _, hit in sorted(heap, key=lambda item: item[:2], reverse=True))
