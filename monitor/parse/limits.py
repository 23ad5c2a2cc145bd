"""Bounds on what one feed document may put into the system.

A feed is someone else's file: one of 310,000 tiny items, or with a title of
several megabytes, would otherwise be parsed, fingerprinted, matched, stored
and mailed whole. :func:`bound` keeps a document's newest items up to a cap
and clips each text field, and says what it cut, so that the cut is visible
(the poll's outcome, ``monitor status``) rather than silent.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from monitor.types import Entry
from monitor.words import noun

ELLIPSIS = "…"
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ItemLimits:
    """The caps (from ``fetch.*`` in the config); picklable for the parser workers."""

    max_items: int = 500
    title_chars: int = 1_000
    summary_chars: int = 20_000
    content_chars: int = 100_000


def newest(items: Sequence[_T], limit: int, stamp: Callable[[_T], float | None]) -> list[_T]:
    """At most ``limit`` of ``items``: the newest by ``stamp``, in document order.

    Undated items rank after dated ones, earlier in the document first (feeds list
    their newest first), so a feed without dates keeps its head.
    """
    if len(items) <= limit:
        return list(items)

    def rank(position: int) -> tuple[int, float, int]:
        when = stamp(items[position])
        return (0, -when, position) if when is not None else (1, 0.0, position)

    kept = sorted(sorted(range(len(items)), key=rank)[:limit])
    return [items[position] for position in kept]


def raw_stamp(raw: Any) -> float | None:
    """The date of one of feedparser's item dicts, in seconds."""
    return struct_seconds(raw.get("published_parsed") or raw.get("updated_parsed"))


def struct_seconds(value: time.struct_time | None) -> float | None:
    if not value:
        return None
    try:
        return float(calendar.timegm(value))
    except (OverflowError, ValueError, TypeError):
        return None


def clamp_future(entry: Entry, now: datetime, allowance: timedelta) -> Entry:
    """An entry dated later than ``now`` plus ``allowance`` is dated ``now`` (first seen):
    a date in the future is a publisher's mistake, or a trick to sort first forever."""
    if entry.published is None or entry.published <= now + allowance:
        return entry
    return replace(entry, published=now)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when it was cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def clip_entry(entry: Entry, limits: ItemLimits) -> tuple[Entry, tuple[str, ...]]:
    """The entry with its text fields clipped, and the names of the fields that were."""
    fields = {
        "title": limits.title_chars,
        "summary": limits.summary_chars,
        "content": limits.content_chars,
    }
    cut = {name: clip(getattr(entry, name), n) for name, n in fields.items()}
    changed = tuple(name for name, text in cut.items() if text is not getattr(entry, name))
    if not changed:
        return entry, ()
    return replace(
        entry, title=cut["title"], summary=cut["summary"], content=cut["content"]
    ), changed


def describe_cut(
    total: int, kept: int, clipped: Mapping[str, int], limits: ItemLimits
) -> str | None:
    """What the caps removed from one document, in words; None when nothing."""
    parts = []
    if kept < total:
        parts.append(
            f"kept the newest {kept:,} of {total:,} items (fetch.max_items_per_feed {limits.max_items:,})"
        )
    fields = {
        "title": ("titles", "max_title_chars"),
        "summary": ("summaries", "max_summary_chars"),
        "content": ("contents", "max_content_chars"),
    }
    for name, (plural, setting) in fields.items():
        if count := clipped.get(name, 0):
            limit = getattr(limits, f"{name}_chars")
            parts.append(
                f"{count:,} {noun(count, name, plural)} clipped to {limit:,} characters "
                f"(fetch.{setting})"
            )
    return "; ".join(parts) or None
