"""The ntfy channel: a push notification through an ntfy server (ntfy.sh or your own).

The digest goes out through ntfy's JSON publish API: a POST to the server's root
with ``topic``, ``title`` (the alert and its counts), ``message`` (the stories as
plain text, :mod:`monitor.channels.text`), ``priority``, ``tags`` and ``click``
(the entry's, or the story's own link when the digest carries one story). JSON
rather than the ``Title:``/``Tags:`` headers: headers cannot carry the UTF-8 of
a headline without an encoding of their own.

A message is at most ``max_message_bytes`` (ntfy's own default limit is 4,096
bytes; a longer one becomes an attachment, or is refused): stories that do not
fit go to another part of the digest. A reserved topic or a protected server
takes an access ``token`` (a secret: ``${ENV}`` or ``token_file``). Answers: 2xx
delivered; 413 too large (split); 429 and 5xx retried; other 4xx fail.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from monitor.channels.base import ChannelSettings, SendContext
from monitor.errors import PermanentDeliveryError, TooLargeError, TransientDeliveryError
from monitor.fields import Duration, HttpUrl
from monitor.types import Digest

_SHOWN_ANSWER = 200  # characters of a refusing server's answer kept in the error


def _utf8(text: str) -> int:
    return len(text.encode())


class NtfyChannel(ChannelSettings):
    """Publish the digest to an ntfy topic."""

    SECRETS: ClassVar[dict[str, bool]] = {"token": True}

    type: Literal["ntfy"] = "ntfy"
    server: HttpUrl = "https://ntfy.sh"
    """The ntfy server; its root takes the JSON publish API."""
    topic: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    """The topic (on a public server, its name is all a subscriber needs: pick one hard
    to guess, or reserve it and give a token)."""
    token: SecretStr | None = None
    """Access token (``tk_…``), sent as ``Authorization: Bearer``; a secret."""
    priority: Literal["min", "low", "default", "high", "max", 1, 2, 3, 4, 5] = "default"
    """ntfy's priority, by name or 1 (min) to 5 (max)."""
    tags: tuple[str, ...] = ()
    """Tags (emoji short codes such as ``newspaper`` show as emoji)."""
    click: HttpUrl | None = None
    """Opened when the notification is tapped; default: the story's link when the digest
    carries a single story."""
    max_message_bytes: int = Field(default=4_096, ge=1_000, le=1_000_000)
    """Largest message sent (UTF-8 bytes); ntfy's default server limit is 4,096."""
    timeout: Duration = timedelta(seconds=15)
    """Whole-request deadline: connecting, sending and the server's whole answer."""

    @property
    def label(self) -> str:
        """The topic's address as shown: a public topic's name is its only credential."""
        from monitor.redact import webhook_label

        return webhook_label(f"{self.server.rstrip('/')}/{self.topic}")


_PRIORITIES = {"min": 1, "low": 2, "default": 3, "high": 4, "max": 5}


class _Ntfy:
    kind: ClassVar[str] = "ntfy"
    settings: ClassVar[type[ChannelSettings]] = NtfyChannel

    def targets(self, settings: NtfyChannel) -> tuple[str, ...]:
        return (settings.label,)

    def send(
        self, digest: Digest, target: str, settings: NtfyChannel, context: SendContext
    ) -> None:
        from monitor.channels.http import post_json
        from monitor.channels.text import PLAIN_TEXT, compose
        from monitor.fetch.client import retry_after
        from monitor.ops.terminal import one_line

        name = f"ntfy {settings.label}"
        message = compose(digest, context.timezone, PLAIN_TEXT, settings.max_message_bytes, _utf8)
        payload: dict[str, object] = {
            "topic": settings.topic,
            "title": message.title,
            "message": message.text,
            "priority": _PRIORITIES.get(str(settings.priority), settings.priority),
        }
        if settings.tags:
            payload["tags"] = list(settings.tags)
        click = settings.click or _only_link(digest)
        if click:
            payload["click"] = click
        headers = {}
        secret = ""
        if settings.token is not None:
            secret = settings.token.get_secret_value()
            headers["authorization"] = f"Bearer {secret}"
        seconds = settings.timeout.total_seconds()
        answer = post_json(
            context.http, name, settings.server.rstrip("/") + "/", payload, seconds, headers, secret
        )
        status = answer.status
        if 200 <= status < 300:
            return
        said = one_line(answer.text)[:_SHOWN_ANSWER]
        reason = f"HTTP {status} {answer.reason}" + (f": {said}" if said else "")
        if status == 413:
            size = _utf8(message.text)
            raise TooLargeError(name, f"{reason} (the message was {size:,} bytes)", size)
        if status == 429 or status >= 500:
            delay = retry_after(answer.retry_after, datetime.now(UTC))
            raise TransientDeliveryError(name, reason, retry_after=delay)
        raise PermanentDeliveryError(name, reason)

    def fits(
        self, digest: Digest, settings: NtfyChannel, context: SendContext, limit: int | None
    ) -> bool:
        from monitor.channels.text import PLAIN_TEXT, compose

        bound = min(settings.max_message_bytes, limit or sys.maxsize)
        message = compose(digest, context.timezone, PLAIN_TEXT, bound, _utf8)
        return message.left_out == 0 and _utf8(message.text) <= bound


def _only_link(digest: Digest) -> str | None:
    """The story's link when the digest carries exactly one story (a web link only)."""
    from monitor.digest.view import digest_view

    items = digest_view(digest).items
    return items[0].link if len(items) == 1 else None


CHANNEL = _Ntfy()
