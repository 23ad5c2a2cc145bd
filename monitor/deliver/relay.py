"""The relay: send queued deliveries; each send's outcome goes to the outbox at once.

The channels are :mod:`monitor.channels` (one module each, registered in one
line); :mod:`monitor.channels.dispatch` finds a row's entry in its alert and
calls the channel's ``send`` and ``fits`` (whether one message holds the
digest). Adding a channel touches nothing here.

The relay decides, the outbox writes. :func:`attempt` sends one delivery and
returns what it came to, an outcome value from :mod:`monitor.store.outbox`,
without touching the ledger:

* accepted -> :class:`~monitor.store.outbox.Sent`;
* transient failure -> :class:`~monitor.store.outbox.Retry` (``at`` from the
  backoff policy, :mod:`monitor.deliver.policy`), or
  :class:`~monitor.store.outbox.Failed` (``gave_up``) once the give-up window
  is over;
* permanent failure -> :class:`~monitor.store.outbox.Failed` (``permanent``); a
  410 Gone is :class:`~monitor.store.outbox.TargetDisabled` instead, so later
  digests do not knock again (``monitor deliveries retry`` re-enables);
* a target disabled earlier is not attempted: ``Failed`` (``disabled``).

The relay hands each outcome to :meth:`Outbox.apply_outcome
<monitor.store.outbox.OutboxRepository.apply_outcome>` right after the send and
before the next one, so the ledger row changes only after the channel answered
and a crash loses no more than one send's mark.

A digest too big for one message (over ``delivery.max_message_bytes`` or the
format's ``delivery.max_webhook_bytes``, or refused by the receiver for its
size) is never failed for it: the outcome is :class:`~monitor.store.outbox.Split`,
and applying it makes the row ``split`` and, in the same transaction, each part
(:mod:`monitor.digest.split`) a digest and a pending delivery of its own, sent
right after under the same claim. A part refused for size is split again; a
single story refused for size is retried like a transient failure, its reason
saying so.

A crash between the channel accepting and the outcome being applied leaves the
row pending: it is sent again, with the same Message-ID / webhook-id, and the
receiver can drop the repeat. That window is the only way to see a digest (or a
part) twice; nothing is ever lost.

Deliveries arrive claimed (:meth:`~monitor.store.outbox.OutboxRepository.claim_deliveries`):
the claim is renewed just before each send, and an outcome applies only while the
same claim still holds the row. A relay whose claim ran out while a slow receiver
held it up, and was taken over by another relay, sends nothing more and marks
nothing: the other relay owns the row (reported as ``lost``). Each report
(:class:`RelayOutcome`) carries the outcome applied and, for a send, the entries'
first sight, so the caller times deliveries without asking the database again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.channels.dispatch import CHANNELS, Channel, RelayContext
from monitor.channels.dispatch import delivery_targets as delivery_targets  # noqa: PLC0414 (re-exported: callers import it here)
from monitor.deliver.alerts import RelayConfig
from monitor.deliver.policy import next_attempt
from monitor.deliver.webhook import WebhookClient
from monitor.digest.split import split_digest
from monitor.errors import (
    DeliveryError,
    MonitorError,
    PermanentDeliveryError,
    TooLargeError,
    TransientDeliveryError,
)
from monitor.ops.failpoints import failpoint
from monitor.redact import shown_target
from monitor.store.outbox import (
    Delivery,
    Failed,
    Outbox,
    Outcome,
    Retry,
    RetryKind,
    Sent,
    Split,
    TargetDisabled,
)
from monitor.words import counted

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayOutcome:
    """What happened to one delivery in one relay pass."""

    delivery_id: int
    alert: str
    channel: str
    target: str
    digest_id: str
    items: int
    status: str
    """``sent``, ``retry`` (still pending), ``failed``, ``split`` (too big for one message:
    its parts follow as outcomes of their own), or ``lost`` (another relay took the claim
    over; this one left the row alone)."""
    error: str | None = None
    entry_ids: tuple[int, ...] = ()
    """The entries the digest carried."""
    outcome: Outcome | None = None
    """The outcome applied to the ledger; None when the claim was lost and nothing was."""
    sent_at: datetime | None = None
    """When the channel accepted the digest (the pass's time); None unless sent."""
    first_seen: tuple[datetime, ...] = ()
    """When the digest's entries were first seen (read with the claim)."""

    def first_sight_waits(self) -> list[float]:
        """Seconds from each entry's first sight to its delivery; empty unless sent."""
        if self.sent_at is None:
            return []
        sent = self.sent_at
        return [max(0.0, (sent - seen).total_seconds()) for seen in self.first_seen]


@dataclass(frozen=True, slots=True)
class _Pass:
    """One relay pass: what every send in it shares."""

    outbox: Outbox
    config: RelayConfig
    http: WebhookClient
    now: datetime
    rand: Callable[[], float]
    clock: Callable[[], datetime]


def relay(
    outbox: Outbox,
    config: RelayConfig,
    deliveries: Sequence[Delivery],
    now: datetime,
    rand: Callable[[], float] = random.random,
    clock: Callable[[], datetime] | None = None,
) -> list[RelayOutcome]:
    """Send each delivery once; apply each outcome to the ledger as soon as it is known.

    ``clock`` dates the lease renewals (default: ``now`` throughout)."""
    clock = clock or (lambda: now)
    disabled = (
        {(d.alert, d.channel, d.target): d for d in outbox.disabled_targets()} if deliveries else {}
    )
    reports: list[RelayOutcome] = []
    with WebhookClient(config.delivery) as http:
        run = _Pass(outbox, config, http, now, rand, clock)
        for delivery in deliveries:
            gone = disabled.get((delivery.alert, delivery.channel, delivery.target))
            if gone is not None:
                reason = f"target disabled: it answered {gone.reason} at {gone.disabled_at:%Y-%m-%d %H:%M} UTC"
                reports += _settle(run, delivery, Failed(reason, "disabled"))
                continue
            reports += _send_claimed(run, delivery)
    return reports


def _send_claimed(run: _Pass, delivery: Delivery) -> list[RelayOutcome]:
    """Renew the claim, send, and apply the outcome: a claim lost meanwhile sends nothing."""
    lease = delivery.lease
    if lease is not None and not run.outbox.renew_delivery(
        delivery.id, lease, run.clock() + run.config.replica.delivery_lease
    ):
        return [_lost(delivery, "before sending")]
    return _settle(run, delivery, attempt(run, delivery))


def attempt(run: _Pass, delivery: Delivery) -> Outcome:
    """Send one delivery (or decide its split) and say what it came to; the ledger is
    not touched here."""
    several = delivery.digest.item_count > 1
    channel: Channel | None = None
    try:
        channel = CHANNELS.get(delivery.channel)
        if channel is None:
            raise PermanentDeliveryError(delivery.channel, "unknown channel")
        ctx = RelayContext(run.config, run.config.alert(delivery.alert), run.http, delivery.target)
        if several and not channel.fits(delivery.digest, ctx, None):
            return _split(run, delivery, channel, ctx, None, "too big for one message")
        failpoint("before-send")
        channel.send(delivery, ctx)
        failpoint("after-send")
    except TooLargeError as exc:
        if several and channel is not None:
            limit = exc.limit or exc.size // 2  # no limit stated: halve until it fits
            return _split(run, delivery, channel, ctx, limit, str(exc))
        error = f"a single story is too large for this receiver: {exc}"
        return _retry(run, delivery, error, None, "too_large")
    except PermanentDeliveryError as exc:
        if exc.disable:
            return TargetDisabled(str(exc), exc.reason)
        return Failed(str(exc), "permanent")
    except (TransientDeliveryError, MonitorError, OSError) as exc:
        # A config error (alert removed) or an unexpected OS error is retried like a
        # transient failure: the row stays visible, and the give-up window bounds it.
        if isinstance(exc, TransientDeliveryError):
            return _retry(run, delivery, str(exc), exc.retry_after, "transient")
        error = str(exc) if isinstance(exc, DeliveryError) else f"{exc.__class__.__name__}: {exc}"
        return _retry(run, delivery, error, None, "error")
    return Sent()


def _retry(
    run: _Pass, delivery: Delivery, error: str, retry_after: float | None, kind: RetryKind
) -> Retry | Failed:
    """Pending again after the backoff, or failed once the give-up window is over."""
    when = next_attempt(
        delivery.attempts + 1,
        delivery.created_at,
        run.now,
        retry_after,
        run.config.delivery,
        run.rand(),
    )
    if when is None:
        return Failed(f"gave up after {run.config.delivery.give_up_after}: {error}", "gave_up")
    return Retry(when, error, kind)


def _split(
    run: _Pass,
    delivery: Delivery,
    channel: Channel,
    ctx: RelayContext,
    limit: int | None,
    why: str,
) -> Split:
    """The digest in parts that fit, claimed until the lease would run out."""
    digest = delivery.digest
    parts = split_digest(digest, lambda part: channel.fits(part, ctx, limit))
    if len(parts) < 2:  # the receiver counts otherwise than our measure: halve by stories
        half = (digest.item_count + 1) // 2
        parts = split_digest(digest, lambda part: part.item_count <= half)
    reason = f"sent in {len(parts)} parts: {why}"
    return Split(tuple(parts), reason, run.clock() + run.config.replica.delivery_lease)


_LOST_WHEN: dict[type[Outcome], str] = {
    Sent: "while sending (it was sent)",
    Retry: "before marking it for a retry",
    Failed: "before marking it failed",
    TargetDisabled: "before marking it failed",
    Split: "before splitting it",
}


def _settle(run: _Pass, delivery: Delivery, outcome: Outcome) -> list[RelayOutcome]:
    """Apply ``outcome`` at once (before any other send), say so, and send a split's
    parts (a crash in between leaves them pending, claimed until the lease runs out,
    then any relay sends them)."""
    applied = run.outbox.apply_outcome(delivery, outcome, run.now)
    if not applied.held:
        # Sent, but the claim ran out meanwhile: the new holder may send it again (same
        # webhook-id / Message-ID). Only a send slower than the whole lease gets here.
        return [_lost(delivery, _LOST_WHEN[type(outcome)])]
    if isinstance(outcome, Sent):
        failpoint("after-mark")
    _log(delivery, outcome)
    if isinstance(outcome, Split):
        failpoint("after-split")
    reports = [_report(delivery, outcome, run.now)]
    for part in applied.parts:
        reports += _send_claimed(run, part)
    return reports


def _log(delivery: Delivery, outcome: Outcome) -> None:
    target = shown_target(delivery.channel, delivery.target)  # rows queued before labels
    where = f"alert {delivery.alert}, {delivery.channel} {target}, digest {delivery.digest.id}"
    context = {
        "alert": delivery.alert,
        "delivery": delivery.id,
        "channel": delivery.channel,
        "digest": delivery.digest.id,
    }
    match outcome:
        case Sent():
            log.info(
                "delivered %s: %s",
                where,
                counted(delivery.digest.item_count, "item"),
                extra=context,
            )
        case Retry(at=at, reason=reason):
            log.warning(
                "delivery %s will retry at %s (%s): %s",
                delivery.id,
                f"{at:%H:%M:%S}",
                where,
                reason,
                extra=context,
            )
        case Failed(kind="disabled"):
            pass  # said when the target answered 410
        case Failed(reason=reason) | TargetDisabled(reason=reason):
            log.error(
                "delivery %s failed for good (%s): %s", delivery.id, where, reason, extra=context
            )
        case Split(reason=reason):
            log.info(
                "alert %s, %s %s: digest %s %s",
                delivery.alert,
                delivery.channel,
                target,
                delivery.digest.id,
                reason,
                extra={
                    "alert": delivery.alert,
                    "delivery": delivery.id,
                    "digest": delivery.digest.id,
                },
            )


def _report(delivery: Delivery, outcome: Outcome | None, now: datetime | None) -> RelayOutcome:
    match outcome:
        case Sent():
            status, error = "sent", None
        case Retry(reason=reason):
            status, error = "retry", reason
        case Failed(reason=reason) | TargetDisabled(reason=reason):
            status, error = "failed", reason
        case Split(reason=reason):
            status, error = "split", reason
        case None:
            status, error = "lost", None
    return RelayOutcome(
        delivery.id,
        delivery.alert,
        delivery.channel,
        delivery.target,
        delivery.digest.id,
        delivery.digest.item_count,
        status,
        error,
        tuple(item.entry_id for section in delivery.digest.sections for item in section.items),
        outcome,
        now if isinstance(outcome, Sent) else None,
        delivery.first_seen,
    )


def _lost(delivery: Delivery, when: str) -> RelayOutcome:
    reason = f"lease lost {when}: another relay took delivery {delivery.id} over"
    log.warning(
        "alert %s, %s %s: %s",
        delivery.alert,
        delivery.channel,
        shown_target(delivery.channel, delivery.target),
        reason,
        extra={"alert": delivery.alert, "delivery": delivery.id},
    )
    return replace(_report(delivery, None, None), error=reason)
