"""The config's ``alerts:`` entries: who hears about which watches, when, and on which
channels; and what the relay reads of the whole configuration.

Declared here, next to the relay that sends them (:mod:`.relay`); the scheduler
and the pipeline read the schedule, the quiet hours and the immediate watches.
:mod:`monitor.config` places a list of them under ``alerts:`` and checks that the
watches they name exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import ConfigDict, Field

from monitor.channels.base import ChannelSettings
from monitor.channels.email import EmailChannel
from monitor.channels.registry import ChannelEntry
from monitor.channels.webhook import WebhookChannel
from monitor.fields import Cron, Name, QuietHours, SettingsModel, Timezone

if TYPE_CHECKING:
    from monitor.channels.email import SmtpConfig
    from monitor.deliver.settings import DeliverySettings
    from monitor.store.settings import ReplicaSettings


class AlertConfig(SettingsModel):
    """Who hears about which watches, and when."""

    name: Name
    watches: tuple[str, ...] = Field(min_length=1)
    schedule: Cron = "0 8 * * *"
    """Cron (minute hour day month weekday) at which the digest goes out."""
    timezone: Timezone = "UTC"
    """Timezone of ``schedule`` and of the times shown in the digest."""
    email: EmailChannel | None = None
    """The ``email:`` key: an email entry written apart (the older form)."""
    webhook: WebhookChannel | None = None
    """The ``webhook:`` key: a webhook entry written apart (the older form)."""
    listed: tuple[ChannelEntry, ...] = Field(default=(), alias="channels")
    """The ``channels:`` key: typed entries (``{type: NAME, …}``), see
    :mod:`monitor.channels`."""
    min_items: int = Field(default=1, ge=1)
    """A digest with fewer items is not sent; the items wait for the next one."""
    max_items: int | None = Field(default=50, ge=1)
    """Most items shown in one digest; the rest are counted as "and N more". 50 keeps an
    HTML digest under the ~100 KB at which some mail clients cut a message."""
    quiet_hours: QuietHours | None = None
    """``"22:00-07:00"`` in ``timezone``: nothing is sent then; it waits until the end."""
    immediate: tuple[str, ...] = ()
    """Watches whose hits are sent within one poll cycle instead of at the schedule."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", hide_input_in_errors=True, populate_by_name=True
    )

    @property
    def entries(self) -> tuple[ChannelSettings, ...]:
        """Every channel entry: ``email:``, ``webhook:``, then ``channels:`` in order."""
        written_apart = tuple(entry for entry in (self.email, self.webhook) if entry is not None)
        return written_apart + tuple(self.listed)

    @property
    def channels(self) -> tuple[str, ...]:
        """The kinds of channel configured, each once, in delivery order."""
        kinds = {entry.type: None for entry in self.entries}
        return tuple(kinds)


class RelayConfig(Protocol):
    """What the relay and the channels read of the configuration: it is handed the
    composed config (a ``monitor.config.Config``) and does not import it."""

    @property
    def delivery(self) -> DeliverySettings: ...
    @property
    def replica(self) -> ReplicaSettings: ...
    @property
    def smtp(self) -> SmtpConfig | None: ...
    def alert(self, name: str) -> AlertConfig:
        """The alert of that name; a ConfigError when there is none (any more)."""
        ...
