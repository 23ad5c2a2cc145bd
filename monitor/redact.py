"""Credentials kept out of what people and logs see.

A Slack, Discord or Teams webhook URL *is* the credential: whoever holds it can
post to the channel. So every webhook URL is shown as :func:`webhook_label`
(scheme, host and a short hash, enough to tell two targets apart) in logs, in
the delivery ledger and in the CLI. A feed URL may carry a credential too
(``https://user:pass@host/``, ``?token=...``): :func:`redact_urls` masks the
user-info and the values of parameters named like one, and a Telegram bot token
in a Bot API path, wherever such a URL appears in a text.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

_SECRET_PARAM = (
    r"(?:[\w.-]*(?:token|key|secret|password|passwd|sig|signature)"
    r"|auth|apikey|api_key|access_token|credential|credentials)"
)
_PARAM = re.compile(rf"([?&;]{_SECRET_PARAM}=)[^&#;\s\"'<>]*", re.IGNORECASE)
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/?#\s@\"'<>]+@", re.IGNORECASE)
# URLs of chat webhooks, whose path is the credential, wherever they show up in a text.
_CHAT_HOOK = re.compile(
    r"https?://(?:hooks\.slack\.com/|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/"
    r"|[\w.-]*\.webhook\.office\.com/|outlook\.office\.com/webhook)[^\s\"'<>]*",
    re.IGNORECASE,
)
# A Telegram bot token in a Bot API path (``/bot123456:AA…/sendMessage``): the bot's credential.
_BOT_TOKEN = re.compile(r"(/bot)[0-9]+:[A-Za-z0-9_-]+")


def webhook_label(url: str) -> str:
    """``https://hooks.slack.com/...#3f2a9c1b0d``: where a webhook goes, without its path."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
    return f"{parts.scheme or 'http'}://{host}{port}/...#{digest}"


_LABEL = re.compile(r"/\.\.\.#[0-9a-f]{10}$")


def shown_target(channel: str, target: str) -> str:
    """A delivery target as shown: a webhook's label (rows queued before labels hold the URL)."""
    if channel != "webhook" or _LABEL.search(target):
        return target
    return webhook_label(target)


def redact_urls(text: str) -> str:
    """``text`` with URL credentials masked: user-info, token-like parameters, chat webhooks."""
    if "://" not in text and "=" not in text:
        return text
    text = _CHAT_HOOK.sub(lambda found: webhook_label(found.group(0)), text)
    text = _BOT_TOKEN.sub(r"\1***", text)
    text = _USERINFO.sub(r"\1***@", text)
    return _PARAM.sub(r"\1***", text)


__all__ = ["redact_urls", "shown_target", "webhook_label"]
