"""The relay: send queued deliveries, then record each outcome in the ledger.

A channel is one module with two functions, registered in :data:`CHANNELS`:
``targets(alert)`` (where an alert's digest goes on that channel: one email
recipient each, one webhook URL) and ``send(delivery, context)``. Adding a
channel touches nothing else.

The ledger row changes only after the channel answered:

* accepted -> ``sent``;
* transient failure -> stays ``pending`` with ``next_attempt_at`` from the
  backoff policy (:mod:`monitor.deliver.policy`), or ``failed`` once the
  give-up window is over;
* permanent failure -> ``failed``; a 410 Gone also disables that target, so
  later digests do not knock again (``monitor deliveries retry`` re-enables).

A crash between the channel accepting and the row being marked leaves the row
pending: it is sent again, with the same Message-ID / webhook-id, and the
receiver can drop the repeat. That window is the only way to see a digest
twice; nothing is ever lost.

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

from monitor.config import AlertConfig, Config
from monitor.deliver.email import build_message, send_email
from monitor.deliver.policy import next_attempt
from monitor.deliver.webhook import WebhookClient, send_webhook
from monitor.digest.render import render_digest
from monitor.errors import (
    DeliveryError,
    MonitorError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from monitor.ops.failpoints import failpoint
from monitor.redact import shown_target
from monitor.store.queries import Delivery, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayContext:
    """What a channel needs besides the delivery."""

    config: Config
    alert: AlertConfig
    http: WebhookClient


@dataclass(frozen=True, slots=True)
class Channel:
    targets: Callable[[AlertConfig], tuple[str, ...]]
    send: Callable[[Delivery, RelayContext], None]


def _email_targets(alert: AlertConfig) -> tuple[str, ...]:
    return alert.email.to if alert.email else ()


def _send_email(delivery: Delivery, ctx: RelayContext) -> None:
    channel, smtp = ctx.alert.email, ctx.config.smtp
    if channel is None or smtp is None:
        raise PermanentDeliveryError(
            "email", f"alert {ctx.alert.name!r} no longer has an email channel"
        )
    rendered = render_digest(delivery.digest, ctx.alert.timezone, channel.subject_prefix)
    message = build_message(delivery.digest, rendered, channel, smtp)
    send_email(message, smtp, recipients=[delivery.target])


def _webhook_targets(alert: AlertConfig) -> tuple[str, ...]:
    # The label, not the URL: a chat webhook's URL is its credential (rows queued before
    # labels were used hold the URL itself, hence the second form below).
    return (alert.webhook.label,) if alert.webhook else ()


def _send_webhook(delivery: Delivery, ctx: RelayContext) -> None:
    hook = ctx.alert.webhook
    if hook is None or delivery.target not in (hook.label, hook.url):
        raise PermanentDeliveryError(
            "webhook",
            f"alert {ctx.alert.name!r} no longer posts to {shown_target('webhook', delivery.target)}",
        )
    send_webhook(delivery.digest, hook, ctx.http, timezone=ctx.alert.timezone)


CHANNELS: dict[str, Channel] = {
    "email": Channel(_email_targets, _send_email),
    "webhook": Channel(_webhook_targets, _send_webhook),
}


def delivery_targets(alert: AlertConfig) -> list[tuple[str, str]]:
    """Every (channel, target) an alert's digest must reach."""
    return [
        (name, target) for name, channel in CHANNELS.items() for target in channel.targets(alert)
    ]


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
    """``sent``, ``retry`` (still pending), ``failed``, or ``lost`` (another relay took
    the claim over; this one left the row alone)."""
    error: str | None = None
    entry_ids: tuple[int, ...] = ()
    """The entries the digest carried (for first-sight-to-delivery timing)."""


def relay(
    store: Store,
    config: Config,
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
            lease = delivery.lease
            if lease is not None and not store.renew_delivery(
                delivery.id, lease, clock() + config.replica.delivery_lease
            ):
                outcomes.append(_lost(delivery, "before sending"))
                continue
            outcomes.append(_relay_one(store, config, delivery, http, now, rand))
    return outcomes


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


def _relay_one(
    store: Store,
    config: Config,
    delivery: Delivery,
    http: WebhookClient,
    now: datetime,
    rand: Callable[[], float],
) -> RelayOutcome:
    target = shown_target(delivery.channel, delivery.target)  # rows queued before labels
    where = f"alert {delivery.alert}, {delivery.channel} {target}, digest {delivery.digest.id}"
    context = {
        "alert": delivery.alert,
        "delivery": delivery.id,
        "channel": delivery.channel,
        "digest": delivery.digest.id,
    }
    try:
        channel = CHANNELS.get(delivery.channel)
        if channel is None:
            raise PermanentDeliveryError(delivery.channel, "unknown channel")
        failpoint("before-send")
        channel.send(delivery, RelayContext(config, config.alert(delivery.alert), http))
        failpoint("after-send")
    except PermanentDeliveryError as exc:
        if not store.mark_failed(delivery.id, now, str(exc), lease=delivery.lease):
            return _lost(delivery, "before marking it failed")
        if exc.disable:
            store.disable_target(delivery.alert, delivery.channel, delivery.target, exc.reason, now)
        log.error("delivery %s failed for good (%s): %s", delivery.id, where, exc, extra=context)
        return _outcome(delivery, "failed", str(exc))
    except (TransientDeliveryError, MonitorError, OSError) as exc:
        # A config error (alert removed) or an unexpected OS error is retried like a
        # transient failure: the row stays visible, and the give-up window bounds it.
        retry_after = exc.retry_after if isinstance(exc, TransientDeliveryError) else None
        error = str(exc) if isinstance(exc, DeliveryError) else f"{exc.__class__.__name__}: {exc}"
        when = next_attempt(
            delivery.attempts + 1, delivery.created_at, now, retry_after, config.delivery, rand()
        )
        if when is None:
            reason = f"gave up after {config.delivery.give_up_after}: {error}"
            if not store.mark_failed(delivery.id, now, reason, lease=delivery.lease):
                return _lost(delivery, "before marking it failed")
            log.error(
                "delivery %s failed for good (%s): %s", delivery.id, where, reason, extra=context
            )
            return _outcome(delivery, "failed", reason)
        if not store.mark_retry(delivery.id, now, error, when, lease=delivery.lease):
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
    if not store.mark_sent(delivery.id, now, lease=delivery.lease):
        # Sent, but the claim ran out meanwhile: the new holder may send it again (same
        # webhook-id / Message-ID). Only a send slower than the whole lease gets here.
        return _lost(delivery, "while sending (it was sent)")
    failpoint("after-mark")
    log.info("delivered %s: %d items", where, delivery.digest.item_count, extra=context)
    return _outcome(delivery, "sent")
