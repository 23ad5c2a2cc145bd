"""The config's ``replica:`` and ``retention:`` sections: how replicas share the
database's work, and what is deleted once old.

Declared here, next to the store's leases and :mod:`.retention`;
:mod:`monitor.config` places them under ``replica:`` and ``retention:``.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from monitor.fields import Duration, SettingsModel


class ReplicaSettings(SettingsModel):
    """How replicas of ``monitor run`` share the work through the database."""

    id: str = Field(default="", max_length=200)
    """This replica's name in leases and logs; empty means ``hostname:pid``."""
    tick: Duration = timedelta(seconds=5)
    """How often a replica looks for due feeds and digests (the latency added to a poll)."""
    feed_lease: Duration = timedelta(minutes=5)
    """How long a claimed poll is one replica's; after it, another takes it over."""
    delivery_lease: Duration = timedelta(minutes=5)
    """How long a claimed send is one replica's."""
    claim_batch: int = Field(default=200, gt=0, le=10_000)
    """Most feeds one claim takes: the work one replica takes at once."""
    claim_share: float = Field(default=0.25, gt=0, le=1)
    """Share of the due feeds one claim takes (at least ``fetch.concurrency``), so that
    replicas split a backlog rather than the first to tick taking it all."""
    tick_jitter: float = Field(default=0.5, ge=0, le=1)
    """Share of ``tick`` by which each tick is delayed at random: replicas' ticks keep
    changing order, so none is always first to find the feeds that fell due."""
    delivery_batch: int = Field(default=10, gt=0, le=1_000)
    """Deliveries one claim takes; each claim's lease is renewed before every send, and a
    small batch keeps the rest free for other replicas while a slow receiver holds one."""


class RetentionSettings(SettingsModel):
    """What the daemon deletes once it is old (``monitor db prune`` does it by hand)."""

    enabled: bool = True
    """Off: nothing is ever deleted, and the database grows by about 2 KB per entry."""
    entries: Duration = timedelta(days=180)
    """Entries first seen longer ago go, with their matches, index keys and queue rows;
    known articles (seeds) never do, nor anything a pending digest or story still needs."""
    deliveries: Duration = timedelta(days=180)
    """Digests created longer ago go, with their ledger rows, once none is pending."""
    interval: Duration = timedelta(hours=1)
    """How often the daemon prunes (one replica at a time)."""
    batch: int = Field(default=500, gt=0, le=100_000)
    """Rows deleted per transaction: short transactions never hold up the writers for long."""
