"""The one handle to the database the daemon passes around.

:class:`Store` is the composition of the repositories, one per aggregate, over
the shared session and transaction base (:class:`~monitor.store.base.StoreBase`):
every method lives in the module of its aggregate, and a consumer that needs
only a few names a Protocol from that module (``FeedReader``, ``Outbox``,
``AlertSchedules``, …) instead of the whole handle.
"""

from __future__ import annotations

from monitor.store.base import Sessions
from monitor.store.entries import EntriesRepository, EntryReader, PendingItems
from monitor.store.feeds import FeedLeases, FeedReader, FeedsRepository
from monitor.store.outbox import Outbox, OutboxReader, OutboxRepository
from monitor.store.schedules import AlertSchedules, SchedulesRepository
from monitor.store.stories import StoriesRepository, StoryReader


class Store(
    FeedsRepository,
    EntriesRepository,
    StoriesRepository,
    OutboxRepository,
    SchedulesRepository,
):
    """The database, behind the repositories' query methods (one engine, one transaction
    per thread when :meth:`transaction` is open)."""


def _conforms(store: Store) -> None:
    """Never called: mypy checks here that the Store meets every consumer's Protocol."""
    _: tuple[
        Sessions,
        FeedReader,
        FeedLeases,
        EntryReader,
        PendingItems,
        StoryReader,
        Outbox,
        OutboxReader,
        AlertSchedules,
    ] = (store, store, store, store, store, store, store, store, store)
