"""The webhook channel: the digest POSTed as JSON, signed per the Standard Webhooks spec.

The body is one of the formats of :mod:`monitor.deliver.formats` (``standard``
JSON, or a Slack, Discord or Teams message); posting, signing and the answer's
meaning live in :mod:`monitor.deliver.webhook`. The URL of a chat webhook is its
credential, so the ledger's target is its label (scheme, host, short hash).
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import SecretStr, field_validator

from monitor.channels.base import ChannelSettings, SendContext
from monitor.deliver.signing import decode_secret
from monitor.fields import Duration, HttpUrl
from monitor.types import Digest

# What the chat formats write for stories they had no room for (see monitor.deliver.formats).
LEFT_OUT = re.compile("…and [0-9]+ more in ".encode())


class WebhookChannel(ChannelSettings):
    """POST the digest as JSON, signed per the Standard Webhooks spec."""

    SECRETS: ClassVar[dict[str, bool]] = {"secret": True, "url": False}

    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    """The receiver. A Slack, Discord or Teams URL is a credential: give it as
    ``${ENV_VAR}`` or ``url_file``; it is shown everywhere as scheme, host and a short hash."""
    secret: SecretStr
    """Signing key, ``whsec_``-prefixed base64 or any string (then used as raw bytes)."""
    format: Literal["standard", "slack", "discord", "teams"] = "standard"
    """Body format: ``standard`` (monitor's JSON), or a Slack, Discord or Teams message."""
    timeout: Duration = timedelta(seconds=15)
    """Whole-request deadline: connecting, sending and the receiver's whole answer."""

    @property
    def label(self) -> str:
        """The URL as logs, the ledger and the CLI show it (it may be a credential)."""
        from monitor.redact import webhook_label

        return webhook_label(self.url)

    @field_validator("secret")
    @classmethod
    def _secret_is_a_key(cls, value: SecretStr) -> SecretStr:
        decode_secret(value.get_secret_value())
        return value


class _Webhook:
    kind: ClassVar[str] = "webhook"
    settings: ClassVar[type[ChannelSettings]] = WebhookChannel

    def targets(self, settings: WebhookChannel) -> tuple[str, ...]:
        # The label, not the URL: a chat webhook's URL is its credential.
        return (settings.label,)

    def send(
        self, digest: Digest, target: str, settings: WebhookChannel, context: SendContext
    ) -> None:
        from monitor.deliver.webhook import send_webhook

        send_webhook(digest, settings, context.http, timezone=context.timezone)

    def fits(
        self, digest: Digest, settings: WebhookChannel, context: SendContext, limit: int | None
    ) -> bool:
        from monitor.deliver.formats import FORMATS
        from monitor.deliver.webhook import webhook_body

        if settings.format not in FORMATS:
            return True  # sending says what is wrong
        bound = min(context.delivery.max_webhook_bytes[settings.format], limit or sys.maxsize)
        if len(webhook_body(digest, settings.format, context.timezone)) > bound:
            return False
        if settings.format == "standard":
            return True
        # A chat message has room for so many stories; those it cannot show go to another
        # part. Stories max_items left out are counted in a note by design, so not here.
        shown = digest.model_copy(
            update={
                "omitted": 0,
                "sections": tuple(s.model_copy(update={"omitted": 0}) for s in digest.sections),
            }
        )
        return LEFT_OUT.search(webhook_body(shown, settings.format, context.timezone)) is None


CHANNEL = _Webhook()
