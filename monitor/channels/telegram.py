"""The Telegram channel: the digest as a message from your bot (Bot API ``sendMessage``).

The bot's token (a secret: ``${ENV}`` or ``bot_token_file``) is part of the
request path, so it never appears anywhere else: the target is the ``chat_id``,
errors name the chat, and a failure to connect has the token masked. The text
is Telegram's HTML (``parse_mode: HTML``) made by :mod:`monitor.channels.text`:
feed text has ``&``, ``<``, ``>`` and ``"`` escaped, so a headline can neither
close a tag nor open one, links are only the stories' web links, and an ``@``
from a feed mentions nobody.

A message holds at most 4,096 characters (Telegram's limit): a digest with more
stories than fit goes out in parts, each a message of its own. Answers: ``ok``
delivered; 429 retried after the ``retry_after`` Telegram gives; 5xx and
timeouts retried; "message is too long" split; 400, 401, 403 and 404 (bad chat,
bad token, bot blocked or removed) fail at once.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from monitor.channels.base import ChannelSettings, SendContext
from monitor.errors import PermanentDeliveryError, TooLargeError, TransientDeliveryError
from monitor.fields import Duration, HttpUrl
from monitor.types import Digest

MAX_TEXT = 4096
"""Telegram's limit on a message's text (counted after its HTML is parsed; the
HTML's length is an upper bound)."""
_SHOWN_ANSWER = 200  # characters of Telegram's description kept in the error


class TelegramChannel(ChannelSettings):
    """Send the digest to a Telegram chat through a bot."""

    SECRETS: ClassVar[dict[str, bool]] = {"bot_token": True}

    type: Literal["telegram"] = "telegram"
    bot_token: SecretStr
    """The token @BotFather gave (``123456:ABC…``); a secret."""
    chat_id: str = Field(min_length=1, max_length=100)
    """The chat: a number (``-1001234567890`` for a group or channel) or ``@channelname``."""
    api_base: HttpUrl = "https://api.telegram.org"
    """The Bot API server (a local ``telegram-bot-api`` server, or a test's)."""
    disable_notification: bool = False
    """Deliver silently (no sound)."""
    link_preview: bool = False
    """Let Telegram show a preview of the first link (off: a digest is a list)."""
    timeout: Duration = timedelta(seconds=15)
    """Whole-request deadline: connecting, sending and the whole answer."""

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and not (
            value.lstrip("-").isdigit() or (value.startswith("@") and len(value) > 1)
        ):
            raise ValueError(f"expected a chat number or @channelname, got {value[:100]!r}")
        return value

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        head, colon, tail = token.partition(":")
        if not (head.isdigit() and colon and tail and "/" not in tail and tail.isprintable()):
            raise ValueError(
                "expected a bot token as @BotFather gives it: digits, ':', then letters"
            )
        return value


class _Telegram:
    kind: ClassVar[str] = "telegram"
    settings: ClassVar[type[ChannelSettings]] = TelegramChannel

    def targets(self, settings: TelegramChannel) -> tuple[str, ...]:
        return (settings.chat_id,)

    def send(
        self, digest: Digest, target: str, settings: TelegramChannel, context: SendContext
    ) -> None:
        from monitor.channels.http import answer_json, post_json
        from monitor.channels.text import TELEGRAM_HTML, compose
        from monitor.fetch.client import retry_after
        from monitor.ops.terminal import one_line

        name = f"telegram chat {settings.chat_id}"
        message = compose(digest, context.timezone, TELEGRAM_HTML, MAX_TEXT, with_title=True)
        payload = {
            "chat_id": settings.chat_id,
            "text": message.text,
            "parse_mode": "HTML",
            "disable_notification": settings.disable_notification,
            "link_preview_options": {"is_disabled": not settings.link_preview},
        }
        token = settings.bot_token.get_secret_value()
        url = f"{settings.api_base.rstrip('/')}/bot{token}/sendMessage"
        seconds = settings.timeout.total_seconds()
        answer = post_json(context.http, name, url, payload, seconds, secret=token)
        said = answer_json(answer)
        if 200 <= answer.status < 300 and said.get("ok", True):
            return
        code = said.get("error_code", answer.status)
        status = code if isinstance(code, int) else answer.status
        text = said.get("description") or answer.text
        described = one_line(str(text).replace(token, "***"))[:_SHOWN_ANSWER]
        reason = f"HTTP {status}" + (f": {described}" if described else "")
        if status == 400 and "too long" in described.lower():
            size = len(message.text)
            raise TooLargeError(name, f"{reason} (the text was {size:,} characters)", size)
        if status == 429 or status >= 500:
            parameters = said.get("parameters")
            wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
            delay = (
                float(wait)
                if isinstance(wait, int | float) and not isinstance(wait, bool)
                else retry_after(answer.retry_after, datetime.now(UTC))
            )
            raise TransientDeliveryError(name, reason, retry_after=delay)
        raise PermanentDeliveryError(name, reason)

    def fits(
        self, digest: Digest, settings: TelegramChannel, context: SendContext, limit: int | None
    ) -> bool:
        from monitor.channels.text import TELEGRAM_HTML, compose

        bound = min(MAX_TEXT, limit or sys.maxsize)
        message = compose(digest, context.timezone, TELEGRAM_HTML, bound, with_title=True)
        return message.left_out == 0 and len(message.text) <= bound


CHANNEL = _Telegram()
