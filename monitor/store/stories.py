"""Stories: where a stored entry's story stands when a new copy of it arrives.

A story is its first entry (the root) and every ``joined`` copy pointing at it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from monitor.dedup.seedfeed import SEED_FEED_URL
from monitor.errors import StoreError
from monitor.store.base import StoreBase, table_of
from monitor.store.models import (
    AlertItemRow,
    EntryRow,
    FeedRow,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoryState:
    """Where a stored entry's story stands, for a new copy of it."""

    root_id: int
    """The story's first entry."""
    is_seed: bool
    """The story is a known (baseline) article."""
    pending: bool
    """Some alert still waits to deliver it: a new copy joins it."""


class StoryReader(Protocol):
    """What judging a new copy of a stored entry needs."""

    def story_state(self, entry_id: int) -> StoryState: ...


class StoriesRepository(StoreBase):
    """Where a stored entry's story stands."""

    def story_state(self, entry_id: int) -> StoryState:
        """Asked for every duplicate a poll finds: two indexed Core queries, no rows loaded."""
        entries, feeds, queue = table_of(EntryRow), table_of(FeedRow), table_of(AlertItemRow)
        with self.session() as session:
            found = session.execute(
                sa.select(sa.func.coalesce(entries.c.story_id, entries.c.id), feeds.c.url)
                .join(feeds, feeds.c.id == entries.c.feed_id)
                .where(entries.c.id == entry_id)
            ).one_or_none()
            if found is None:
                raise StoreError(f"no entry with id {entry_id}")
            root, feed_url = int(found[0]), found[1]
            members = sa.select(entries.c.id).where(
                sa.or_(entries.c.id == root, entries.c.story_id == root)
            )
            pending = session.execute(
                sa.select(queue.c.id)
                .where(queue.c.entry_id.in_(members), queue.c.digest_id.is_(None))
                .limit(1)
            ).first()
            return StoryState(root, feed_url == SEED_FEED_URL, pending is not None)
