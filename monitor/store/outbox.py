"""The outbox: digests and their delivery ledger.

Building a digest stores it and one pending delivery per target in one
transaction (:meth:`OutboxRepository.create_digest`). Relays claim deliveries
under a lease with a token (:meth:`OutboxRepository.claim_deliveries`); what a
send came to is an outcome value (:class:`Sent`, :class:`Retry`, :class:`Failed`,
:class:`TargetDisabled`, :class:`Split`) that :meth:`OutboxRepository.apply_outcome`
writes in one transaction, and only while the claim it was sent under still holds
the row.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol, assert_never

import sqlalchemy as sa
from sqlmodel import Session, col, select

from monitor.errors import StoreError
from monitor.store.base import StoreBase, table_of
from monitor.store.lists import chunked
from monitor.store.models import (
    FAILED,
    PENDING,
    SENT,
    SPLIT,
    AlertItemRow,
    ChannelStateRow,
    DeliveryRow,
    DigestRow,
    EntryRow,
)
from monitor.types import (
    Digest,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Lease:
    """One claim of a delivery: who made it and the token it drew."""

    owner: str
    token: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the delivery ledger, with the digest it carries."""

    id: int
    alert: str
    channel: str
    target: str
    """Recipient address (email) or URL (webhook)."""
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    digest: Digest
    lease: Lease | None = None
    """The claim this record was handed out under (None when read without claiming)."""
    first_seen: tuple[datetime, ...] = ()
    """When each entry the digest carries was first seen, read with the claim (for the
    first-sight-to-delivery timing of a send); empty in listings."""


@dataclass(frozen=True, slots=True)
class DisabledTarget:
    """A channel target that answered 410 Gone."""

    alert: str
    channel: str
    target: str
    disabled_at: datetime
    reason: str


RetryKind = Literal["transient", "too_large", "error"]
"""Why a send is retried: the receiver or the connection failed for now (``transient``);
a single story is too big for the receiver (``too_large``); a configuration or
operating-system error (``error``: an alert removed, a socket error)."""

FailKind = Literal["permanent", "gave_up", "disabled"]
"""Why a row failed: the receiver refused it for good (``permanent``); it was retried
until ``delivery.give_up_after`` ran out (``gave_up``); its target had been disabled
before, so it was not attempted (``disabled``)."""


@dataclass(frozen=True, slots=True)
class Sent:
    """The channel accepted the digest: the row becomes ``sent``."""


@dataclass(frozen=True, slots=True)
class Retry:
    """The send failed for now: the row stays ``pending`` and counts an attempt."""

    at: datetime
    """When it is due again (backoff, jitter and any Retry-After applied)."""
    reason: str
    """What went wrong, stored as the row's ``last_error``."""
    kind: RetryKind


@dataclass(frozen=True, slots=True)
class Failed:
    """The row becomes ``failed``: nothing sends it again unless an operator requeues it."""

    reason: str
    """Stored as the row's ``last_error``."""
    kind: FailKind

    @property
    def attempted(self) -> bool:
        """Whether a send was tried (counted in ``attempts``): not for a disabled target."""
        return self.kind != "disabled"


@dataclass(frozen=True, slots=True)
class TargetDisabled:
    """The target asked never to be called again (410 Gone): the row fails and, in the
    same transaction, the target is disabled, so later digests do not knock again."""

    reason: str
    """The whole error, stored as the row's ``last_error``."""
    answer: str
    """What the target answered (``410 Gone``), kept with the disabled target."""


@dataclass(frozen=True, slots=True)
class Split:
    """Too big for one message: the row becomes ``split`` and each part a digest and a
    pending delivery of its own, claimed under the same lease (see
    :meth:`OutboxRepository.split_delivery`)."""

    parts: tuple[Digest, ...]
    """The digest's parts, every story in exactly one."""
    reason: str
    """Stored as the split row's ``last_error`` (``sent in 3 parts: ...``)."""
    lease_until: datetime
    """Until when the parts stay claimed by the relay that split them."""


Outcome = Sent | Retry | Failed | TargetDisabled | Split
"""What one send attempt of one delivery came to: the relay decides it, the outbox
applies it (:meth:`OutboxRepository.apply_outcome`)."""


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying an outcome changed."""

    held: bool
    """The claim still held the row and the outcome was written; False: another relay
    took the row over, and nothing changed."""
    parts: tuple[Delivery, ...] = ()
    """For a :class:`Split`: the parts' deliveries, claimed under the same lease."""


class Outbox(Protocol):
    """What a relay needs of the outbox: the disabled targets, the claim renewed right
    before each send, and each outcome applied right after it."""

    def disabled_targets(self) -> list[DisabledTarget]: ...

    def renew_delivery(self, delivery_id: int, lease: Lease, until: datetime) -> bool: ...

    def apply_outcome(self, delivery: Delivery, outcome: Outcome, now: datetime) -> Applied: ...


class OutboxReader(Protocol):
    """The read-only side of the ledger (``monitor deliveries``, ``monitor status``)."""

    def deliveries(
        self,
        status: str | None = None,
        alert: str | None = None,
        limit: int = 1000,
        due_by: datetime | None = None,
        digest_id: str | None = None,
    ) -> list[Delivery]: ...

    def delivery(self, delivery_id: int) -> Delivery: ...

    def delivery_counts(self) -> dict[tuple[str, str, str], int]: ...

    def disabled_targets(self) -> list[DisabledTarget]: ...


class OutboxRepository(StoreBase):
    """Digests and their delivery ledger: claims, marks, splits, disabled targets."""

    def create_digest(
        self,
        digest: Digest,
        entry_ids: Sequence[int],
        targets: Sequence[tuple[str, str]],
        now: datetime,
    ) -> bool:
        """Claim ``entry_ids`` for ``digest`` and queue one delivery per (channel, target).

        All in one transaction: after it, the digest exists with its whole
        ledger, or nothing happened. Returns False (changing nothing) if
        another process claimed any of the entries first.
        """
        with self.session() as session:
            session.add(_digest_row(digest))
            session.flush()
            claimed = session.execute(
                sa.update(AlertItemRow)
                .where(
                    col(AlertItemRow.alert) == digest.alert,
                    col(AlertItemRow.entry_id).in_(entry_ids),
                    col(AlertItemRow.digest_id).is_(None),
                )
                .values(digest_id=digest.id)
            )
            if claimed.rowcount != len(set(entry_ids)):  # type: ignore[attr-defined]
                session.rollback()
                return False
            for channel, target in targets:
                session.add(
                    DeliveryRow(
                        digest_id=digest.id,
                        alert=digest.alert,
                        channel=channel,
                        target=target,
                        created_at=now,
                    )
                )
        return True

    def deliveries(
        self,
        status: str | None = None,
        alert: str | None = None,
        limit: int = 1000,
        due_by: datetime | None = None,
        digest_id: str | None = None,
    ) -> list[Delivery]:
        """Ledger rows, oldest first, filtered by status, alert, digest and due time."""
        with self.session() as session:
            query = select(DeliveryRow, DigestRow).join(
                DigestRow, col(DigestRow.id) == DeliveryRow.digest_id
            )
            if status is not None:
                query = query.where(DeliveryRow.status == status)
            if alert is not None:
                query = query.where(DeliveryRow.alert == alert)
            if digest_id is not None:
                query = query.where(DeliveryRow.digest_id == digest_id)
            if due_by is not None:
                query = query.where(
                    sa.or_(
                        col(DeliveryRow.next_attempt_at).is_(None),
                        col(DeliveryRow.next_attempt_at) <= due_by,
                    )
                )
            rows = session.exec(query.order_by(col(DeliveryRow.id)).limit(limit)).all()
            return [_delivery(row, digest_row) for row, digest_row in rows]

    def pending_deliveries(self, alert: str | None = None) -> list[Delivery]:
        """Every unsent delivery, due or not (an operator asked to send now)."""
        return self.deliveries(PENDING, alert)

    def due_deliveries(self, now: datetime, alert: str | None = None) -> list[Delivery]:
        """Unsent deliveries whose backoff has run out."""
        return self.deliveries(PENDING, alert, due_by=now)

    def claim_deliveries(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        alert: str | None = None,
        due_only: bool = True,
        digest_id: str | None = None,
        limit: int = 10,
        after_id: int = 0,
    ) -> list[Delivery]:
        """Lease up to ``limit`` pending deliveries (ids above ``after_id``) to ``owner``, so
        no other replica sends them meanwhile. The claim draws a token that every later
        renewal and mark must present."""
        free = sa.or_(col(DeliveryRow.lease_until).is_(None), col(DeliveryRow.lease_until) < now)
        with self.session() as session:
            query = select(DeliveryRow.id).where(
                DeliveryRow.status == PENDING, free, col(DeliveryRow.id) > after_id
            )
            if alert is not None:
                query = query.where(DeliveryRow.alert == alert)
            if digest_id is not None:
                query = query.where(DeliveryRow.digest_id == digest_id)
            if due_only:
                query = query.where(
                    sa.or_(
                        col(DeliveryRow.next_attempt_at).is_(None),
                        col(DeliveryRow.next_attempt_at) <= now,
                    )
                )
            query = query.order_by(col(DeliveryRow.id)).limit(limit)
            if self.backend == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(session.exec(query))
            if not ids:
                return []
            lease = Lease(owner, uuid.uuid4().hex)
            claimed = session.execute(
                sa.update(DeliveryRow)
                .where(col(DeliveryRow.id).in_(ids), free)
                .values(lease_owner=owner, lease_until=lease_until, lease_token=lease.token)
                .returning(col(DeliveryRow.id))
            ).scalars()
            claimed_ids = sorted(claimed)
        return self._claimed(claimed_ids, lease)

    def delivery(self, delivery_id: int) -> Delivery:
        with self.session() as session:
            row = _delivery_row(session, delivery_id)
            digest_row = session.get(DigestRow, row.digest_id)
            assert digest_row is not None
            return _delivery(row, digest_row)

    def _claimed(self, ids: Sequence[int], lease: Lease | None) -> list[Delivery]:
        """The deliveries ``ids`` as handed to a relay: under ``lease``, with the first
        sight of the entries they carry (two queries, whatever their number)."""
        with self.session() as session:
            rows = session.exec(
                select(DeliveryRow, DigestRow)
                .join(DigestRow, col(DigestRow.id) == DeliveryRow.digest_id)
                .where(col(DeliveryRow.id).in_(ids))
                .order_by(col(DeliveryRow.id))
            ).all()
            loaded = [_delivery(row, digest_row) for row, digest_row in rows]
            wanted = sorted({i for d in loaded for i in _entry_ids(d.digest)})
            seen: dict[int, datetime] = {}
            for chunk in chunked(wanted):
                query = select(EntryRow.id, EntryRow.first_seen_at).where(
                    col(EntryRow.id).in_(chunk)
                )
                seen.update((i, when) for i, when in session.exec(query) if i is not None)
        return [
            replace(
                d,
                lease=lease,
                first_seen=tuple(seen[i] for i in _entry_ids(d.digest) if i in seen),
            )
            for d in loaded
        ]

    def apply_outcome(self, delivery: Delivery, outcome: Outcome, now: datetime) -> Applied:
        """Write what a send came to, in one transaction, and only while the claim the
        delivery was handed out under still holds the row (any claim when it has none).

        The relay calls this right after each send, before the next one: a crash between
        a send and this leaves the row pending, sent again with the same Message-ID /
        webhook-id, the one repeat the ledger allows.
        """
        lease = delivery.lease
        match outcome:
            case Sent():
                return Applied(self.mark_sent(delivery.id, now, lease=lease))
            case Retry(at=at, reason=reason):
                return Applied(self.mark_retry(delivery.id, now, reason, at, lease=lease))
            case Failed(reason=reason):
                held = self.mark_failed(
                    delivery.id, now, reason, attempted=outcome.attempted, lease=lease
                )
                return Applied(held)
            case TargetDisabled(reason=reason, answer=answer):
                with self.transaction():
                    held = self.mark_failed(delivery.id, now, reason, lease=lease)
                    if held:
                        self.disable_target(
                            delivery.alert, delivery.channel, delivery.target, answer, now
                        )
                return Applied(held)
            case Split(parts=parts, reason=reason, lease_until=until):
                created = self.split_delivery(delivery, parts, reason, now, until)
                return Applied(False) if created is None else Applied(True, tuple(created))
        assert_never(outcome)

    def renew_delivery(self, delivery_id: int, lease: Lease, until: datetime) -> bool:
        """Extend a claim before sending; False when it was lost (expired and taken over,
        or the row was marked meanwhile): the caller must not send."""
        with self.session() as session:
            result = session.execute(
                sa.update(DeliveryRow).where(_held(delivery_id, lease)).values(lease_until=until)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def mark_sent(self, delivery_id: int, now: datetime, lease: Lease | None = None) -> bool:
        """The channel accepted the digest: record it in the ledger. Under a ``lease``,
        only while that claim still holds the row; False when it no longer did."""
        return self._mark(
            delivery_id,
            lease,
            status=SENT,
            sent_at=now,
            last_attempt_at=now,
            attempts=table_of(DeliveryRow).c.attempts + 1,
            last_error=None,
            next_attempt_at=None,
        )

    def mark_retry(
        self,
        delivery_id: int,
        now: datetime,
        error: str,
        next_attempt_at: datetime,
        lease: Lease | None = None,
    ) -> bool:
        """A send failed for now: keep the row pending, not before ``next_attempt_at``."""
        return self._mark(
            delivery_id,
            lease,
            attempts=table_of(DeliveryRow).c.attempts + 1,
            last_attempt_at=now,
            last_error=error,
            next_attempt_at=next_attempt_at,
        )

    def mark_failed(
        self,
        delivery_id: int,
        now: datetime,
        error: str,
        attempted: bool = True,
        lease: Lease | None = None,
    ) -> bool:
        """A send failed for good: the row stays in the ledger as failed."""
        values: dict[str, Any] = {"last_error": error, "status": FAILED, "next_attempt_at": None}
        if attempted:
            values.update(attempts=table_of(DeliveryRow).c.attempts + 1, last_attempt_at=now)
        return self._mark(delivery_id, lease, **values)

    def _mark(self, delivery_id: int, lease: Lease | None, **values: Any) -> bool:
        # One conditional UPDATE: a claim that was lost in between changes nothing.
        condition = (
            _held(delivery_id, lease) if lease is not None else col(DeliveryRow.id) == delivery_id
        )
        with self.session() as session:
            result = session.execute(
                sa.update(DeliveryRow)
                .where(condition)
                .values(lease_owner=None, lease_until=None, lease_token=None, **values)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                return True
            if lease is None:
                raise StoreError(f"no delivery with id {delivery_id}")
            return False

    def split_delivery(
        self,
        delivery: Delivery,
        parts: Sequence[Digest],
        reason: str,
        now: datetime,
        lease_until: datetime,
    ) -> list[Delivery] | None:
        """Replace a pending delivery by one per part, all in one transaction: the row becomes
        ``split`` (with ``reason``), and each part a digest row and a pending delivery to the
        same target, claimed under the same lease until ``lease_until``. None (changing
        nothing) when the claim was lost. A crash before the commit leaves the whole
        delivery pending; after it, each part is sent and marked on its own."""
        lease = delivery.lease
        held = (
            _held(delivery.id, lease)
            if lease is not None
            else sa.and_(col(DeliveryRow.id) == delivery.id, col(DeliveryRow.status) == PENDING)
        )
        with self.session() as session:
            marked = session.execute(
                sa.update(DeliveryRow)
                .where(held)
                .values(
                    status=SPLIT,
                    last_error=reason,
                    last_attempt_at=now,
                    next_attempt_at=None,
                    lease_owner=None,
                    lease_until=None,
                    lease_token=None,
                )
            )
            if not marked.rowcount:  # type: ignore[attr-defined]
                return None
            session.add_all(_digest_row(part) for part in parts)
            session.flush()
            rows = [
                DeliveryRow(
                    digest_id=part.id,
                    alert=delivery.alert,
                    channel=delivery.channel,
                    target=delivery.target,
                    created_at=delivery.created_at,  # the give-up window runs from the first queueing
                    lease_owner=lease.owner if lease else None,
                    lease_until=lease_until if lease else None,
                    lease_token=lease.token if lease else None,
                )
                for part in parts
            ]
            session.add_all(rows)
            session.flush()
            ids = [row.id for row in rows if row.id is not None]
        return self._claimed(ids, lease)

    def requeue(self, delivery_id: int, now: datetime) -> Delivery:
        """Make a failed (or waiting) delivery due again at once: ``monitor deliveries retry``."""
        with self.session() as session:
            row = _delivery_row(session, delivery_id)
            if row.status == SENT:
                raise StoreError(
                    f"delivery {delivery_id} was already sent at {row.sent_at}; not requeued"
                )
            if row.status == SPLIT:
                raise StoreError(
                    f"delivery {delivery_id} went out in parts ({row.last_error}); "
                    "retry the parts' deliveries instead"
                )
            row.status = PENDING
            row.next_attempt_at = now
            # A target re-enabled by hand: forget that it answered 410.
            session.execute(
                sa.delete(ChannelStateRow).where(
                    col(ChannelStateRow.alert) == row.alert,
                    col(ChannelStateRow.channel) == row.channel,
                    col(ChannelStateRow.target) == row.target,
                )
            )
            session.add(row)
        return self.delivery(delivery_id)

    def disable_target(
        self, alert: str, channel: str, target: str, reason: str, now: datetime
    ) -> None:
        """Remember that a target asked never to be called again (410 Gone)."""
        with self.session() as session:
            exists = session.exec(
                select(ChannelStateRow).where(
                    ChannelStateRow.alert == alert,
                    ChannelStateRow.channel == channel,
                    ChannelStateRow.target == target,
                )
            ).one_or_none()
            if exists is None:
                session.add(
                    ChannelStateRow(
                        alert=alert, channel=channel, target=target, disabled_at=now, reason=reason
                    )
                )

    def disabled_targets(self) -> list[DisabledTarget]:
        with self.session() as session:
            rows = session.exec(select(ChannelStateRow).order_by(col(ChannelStateRow.id)))
            return [
                DisabledTarget(r.alert, r.channel, r.target, r.disabled_at, r.reason) for r in rows
            ]

    def delivery_counts(self) -> dict[tuple[str, str, str], int]:
        """(alert, channel, status) -> number of ledger rows."""
        with self.session() as session:
            query = select(
                DeliveryRow.alert, DeliveryRow.channel, DeliveryRow.status, sa.func.count()
            ).group_by(col(DeliveryRow.alert), col(DeliveryRow.channel), col(DeliveryRow.status))
            return {(a, c, st): int(n) for a, c, st, n in session.exec(query)}


def _held(delivery_id: int, lease: Lease) -> sa.ColumnElement[bool]:
    """The row is still pending under this very claim."""
    return sa.and_(
        col(DeliveryRow.id) == delivery_id,
        col(DeliveryRow.status) == PENDING,
        col(DeliveryRow.lease_owner) == lease.owner,
        col(DeliveryRow.lease_token) == lease.token,
    )


def _delivery_row(session: Session, delivery_id: int) -> DeliveryRow:
    row = session.get(DeliveryRow, delivery_id)
    if row is None:
        raise StoreError(f"no delivery with id {delivery_id}")
    return row


def _entry_ids(digest: Digest) -> list[int]:
    return [item.entry_id for section in digest.sections for item in section.items]


def _delivery(row: DeliveryRow, digest_row: DigestRow) -> Delivery:
    assert row.id is not None
    return Delivery(
        id=row.id,
        alert=row.alert,
        channel=row.channel,
        target=row.target,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        digest=Digest.model_validate(json.loads(digest_row.payload)),
    )


def _digest_row(digest: Digest) -> DigestRow:
    return DigestRow(
        id=digest.id,
        alert=digest.alert,
        created_at=digest.created_at,
        item_count=digest.item_count,
        payload=digest.model_dump_json(),
    )
