"""The email channel: the digest as a multipart message through the ``smtp`` server.

One ledger row per recipient, so a recipient refused or deferred never causes a
resend to the others. The message itself is built and sent by
:mod:`monitor.deliver.email`.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import ConfigDict, Field, SecretStr

from monitor.channels.base import ChannelSettings, SendContext
from monitor.errors import PermanentDeliveryError
from monitor.fields import Duration, EmailAddress, SettingsModel
from monitor.types import Digest

if TYPE_CHECKING:
    from email.message import EmailMessage


class EmailChannel(ChannelSettings):
    """Send the digest by email through the ``smtp`` server."""

    type: Literal["email"] = "email"
    to: tuple[EmailAddress, ...] = Field(min_length=1)
    subject_prefix: str = "[monitor]"


class SmtpConfig(SettingsModel):
    """The mail server that email channels send through."""

    host: str = "localhost"
    port: int = Field(default=25, gt=0, lt=65536)
    username: str | None = None
    password: SecretStr | None = None
    security: Literal["none", "starttls", "ssl"] = "none"
    """``starttls`` upgrades a plain connection; ``ssl`` connects with TLS at once."""
    sender: str = Field(default="monitor@localhost", alias="from")
    timeout: Duration = timedelta(seconds=30)
    allow_insecure_auth: bool = False
    """Send ``username``/``password`` with ``security: none`` (in clear text); only for a
    relay on loopback or a trusted local network."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class _Email:
    kind: ClassVar[str] = "email"
    settings: ClassVar[type[ChannelSettings]] = EmailChannel

    def targets(self, settings: EmailChannel) -> tuple[str, ...]:
        return settings.to

    def send(
        self, digest: Digest, target: str, settings: EmailChannel, context: SendContext
    ) -> None:
        from monitor.deliver.email import send_email

        message = _message(digest, settings, context)
        assert context.smtp is not None  # checked by _message
        send_email(message, context.smtp, recipients=[target])

    def fits(
        self, digest: Digest, settings: EmailChannel, context: SendContext, limit: int | None
    ) -> bool:
        from monitor.deliver.email import message_bytes

        bound = min(context.delivery.max_message_bytes, limit or sys.maxsize)
        return message_bytes(_message(digest, settings, context)) <= bound


def _message(digest: Digest, settings: EmailChannel, context: SendContext) -> EmailMessage:
    from monitor.deliver.email import build_message
    from monitor.digest.render import render_digest

    if context.smtp is None:
        raise PermanentDeliveryError(
            "email", f"alert {context.alert!r} has an email channel but no smtp section"
        )
    rendered = render_digest(digest, context.timezone, settings.subject_prefix)
    return build_message(digest, rendered, settings, context.smtp)


CHANNEL = _Email()
