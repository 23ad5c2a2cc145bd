"""Backtest: run a watch over entries already stored, and report what it would have caught.

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

from monitor.rules.engine import RuleSet
from monitor.types import Match, StoredEntry

NEWEST_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Hit:
    """One stored entry the watch matched."""

    stored: StoredEntry
    match: Match

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


def backtest(
    rules: RuleSet, watch: str, entries: Iterable[StoredEntry], timezone: str = "UTC"
) -> BacktestReport:
    """Match ``entries`` against ``watch`` in ``rules``; count hits per local day."""
    zone = ZoneInfo(timezone)
    scanned = 0
    per_day: Counter[date] = Counter()
    newest: list[tuple[float, int, Hit]] = []
    for stored in entries:
        scanned += 1
        match = next((m for m in rules.match(stored.entry) if m.watch == watch), None)
        if match is None:
            continue
        hit = Hit(stored, match)
        per_day[hit.when.astimezone(zone).date()] += 1
        heapq.heappush(newest, (hit.when.timestamp(), stored.id, hit))
        if len(newest) > NEWEST_SHOWN:
            heapq.heappop(newest)
    ordered = tuple(hit for _, _, hit in sorted(newest, key=lambda item: item[:2], reverse=True))
    return BacktestReport(
        watch, scanned, sum(per_day.values()), dict(sorted(per_day.items())), ordered
    )
