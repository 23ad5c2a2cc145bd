"""The relay's view of the channels: a delivery row (channel, target) back to its entry.

A ledger row names its channel by ``type`` and its target as the channel's
``targets`` gave it; :func:`entry_for` finds the alert's entry that owns that
target today (an entry removed or changed since the row was queued fails the
row: the alert no longer sends there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.channels.base import ChannelSettings, SendContext
from monitor.channels.registry import CHANNELS as REGISTERED
from monitor.errors import PermanentDeliveryError
from monitor.redact import shown_target
from monitor.types import Digest

if TYPE_CHECKING:
    from monitor.deliver.alerts import AlertConfig, RelayConfig
    from monitor.deliver.webhook import WebhookClient
    from monitor.store.outbox import Delivery


@dataclass(frozen=True, slots=True)
class RelayContext:
    """What a channel needs besides the delivery."""

    config: RelayConfig
    alert: AlertConfig
    http: WebhookClient
    target: str
    """The delivery's target: which of the alert's entries it goes to."""

    def send_context(self) -> SendContext:
        return SendContext(
            self.alert.name, self.alert.timezone, self.config.delivery, self.config.smtp, self.http
        )


@dataclass(frozen=True, slots=True)
class Channel:
    """One registered channel, as the relay calls it."""

    kind: str

    def send(self, delivery: Delivery, ctx: RelayContext) -> None:
        entry = entry_for(ctx.alert, self.kind, delivery.target)
        REGISTERED[self.kind].send(delivery.digest, delivery.target, entry, ctx.send_context())

    def fits(self, digest: Digest, ctx: RelayContext, limit: int | None) -> bool:
        """Whether one message holds the digest whole, within the configured bound (and
        within ``limit`` when a receiver's refusal gave one)."""
        entry = entry_for(ctx.alert, self.kind, ctx.target)
        return REGISTERED[self.kind].fits(digest, entry, ctx.send_context(), limit)


CHANNELS: dict[str, Channel] = {kind: Channel(kind) for kind in REGISTERED}


def entry_for(alert: AlertConfig, kind: str, target: str) -> ChannelSettings:
    """The alert's ``kind`` entry that ``target`` belongs to."""
    # Rows queued before webhook targets were labels hold the URL itself.
    shown = shown_target(kind, target)
    for entry in alert.entries:
        if entry.type == kind and shown in REGISTERED[kind].targets(entry):
            return entry
    raise PermanentDeliveryError(kind, f"alert {alert.name!r} no longer sends to {shown}")


def delivery_targets(alert: AlertConfig) -> list[tuple[str, str]]:
    """Every (channel, target) an alert's digest must reach, each once."""
    pairs = (
        (entry.type, target)
        for entry in alert.entries
        for target in REGISTERED[entry.type].targets(entry)
    )
    return list(dict.fromkeys(pairs))
