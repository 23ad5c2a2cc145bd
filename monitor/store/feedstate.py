"""What the store keeps of a feed between polls, and what one poll leaves: plain values.

They live apart from :mod:`monitor.store.feeds` (the repository, over SQLAlchemy) so that
code which only passes them along, the pipeline and the express pass of unchanged feeds
(:mod:`monitor.store.express`), loads neither SQLAlchemy nor the models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about one feed between polls."""

    id: int
    url: str
    name: str
    etag: str | None
    last_modified: str | None
    first_polled_at: datetime | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime | None = None
    fetch_url: str | None = None
    """Where a permanent redirect moved the feed (fetch this instead of ``url``)."""
    body_hash: str | None = None
    disabled_at: datetime | None = None
    broken_reported_at: datetime | None = None
    lease_owner: str | None = None
    last_note: str | None = None
    """What the last parsed body lost to the caps, or what did not fit a column."""


STATE_COLUMNS = tuple(field.name for field in dataclasses.fields(FeedState))
"""The columns of a :class:`FeedState` in the ``feeds`` table, in the order of its fields
(the same names)."""
STATE_DATES = tuple("datetime" in str(field.type) for field in dataclasses.fields(FeedState))
"""Which of :data:`STATE_COLUMNS` hold a UTC date, by the fields' own types."""


@dataclass(frozen=True, slots=True)
class PollRecord:
    """What one poll of one feed leaves behind."""

    now: datetime
    next_poll_at: datetime
    """Due time of the next poll (interval, backoff and Retry-After already applied)."""
    error: str | None = None
    """None on success (200 or 304)."""
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    """Hash of a body that was parsed (None: keep the stored one, e.g. after a 304)."""
    moved_to: str | None = None
    """A permanent redirect's target."""
    gone: bool = False
    """The publisher answered 410 Gone: disable the feed."""
    note: str | None = None
    """What the size caps cut from the parsed body (stored with a new body only)."""

    @property
    def plain(self) -> bool:
        """A success that moved nothing, disabled nothing and noted nothing: with no body
        read (a 304), the poll most cycles record, many to a statement."""
        return self.error is None and self.moved_to is None and not self.gone and self.note is None


@dataclass(frozen=True, slots=True)
class FeedListRow:
    """What syncing the feed list reads of one stored feed."""

    id: int
    url: str
    name: str
    active: bool
    consecutive_failures: int
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    unparsed: bool
    """Never parsed (no body stored) and not disabled: its next successful poll parses."""


@dataclass(frozen=True, slots=True)
class FeedListPlan:
    """The writes that bring the stored feed list in line with the config."""

    new: tuple[tuple[str, str], ...]
    """(url, name) of each configured feed with no row yet."""
    renamed: tuple[tuple[int, str], ...]
    """(id, name) of each row to (re)activate under its configured name."""
    brought_forward: tuple[tuple[FeedListRow, timedelta], ...]
    """Healthy rows due later than their interval allows, with that interval."""
    gone: tuple[int, ...]
    """Ids of active rows no longer configured."""
    unparsed: int
    """Configured feeds never parsed and not disabled, new ones included."""

    @property
    def writes(self) -> bool:
        return bool(self.new or self.renamed or self.brought_forward or self.gone)


def plan_feed_list(
    wanted: Mapping[str, tuple[str, timedelta]],
    rows: Mapping[str, FeedListRow],
    jitter: Callable[[timedelta], timedelta] | None = None,
) -> FeedListPlan:
    """What :meth:`monitor.store.feeds.FeedsRepository.sync_feeds` writes for the configured
    ``wanted`` (url -> name, interval) over the stored ``rows`` (by url); ``jitter``: the
    most a poll's jitter adds to an interval (a due time within it was set by the same
    interval, and is left alone)."""
    # The latest due time an interval can have set; worked out once per interval.
    latest = {
        interval: interval + (jitter(interval) if jitter else timedelta(0))
        for _, interval in wanted.values()
    }
    new: list[tuple[str, str]] = []
    renamed: list[tuple[int, str]] = []
    forward: list[tuple[FeedListRow, timedelta]] = []
    unparsed = 0
    for url, (name, interval) in wanted.items():
        row = rows.get(url)
        if row is None:
            new.append((url, name))
            continue
        unparsed += row.unparsed
        if row.name != name or not row.active:
            renamed.append((row.id, name))
        if (
            row.consecutive_failures == 0
            and row.next_poll_at is not None
            and row.last_polled_at is not None
            and row.next_poll_at > row.last_polled_at + latest[interval]
        ):
            forward.append((row, interval))
    gone = tuple(row.id for url, row in rows.items() if url not in wanted and row.active)
    return FeedListPlan(tuple(new), tuple(renamed), tuple(forward), gone, unparsed + len(new))
