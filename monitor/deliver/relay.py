"""The relay: send queued deliveries, then record the outcome in the ledger.

Adding a channel means one module with a ``send`` function and one line in
:data:`CHANNELS`. A delivery is marked sent only after its channel returned
without error; a transient failure leaves it pending for the next run, a
permanent one marks it failed. Nothing here decides *what* to send: the
digest was fixed when it was queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from monitor.config import AlertConfig, Config
from monitor.deliver.email import build_message, send_email
from monitor.deliver.webhook import send_webhook
from monitor.digest.render import render_digest
from monitor.errors import DeliveryError, PermanentDeliveryError
from monitor.store.queries import Delivery, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayContext:
    """What a channel needs besides the delivery."""

    config: Config
    alert: AlertConfig
    http: httpx.Client
    now: datetime


def _send_email(delivery: Delivery, ctx: RelayContext) -> None:
    channel, smtp = ctx.alert.email, ctx.config.smtp
    if channel is None or smtp is None:
        raise PermanentDeliveryError(
            "email", f"alert {ctx.alert.name!r} no longer has an email channel"
        )
    rendered = render_digest(delivery.digest, ctx.alert.timezone, channel.subject_prefix)
    refused = send_email(build_message(delivery.digest, rendered, channel, smtp), smtp)
    if refused:
        log.warning(
            "alert %s: digest %s refused for %s",
            ctx.alert.name,
            delivery.digest.id,
            ", ".join(refused),
        )


def _send_webhook(delivery: Delivery, ctx: RelayContext) -> None:
    if ctx.alert.webhook is None:
        raise PermanentDeliveryError(
            "webhook", f"alert {ctx.alert.name!r} no longer has a webhook channel"
        )
    send_webhook(delivery.digest, ctx.alert.webhook, ctx.http)


CHANNELS: dict[str, Callable[[Delivery, RelayContext], None]] = {
    "email": _send_email,
    "webhook": _send_webhook,
}


@dataclass(frozen=True, slots=True)
class RelayOutcome:
    delivery_id: int
    alert: str
    channel: str
    digest_id: str
    items: int
    status: str  # "sent", "retry" or "failed"
    error: str | None = None


def relay(
    store: Store, config: Config, deliveries: list[Delivery], now: datetime
) -> list[RelayOutcome]:
    """Send each delivery once; record each outcome as soon as it is known."""
    outcomes = []
    with httpx.Client() as http:
        for delivery in deliveries:
            outcomes.append(_relay_one(store, config, delivery, http, now))
    return outcomes


def _relay_one(
    store: Store, config: Config, delivery: Delivery, http: httpx.Client, now: datetime
) -> RelayOutcome:
    def outcome(status: str, error: str | None = None) -> RelayOutcome:
        return RelayOutcome(
            delivery.id,
            delivery.alert,
            delivery.channel,
            delivery.digest.id,
            delivery.digest.item_count,
            status,
            error,
        )

    try:
        alert = config.alert(delivery.alert)
        send = CHANNELS.get(delivery.channel)
        if send is None:
            raise PermanentDeliveryError(delivery.channel, "unknown channel")
        send(delivery, RelayContext(config, alert, http, now))
    except DeliveryError as exc:
        permanent = isinstance(exc, PermanentDeliveryError)
        store.mark_attempt_failed(delivery.id, now, str(exc), permanent=permanent)
        log.error(
            "delivery %s failed (%s): alert %s, %s, digest %s: %s",
            delivery.id,
            "permanent" if permanent else "will retry",
            delivery.alert,
            delivery.channel,
            delivery.digest.id,
            exc,
        )
        return outcome("failed" if permanent else "retry", str(exc))
    except (
        Exception
    ) as exc:  # a config mismatch or bug: keep the row, say why, go on with the others
        store.mark_attempt_failed(
            delivery.id, now, f"{exc.__class__.__name__}: {exc}", permanent=False
        )
        log.exception("delivery %s: unexpected error, will retry", delivery.id)
        return outcome("retry", str(exc))
    store.mark_sent(delivery.id, now)
    log.info(
        "delivered digest %s of alert %s by %s: %d items",
        delivery.digest.id,
        delivery.alert,
        delivery.channel,
        delivery.digest.item_count,
    )
    return outcome("sent")
