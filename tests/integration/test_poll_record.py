"""Recording a poll (``FeedsRepository.record_poll``): a success clears the feed's failure
notices, and costs no DELETE when there are none (both backends)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from monitor.config import load_config
from monitor.store.feeds import PollRecord
from monitor.store.store import Store
from tests.conftest import FROZEN_NOW


def test_a_success_clears_notices_and_costs_no_delete_without_them(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    quiet, noticed = "https://a.example/feed.xml", "https://b.example/feed.xml"
    store = Store.open(load_config(write_config(db_url, [quiet, noticed])).database)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lstrip().upper())

    try:
        store.sync_feeds([(quiet, "A", timedelta(minutes=15)), (noticed, "B", timedelta(hours=1))])
        later = FROZEN_NOW + timedelta(hours=1)
        for url in (quiet, noticed):
            store.record_poll(url, PollRecord(FROZEN_NOW, later, "HTTP 500"))
            store.record_poll(url, PollRecord(FROZEN_NOW, later, "HTTP 500"))
        store.mark_noticed("desk", [noticed], FROZEN_NOW)
        assert [n.url for n in store.feeds_needing_attention("desk", 2)] == [quiet]

        sa.event.listen(store.engine, "before_cursor_execute", seen)
        store.record_poll(quiet, PollRecord(later, later + timedelta(minutes=15)))
        assert not [s for s in statements if s.startswith("DELETE")]
        store.record_poll(noticed, PollRecord(later, later + timedelta(hours=1)))
        assert [s for s in statements if s.startswith("DELETE FROM FEED_NOTICES")]
        sa.event.remove(store.engine, "before_cursor_execute", seen)

        # Both recovered; a new streak of the noticed feed is news again.
        for url in (quiet, noticed):
            assert store.feed_state(url).consecutive_failures == 0
            store.record_poll(url, PollRecord(later, later, "HTTP 500"))
            store.record_poll(url, PollRecord(later, later, "HTTP 500"))
        assert [n.url for n in store.feeds_needing_attention("desk", 2)] == [quiet, noticed]
    finally:
        store.close()
