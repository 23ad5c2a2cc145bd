"""What every channel is: a settings model and one interface (:class:`Channel`).

A channel's settings model (a :class:`ChannelSettings`) is one typed entry of an
alert's ``channels:`` list, told apart by its ``type``. The channel itself turns
one digest into one message for one target:

* ``targets(settings)``: where the alert's digest goes on this entry, one ledger
  row each (an email recipient, a webhook's label, an Apprise URL's label). A
  target is shown in logs and the CLI, so it never holds a credential;
* ``send(digest, target, settings, context)``: deliver, or raise a
  :class:`~monitor.errors.DeliveryError` saying whether trying again may help;
* ``fits(digest, settings, context, limit)``: whether one message holds the whole
  digest (within ``limit`` bytes when a receiver's refusal gave one); when not,
  the relay sends it in parts (:mod:`monitor.digest.split`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from monitor.fields import SettingsModel
from monitor.types import Digest

if TYPE_CHECKING:
    from monitor.channels.email import SmtpConfig
    from monitor.deliver.settings import DeliverySettings
    from monitor.deliver.webhook import WebhookClient


class ChannelSettings(SettingsModel):
    """One channel entry of an alert."""

    type: str
    """The channel's name; each settings model narrows it to ``Literal[its name]``."""

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What is wrong beyond the types, checked once the config is read: (the key's
        path within the entry, why). A check that needs a library imports it here."""
        return []

    SECRETS: ClassVar[dict[str, bool]] = {}
    """Keys that may be read from ``KEY_file``; True: a value written inline is refused."""


@dataclass(frozen=True, slots=True)
class SendContext:
    """What a send needs besides the digest, the target and the entry's settings."""

    alert: str
    """The alert's name, for messages."""
    timezone: str
    """The alert's IANA zone: where times are shown."""
    delivery: DeliverySettings
    """Shared delivery limits: the SSRF exemptions, body and answer caps."""
    smtp: SmtpConfig | None
    """The mail server (email only)."""
    http: WebhookClient
    """The guarded HTTP client of this relay pass (whole-request deadline, no proxies)."""


S_contra = TypeVar("S_contra", bound=ChannelSettings, contravariant=True)


class Channel(Protocol[S_contra]):
    """One kind of channel; its module registers one in :mod:`monitor.channels.registry`."""

    @property
    def kind(self) -> str:
        """The ``type:`` of its entries and the ledger's ``channel`` column."""
        ...

    @property
    def settings(self) -> type[ChannelSettings]:
        """Its settings model."""
        ...

    def targets(self, settings: S_contra) -> tuple[str, ...]: ...

    def send(
        self, digest: Digest, target: str, settings: S_contra, context: SendContext
    ) -> None: ...

    def fits(
        self, digest: Digest, settings: S_contra, context: SendContext, limit: int | None
    ) -> bool: ...
