"""Tables for operators: ``monitor status`` and ``monitor deliveries``.

Rendered with rich: boxed and coloured on a terminal, plain aligned text when
piped, so the same output reads well in a shell and in a log. Every cell that
holds text from outside (feed names, errors, receivers' answers) goes through
:func:`monitor.ops.terminal.safe`, and URLs through :mod:`monitor.redact`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from rich.console import Console
from rich.table import Table

from monitor.ops.terminal import safe
from monitor.redact import redact_urls, shown_target
from monitor.store.entries import EntryReader, PendingItems
from monitor.store.feeds import FeedReader
from monitor.store.feedstate import FeedState
from monitor.store.outbox import Delivery, OutboxReader


class StatusSource(FeedReader, EntryReader, PendingItems, OutboxReader, Protocol):
    """What ``monitor status`` reads of the database (reads only)."""


class ShownFeed(Protocol):
    """What the feeds table shows of a configured feed (a ``FeedConfig``)."""

    @property
    def url(self) -> str: ...
    @property
    def interval(self) -> timedelta: ...
    @property
    def display_name(self) -> str: ...


class ShownAlert(Protocol):
    """What the alerts table shows of a configured alert (an ``AlertConfig``)."""

    @property
    def name(self) -> str: ...
    @property
    def schedule(self) -> str: ...
    @property
    def timezone(self) -> str: ...


class StatusConfig(Protocol):
    """The part of the configuration ``monitor status`` reads: this module is handed the
    config (a ``monitor.config.Config``) and does not import it."""

    @property
    def feeds(self) -> Sequence[ShownFeed]: ...
    @property
    def alerts(self) -> Sequence[ShownAlert]: ...


def _console(buffer: io.StringIO) -> Console:
    return Console(file=buffer, width=160, force_terminal=sys.stdout.isatty(), color_system="auto")


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    if abs(seconds) < 90:
        return f"{value:%Y-%m-%d %H:%M} (now)"
    amount = abs(seconds)
    ago = f"{amount / 60:.0f} min" if amount < 5400 else f"{amount / 3600:.1f} h"
    return f"{value:%Y-%m-%d %H:%M} ({ago} {'ago' if seconds > 0 else 'from now'})"


def _problems(state: FeedState) -> str:
    """The last error; a note (what the size caps cut, or a column could not hold) is only
    pointed at: it is long, and is printed whole below the table."""
    note = "(see its note below)" if state.last_note else ""
    return "\n".join(part for part in (state.last_error or "", note) if part)


def render_status(
    config: StatusConfig, store: StatusSource, now: datetime, broken_only: bool = False
) -> str:
    """Feeds (last success, last error, failures, next poll, items in 24 h) and alerts."""
    states = {s.url: s for s in store.feed_states()}
    recent = store.entry_counts_since(now - timedelta(hours=24))
    feeds = Table(title="Feeds", title_justify="left", show_lines=False)
    for column in ("feed", "last success", "failures", "last error", "next poll", "items 24h"):
        feeds.add_column(column, overflow="fold")
    shown = 0
    notes: list[str] = []
    for feed in config.feeds:
        state = states.get(feed.url)
        failures = state.consecutive_failures if state else 0
        if broken_only and not failures:
            continue
        shown += 1
        next_poll = state.last_polled_at + feed.interval if state and state.last_polled_at else None
        feeds.add_row(
            f"{safe(feed.display_name)}\n{safe(redact_urls(feed.url))}",
            _when(state.last_success_at if state else None, now),
            str(failures),
            safe(redact_urls(_problems(state))) if state else "",
            _when(next_poll, now) if next_poll else "at the next cycle",
            str(recent.get(feed.url, 0)),
        )
        if state and state.last_note:
            notes.append(
                f"note: {safe(feed.display_name)} ({safe(redact_urls(feed.url))}): "
                + safe(redact_urls(state.last_note))
            )
    alerts = Table(title="Alerts", title_justify="left")
    for column in ("alert", "schedule", "pending items", "deliveries pending", "failed", "sent"):
        alerts.add_column(column)
    counts = store.delivery_counts()
    for alert in config.alerts:
        total = {
            status: sum(n for (a, _, st), n in counts.items() if a == alert.name and st == status)
            for status in ("pending", "failed", "sent")
        }
        alerts.add_row(
            safe(alert.name),
            f"{alert.schedule} ({alert.timezone})",
            str(store.count_pending(alert.name)),
            str(total["pending"]),
            str(total["failed"]),
            str(total["sent"]),
        )
    buffer = io.StringIO()
    console = _console(buffer)
    console.print(feeds if shown or not broken_only else "No broken feeds.")
    for note in notes:  # full width, wrapped at words: a narrow column would chop it up
        console.print(note, highlight=False)
    console.print(alerts)
    disabled = store.disabled_targets()
    if disabled:
        table = Table(title="Channels needing attention", title_justify="left")
        for column in ("alert", "channel", "target", "since", "reason"):
            table.add_column(column, overflow="fold")
        for target in disabled:
            table.add_row(
                safe(target.alert),
                safe(target.channel),
                safe(shown_target(target.channel, target.target)),
                _when(target.disabled_at, now),
                safe(redact_urls(target.reason)),
            )
        console.print(table)
        console.print(
            "Re-enable a target with `monitor deliveries retry ID` on one of its deliveries."
        )
    return buffer.getvalue()


def render_deliveries(rows: Sequence[Delivery]) -> str:
    """The delivery ledger as a table."""
    table = Table(title="Deliveries", title_justify="left")
    for column in (
        "id",
        "alert",
        "channel",
        "target",
        "status",
        "tries",
        "items",
        "digest",
        "note",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        if row.status == "sent" and row.sent_at:
            note = f"sent {row.sent_at:%Y-%m-%d %H:%M}"
        elif row.status == "pending" and row.next_attempt_at:
            note = f"next try {row.next_attempt_at:%Y-%m-%d %H:%M}; {row.last_error or ''}"
        else:
            note = row.last_error or ""
        table.add_row(
            str(row.id),
            safe(row.alert),
            safe(row.channel),
            safe(shown_target(row.channel, row.target)),
            row.status,
            str(row.attempts),
            str(row.digest.item_count),
            safe(row.digest.id),
            safe(redact_urls(note)),
        )
    buffer = io.StringIO()
    _console(buffer).print(table if rows else "No deliveries.")
    return buffer.getvalue()
