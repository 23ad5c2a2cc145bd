"""Retention: delete what has grown old, a small batch per transaction.

Two kinds of rows go, each after its own age:

* **entries** first seen before ``entries_before``, with everything hanging off
  them: their near-duplicate index keys, matches and alert queue rows. Kept
  whatever their age: the known articles (seeds, the baseline copies are
  judged against), an entry still waiting for a digest or whose digest still
  has a delivery pending, and every member of a story in which some entry
  still waits (a copy joining it later must find it). Entries that named a
  pruned one as their original keep the reason in words, not the link.
* **article pages** (``full_text`` feeds' cache) read before ``entries_before``:
  the entries that linked to them are gone by then, so a page is only read
  again if a new entry links to it, as for any new entry.
* **digests** created before ``digests_before`` with none of their deliveries
  pending, with their ledger rows and the queue rows that pointed at them.

Each batch is one short transaction, so writers (a poll storing entries) wait
at most one batch. Replicas take turns through a job lease (:func:`claim_job`):
one prunes at a time, and one that lost its lease stops after the batch at hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from monitor.dedup.seedfeed import SEED_FEED_URL
from monitor.store.articles import ArticleRow
from monitor.store.base import Sessions
from monitor.store.models import (
    PENDING,
    AlertItemRow,
    DedupKeyRow,
    DeliveryRow,
    DigestRow,
    EntryFeaturesRow,
    EntryRow,
    FeedRow,
    JobLeaseRow,
    MatchRow,
)

TABLES = (
    "entries",
    "dedup_keys",
    "entry_features",
    "matches",
    "alert_items",
    "digests",
    "deliveries",
    "articles",
)
"""What a prune counts, in this order."""


def _t(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """What counts as old."""

    entries_before: datetime
    digests_before: datetime


def _prunable_entries(before: datetime) -> sa.Select[tuple[int]]:
    entries, queue, deliveries, feeds = _t(EntryRow), _t(AlertItemRow), _t(DeliveryRow), _t(FeedRow)
    member = entries.alias("member")
    root = sa.func.coalesce(entries.c.story_id, entries.c.id)
    story_waits = sa.exists(
        sa.select(1)
        .select_from(queue.join(member, member.c.id == queue.c.entry_id))
        .where(queue.c.digest_id.is_(None), sa.or_(member.c.id == root, member.c.story_id == root))
    )
    queued = queue.alias("queued")
    sending = sa.exists(
        sa.select(1)
        .select_from(queued.join(deliveries, deliveries.c.digest_id == queued.c.digest_id))
        .where(queued.c.entry_id == entries.c.id, deliveries.c.status == PENDING)
    )
    seeds = sa.select(feeds.c.id).where(feeds.c.url == SEED_FEED_URL).scalar_subquery()
    return (
        sa.select(entries.c.id)
        .where(
            entries.c.first_seen_at < before,
            entries.c.feed_id != sa.func.coalesce(seeds, -1),
            ~story_waits,
            ~sending,
        )
        .order_by(entries.c.id)
    )


def _prunable_digests(before: datetime) -> sa.Select[tuple[str]]:
    digests, deliveries = _t(DigestRow), _t(DeliveryRow)
    sending = sa.exists(
        sa.select(1).where(deliveries.c.digest_id == digests.c.id, deliveries.c.status == PENDING)
    )
    return (
        sa.select(digests.c.id)
        .where(digests.c.created_at < before, ~sending)
        .order_by(digests.c.id)
    )


def count_prunable(store: Sessions, cutoffs: Cutoffs) -> dict[str, int]:
    """What a prune would delete now, per table (``monitor db prune --dry-run``)."""
    entries = _prunable_entries(cutoffs.entries_before).order_by(None).subquery()
    digests = _prunable_digests(cutoffs.digests_before).order_by(None).subquery()
    queue, deliveries = _t(AlertItemRow), _t(DeliveryRow)

    def count(query: sa.Select[Any]) -> sa.ScalarSelect[int]:
        return sa.select(sa.func.count()).select_from(query.subquery()).scalar_subquery()

    ids = sa.select(entries.c.id)
    digest_ids = sa.select(digests.c.id)
    counts = {
        "entries": count(ids),
        "dedup_keys": count(sa.select(1).where(_t(DedupKeyRow).c.entry_id.in_(ids))),
        "entry_features": count(sa.select(1).where(_t(EntryFeaturesRow).c.entry_id.in_(ids))),
        "matches": count(sa.select(1).where(_t(MatchRow).c.entry_id.in_(ids))),
        "alert_items": count(
            sa.select(1).where(sa.or_(queue.c.entry_id.in_(ids), queue.c.digest_id.in_(digest_ids)))
        ),
        "digests": count(digest_ids),
        "deliveries": count(sa.select(1).where(deliveries.c.digest_id.in_(digest_ids))),
        "articles": count(_prunable_articles(cutoffs.entries_before)),
    }
    with store.session() as session:
        row = session.execute(sa.select(*(q.label(name) for name, q in counts.items()))).one()
        return {name: int(row._mapping[name]) for name in TABLES}


def prune(
    store: Sessions,
    cutoffs: Cutoffs,
    batch: int,
    keep_going: Callable[[], bool] = lambda: True,
) -> dict[str, int]:
    """Delete the old rows, ``batch`` entries (or digests) per transaction, until none is
    left or ``keep_going`` says stop (asked before each batch); the rows deleted per table."""
    deleted = dict.fromkeys(TABLES, 0)
    for step, table in (
        (_prune_entries, "entries"),
        (_prune_digests, "digests"),
        (_prune_articles, "articles"),
    ):
        while keep_going():
            done = step(store, cutoffs, batch)
            for name, n in done.items():
                deleted[name] += n
            if done[table] < batch:
                break
    return deleted


def _rowcount(result: sa.Result[Any]) -> int:
    return max(0, int(cast(sa.CursorResult[Any], result).rowcount))


def _prune_entries(store: Sessions, cutoffs: Cutoffs, batch: int) -> dict[str, int]:
    entries = _t(EntryRow)
    done = dict.fromkeys(TABLES, 0)
    with store.session() as session:
        ids = list(
            session.execute(_prunable_entries(cutoffs.entries_before).limit(batch)).scalars()
        )
        if not ids:
            return done
        # Newer copies keep why they were copies, not the link to a row about to go.
        session.execute(
            sa.update(entries).where(entries.c.duplicate_of.in_(ids)).values(duplicate_of=None)
        )
        for table, model in (
            ("dedup_keys", DedupKeyRow),
            ("entry_features", EntryFeaturesRow),
            ("matches", MatchRow),
            ("alert_items", AlertItemRow),
        ):
            done[table] = _rowcount(
                session.execute(sa.delete(_t(model)).where(_t(model).c.entry_id.in_(ids)))
            )
        done["entries"] = _rowcount(
            session.execute(sa.delete(entries).where(entries.c.id.in_(ids)))
        )
    return done


def _prune_digests(store: Sessions, cutoffs: Cutoffs, batch: int) -> dict[str, int]:
    digests, deliveries, queue = _t(DigestRow), _t(DeliveryRow), _t(AlertItemRow)
    done = dict.fromkeys(TABLES, 0)
    with store.session() as session:
        ids = list(
            session.execute(_prunable_digests(cutoffs.digests_before).limit(batch)).scalars()
        )
        if not ids:
            return done
        done["alert_items"] = _rowcount(
            session.execute(sa.delete(queue).where(queue.c.digest_id.in_(ids)))
        )
        done["deliveries"] = _rowcount(
            session.execute(sa.delete(deliveries).where(deliveries.c.digest_id.in_(ids)))
        )
        done["digests"] = _rowcount(
            session.execute(sa.delete(digests).where(digests.c.id.in_(ids)))
        )
    return done


def _prunable_articles(before: datetime) -> sa.Select[tuple[int]]:
    articles = _t(ArticleRow)
    return sa.select(articles.c.id).where(articles.c.fetched_at < before).order_by(articles.c.id)


def _prune_articles(store: Sessions, cutoffs: Cutoffs, batch: int) -> dict[str, int]:
    articles = _t(ArticleRow)
    done = dict.fromkeys(TABLES, 0)
    with store.session() as session:
        ids = list(
            session.execute(_prunable_articles(cutoffs.entries_before).limit(batch)).scalars()
        )
        if ids:
            done["articles"] = _rowcount(
                session.execute(sa.delete(articles).where(articles.c.id.in_(ids)))
            )
    return done


# --- one replica at a time ---------------------------------------------------------------


def claim_job(store: Sessions, name: str, owner: str, now: datetime, until: datetime) -> str | None:
    """Lease the job ``name`` to ``owner`` unless another replica holds it: the lease's
    token, or None. Renew with :func:`renew_job`; the lease lapses at ``until``."""
    jobs = _t(JobLeaseRow)
    token = uuid.uuid4().hex
    dialect = postgresql if store.backend == "postgresql" else sqlite
    with store.session() as session:
        session.execute(
            dialect.insert(jobs).values(name=name).on_conflict_do_nothing(index_elements=["name"])
        )
        free = sa.or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now)
        result = session.execute(
            sa.update(jobs)
            .where(jobs.c.name == name, free)
            .values(owner=owner, token=token, lease_until=until)
        )
        return token if _rowcount(result) else None


def renew_job(store: Sessions, name: str, token: str, until: datetime) -> bool:
    """Extend a held job lease; False when it was lost (it lapsed and another took it)."""
    jobs = _t(JobLeaseRow)
    with store.session() as session:
        result = session.execute(
            sa.update(jobs)
            .where(jobs.c.name == name, jobs.c.token == token)
            .values(lease_until=until)
        )
        return bool(_rowcount(result))


def release_job(store: Sessions, name: str, token: str, now: datetime) -> None:
    """Give the lease back, noting when the job last ran."""
    jobs = _t(JobLeaseRow)
    with store.session() as session:
        session.execute(
            sa.update(jobs)
            .where(jobs.c.name == name, jobs.c.token == token)
            .values(owner=None, token=None, lease_until=None, last_run_at=now)
        )


JOB = "retention"


def prune_turn(
    store: Sessions,
    cutoffs: Cutoffs,
    batch: int,
    owner: str,
    clock: Callable[[], datetime],
    lease: timedelta,
) -> dict[str, int] | None:
    """One replica's pruning turn under the job lease, renewed before every batch; None
    when another replica is pruning now."""
    token = claim_job(store, JOB, owner, clock(), clock() + lease)
    if token is None:
        return None
    try:
        return prune(
            store, cutoffs, batch, keep_going=lambda: renew_job(store, JOB, token, clock() + lease)
        )
    finally:
        release_job(store, JOB, token, clock())
