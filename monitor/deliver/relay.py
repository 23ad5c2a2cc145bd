"""The relay: send queued deliveries, then record each outcome in the ledger.

The channels are :mod:`monitor.channels` (one module each, registered in one
line); :mod:`monitor.channels.dispatch` finds a row's entry in its alert and
calls the channel's ``send`` and ``fits`` (whether one message holds the
digest). Adding a channel touches nothing here.

The ledger row changes only after the channel answered:

* accepted -> ``sent``;
* transient failure -> stays ``pending`` with ``next_attempt_at`` from the
  backoff policy (:mod:`monitor.deliver.policy`), or ``failed`` once the
  give-up window is over;
* permanent failure -> ``failed``; a 410 Gone also disables that target, so
  later digests do not knock again (``monitor deliveries retry`` re-enables).

A digest too big for one message (over ``delivery.max_message_bytes`` or the
format's ``delivery.max_webhook_bytes``, or refused by the receiver for its
size) is never failed for it: the row becomes ``split`` and, in the same
transaction, each part (:mod:`monitor.digest.split`) becomes a digest and a
pending delivery of its own, sent right after under the same claim. A part
refused for size is split again; a single story refused for size stays
pending and is retried like a transient failure, its reason saying so.

A crash between the channel accepting and the row being marked leaves the row
pending: it is sent again, with the same Message-ID / webhook-id, and the
receiver can drop the repeat. That window is the only way to see a digest (or
a part) twice; nothing is ever lost.

Deliveries arrive claimed (:meth:`Store.claim_deliveries`): the claim is
renewed just before each send, and every mark applies only while the same
claim still holds the row. A relay whose claim ran out while a slow receiver
held it up, and was taken over by another relay, sends nothing more and marks
nothing: the other relay owns the row (outcome ``lost``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
from monitor.store.outbox import Delivery
from monitor.store.store import Store

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
    """The entries the digest carried (for first-sight-to-delivery timing)."""


@dataclass(frozen=True, slots=True)
class _Pass:
    """One relay pass: what every send in it shares."""

    store: Store
    config: RelayConfig
    http: WebhookClient
    now: datetime
    rand: Callable[[], float]
    clock: Callable[[], datetime]


def relay(
    store: Store,
    config: RelayConfig,
    deliveries: Sequence[Delivery],
    now: datetime,
    rand: Callable[[], float] = random.random,
    clock: Callable[[], datetime] | None = None,
) -> list[RelayOutcome]:
    """Send each delivery once; record each outcome as soon as it is known.

    ``clock`` dates the lease renewals (default: ``now`` throughout)."""
    clock = clock or (lambda: now)
    disabled = (
        {(d.alert, d.channel, d.target): d for d in store.disabled_targets()} if deliveries else {}
    )
    outcomes = []
    with WebhookClient(config.delivery) as http:
        run = _Pass(store, config, http, now, rand, clock)
        for delivery in deliveries:
            gone = disabled.get((delivery.alert, delivery.channel, delivery.target))
            if gone is not None:
                reason = f"target disabled: it answered {gone.reason} at {gone.disabled_at:%Y-%m-%d %H:%M} UTC"
                if store.mark_failed(
                    delivery.id, now, reason, attempted=False, lease=delivery.lease
                ):
                    outcomes.append(_outcome(delivery, "failed", reason))
                else:
                    outcomes.append(_lost(delivery, "before marking it failed"))
                continue
            outcomes += _send_claimed(run, delivery)
    return outcomes


def _send_claimed(run: _Pass, delivery: Delivery) -> list[RelayOutcome]:
    """Renew the claim, then send: a claim lost meanwhile sends nothing."""
    lease = delivery.lease
    if lease is not None and not run.store.renew_delivery(
        delivery.id, lease, run.clock() + run.config.replica.delivery_lease
    ):
        return [_lost(delivery, "before sending")]
    return _relay_one(run, delivery)


def _outcome(delivery: Delivery, status: str, error: str | None = None) -> RelayOutcome:
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
    return _outcome(delivery, "lost", reason)


def _relay_one(run: _Pass, delivery: Delivery) -> list[RelayOutcome]:
    store = run.store
    target = shown_target(delivery.channel, delivery.target)  # rows queued before labels
    where = f"alert {delivery.alert}, {delivery.channel} {target}, digest {delivery.digest.id}"
    context = {
        "alert": delivery.alert,
        "delivery": delivery.id,
        "channel": delivery.channel,
        "digest": delivery.digest.id,
    }
    several = delivery.digest.item_count > 1
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
        return [_retry_later(run, delivery, error, None, where, context)]
    except PermanentDeliveryError as exc:
        if not store.mark_failed(delivery.id, run.now, str(exc), lease=delivery.lease):
            return [_lost(delivery, "before marking it failed")]
        if exc.disable:
            store.disable_target(
                delivery.alert, delivery.channel, delivery.target, exc.reason, run.now
            )
        log.error("delivery %s failed for good (%s): %s", delivery.id, where, exc, extra=context)
        return [_outcome(delivery, "failed", str(exc))]
    except (TransientDeliveryError, MonitorError, OSError) as exc:
        # A config error (alert removed) or an unexpected OS error is retried like a
        # transient failure: the row stays visible, and the give-up window bounds it.
        retry_after = exc.retry_after if isinstance(exc, TransientDeliveryError) else None
        error = str(exc) if isinstance(exc, DeliveryError) else f"{exc.__class__.__name__}: {exc}"
        return [_retry_later(run, delivery, error, retry_after, where, context)]
    if not store.mark_sent(delivery.id, run.now, lease=delivery.lease):
        # Sent, but the claim ran out meanwhile: the new holder may send it again (same
        # webhook-id / Message-ID). Only a send slower than the whole lease gets here.
        return [_lost(delivery, "while sending (it was sent)")]
    failpoint("after-mark")
    log.info("delivered %s: %d items", where, delivery.digest.item_count, extra=context)
    return [_outcome(delivery, "sent")]


def _retry_later(
    run: _Pass,
    delivery: Delivery,
    error: str,
    retry_after: float | None,
    where: str,
    context: dict[str, object],
) -> RelayOutcome:
    when = next_attempt(
        delivery.attempts + 1,
        delivery.created_at,
        run.now,
        retry_after,
        run.config.delivery,
        run.rand(),
    )
    if when is None:
        reason = f"gave up after {run.config.delivery.give_up_after}: {error}"
        if not run.store.mark_failed(delivery.id, run.now, reason, lease=delivery.lease):
            return _lost(delivery, "before marking it failed")
        log.error("delivery %s failed for good (%s): %s", delivery.id, where, reason, extra=context)
        return _outcome(delivery, "failed", reason)
    if not run.store.mark_retry(delivery.id, run.now, error, when, lease=delivery.lease):
        return _lost(delivery, "before marking it for a retry")
    log.warning(
        "delivery %s will retry at %s (%s): %s",
        delivery.id,
        f"{when:%H:%M:%S}",
        where,
        error,
        extra=context,
    )
    return _outcome(delivery, "retry", error)


def _split(
    run: _Pass,
    delivery: Delivery,
    channel: Channel,
    ctx: RelayContext,
    limit: int | None,
    why: str,
) -> list[RelayOutcome]:
    """Put the digest in parts that fit, in one transaction with the row becoming
    ``split``; then send each part (a crash in between leaves them pending, claimed
    until the lease runs out, then any relay sends them)."""
    digest = delivery.digest
    parts = split_digest(digest, lambda part: channel.fits(part, ctx, limit))
    if len(parts) < 2:  # the receiver counts otherwise than our measure: halve by stories
        half = (digest.item_count + 1) // 2
        parts = split_digest(digest, lambda part: part.item_count <= half)
    reason = f"sent in {len(parts)} parts: {why}"
    until = run.clock() + run.config.replica.delivery_lease
    created = run.store.split_delivery(delivery, parts, reason, run.now, until)
    if created is None:
        return [_lost(delivery, "before splitting it")]
    log.info(
        "alert %s, %s %s: digest %s %s",
        delivery.alert,
        delivery.channel,
        shown_target(delivery.channel, delivery.target),
        digest.id,
        reason,
        extra={"alert": delivery.alert, "delivery": delivery.id, "digest": digest.id},
    )
    failpoint("after-split")
    outcomes = [_outcome(delivery, "split", reason)]
    for part in created:
        outcomes += _send_claimed(run, part)
    return outcomes
