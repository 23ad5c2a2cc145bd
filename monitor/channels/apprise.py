"""The Apprise channel: the long tail of services (Pushover, Matrix, Gotify, Signal, …).

Each entry lists Apprise URLs (``pover://user@token``, ``matrixs://…``,
``json://host/path``; see the Apprise wiki for every service). A URL usually
holds the service's credentials, so ``urls`` may come from the environment or
from ``urls_file`` (one URL a line), and each URL is shown by its label
(scheme, a short hash, and the host for a server of your own). Every URL is a target of its own: one ledger
row each, so a service failing never resends to the others.

The message is plain text (:mod:`monitor.channels.text`) and sent as Apprise's
``text`` format, which Apprise escapes for services that read Markdown or HTML;
an ``@`` from a feed mentions nobody. Stories beyond ``max_message_chars`` go
to another part of the digest.

Apprise is imported only when an entry is checked or sent. It does its own
HTTP, so the SSRF guard cannot watch its connections: before a send, the URL's
host (for services you host: ``json://``, ``form://``, ``gotify://``,
``matrix://``, ``ntfy://``…) is resolved and refused when an address is internal
and not in ``delivery.allow_private`` (a name that resolves inward later is not
caught there). Each send has the entry's ``timeout`` as a deadline; Apprise does not
say whether a failure may pass, so every failure is retried until
``delivery.give_up_after``.
"""

from __future__ import annotations

import socket
import sys
import threading
import warnings
from datetime import timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from monitor.channels.base import ChannelSettings, SendContext
from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.fields import Duration
from monitor.types import Digest


class AppriseChannel(ChannelSettings):
    """Send the digest to every Apprise URL listed."""

    SECRETS: ClassVar[dict[str, bool]] = {"urls": False}

    type: Literal["apprise"] = "apprise"
    urls: tuple[SecretStr, ...] = Field(min_length=1)
    """Apprise URLs; a list, or a text of one URL a line (``urls_file``, ``${VAR}``)."""
    max_message_chars: int = Field(default=4_000, ge=1_000, le=1_000_000)
    """Longest message sent; most chat services take 2,000 to 4,096 characters."""
    timeout: Duration = timedelta(seconds=30)
    """Deadline of one send (Apprise's own connect and read timeouts apply within it)."""

    @field_validator("urls", mode="before")
    @classmethod
    def _lines(cls, value: object) -> object:
        if isinstance(value, str):
            lines = (line.strip() for line in value.splitlines())
            return tuple(line for line in lines if line and not line.startswith("#"))
        return value

    @field_validator("urls")
    @classmethod
    def _schemes(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for url in value:
            if "://" not in url.get_secret_value():
                raise ValueError("an Apprise URL looks like scheme://…, e.g. json://host/path")
        return value

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """URLs Apprise cannot read (Apprise is imported only by configs that list it)."""
        return [
            (("urls", index), why)
            for index, url in enumerate(self.urls)
            if (why := check_url(url.get_secret_value())) is not None
        ]

    def labels(self) -> dict[str, str]:
        """Each URL by the label it is shown as: ``json://host/...#3f2a9c1b0d`` for a server
        of your own, ``pover://...#3f2a9c1b0d`` for a service (whose "host" is a token)."""
        return {_label(url.get_secret_value()): url.get_secret_value() for url in self.urls}


def _label(url: str) -> str:
    import hashlib

    from monitor.redact import webhook_label

    scheme = url.split("://", 1)[0].lower()
    if scheme in _SELF_HOSTED:
        return webhook_label(url)
    return f"{scheme}://...#{hashlib.sha256(url.encode()).hexdigest()[:10]}"


class _Apprise:
    kind: ClassVar[str] = "apprise"
    settings: ClassVar[type[ChannelSettings]] = AppriseChannel

    def targets(self, settings: AppriseChannel) -> tuple[str, ...]:
        return tuple(settings.labels())

    def send(
        self, digest: Digest, target: str, settings: AppriseChannel, context: SendContext
    ) -> None:
        from monitor.channels.text import PLAIN_TEXT, compose

        name = f"apprise {target}"
        url = settings.labels().get(target)
        if url is None:
            raise PermanentDeliveryError(name, f"alert {context.alert!r} no longer lists it")
        _guard(name, url, context)
        message = compose(digest, context.timezone, PLAIN_TEXT, settings.max_message_chars)
        sender = _sender(url)
        if sender is None:
            raise PermanentDeliveryError(name, "Apprise does not know this URL")
        outcome: dict[str, Any] = {}

        def notify() -> None:
            from apprise import NotifyFormat

            try:
                sent = sender.notify(
                    body=message.text, title=message.title, body_format=NotifyFormat.TEXT
                )
                outcome["ok"] = bool(sent)
            except Exception as exc:  # Apprise's plugins raise what their libraries raise
                outcome["error"] = exc

        seconds = settings.timeout.total_seconds()
        worker = threading.Thread(target=notify, name="apprise-send", daemon=True)
        worker.start()
        worker.join(seconds)
        if worker.is_alive():  # left to finish on its own: Apprise cannot be stopped
            raise TransientDeliveryError(name, f"timed out: not sent within {seconds:g}s")
        if "error" in outcome:
            error = outcome["error"]
            raise TransientDeliveryError(name, f"{type(error).__name__}: {error}")
        if not outcome.get("ok"):
            raise TransientDeliveryError(name, "the service did not accept it (Apprise said no)")

    def fits(
        self, digest: Digest, settings: AppriseChannel, context: SendContext, limit: int | None
    ) -> bool:
        from monitor.channels.text import PLAIN_TEXT, compose

        bound = min(settings.max_message_chars, limit or sys.maxsize)
        message = compose(digest, context.timezone, PLAIN_TEXT, bound)
        return message.left_out == 0 and len(message.text) <= bound


def check_url(url: str) -> str | None:
    """Why Apprise cannot use ``url``, or None (imports Apprise)."""
    if _sender(url) is None:
        return "Apprise does not know this URL (its scheme, or a part it needs, is wrong)"
    return None


def _sender(url: str) -> Any:
    """An ``apprise.Apprise`` holding ``url``, or None when Apprise cannot read it."""
    # Loading Apprise's plugins imports modules Python deprecates (its email plugin's PGP
    # support imports imghdr): their warnings are Apprise's business, not this caller's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        sender = apprise.Apprise()
        return sender if sender.add(url) else None


def _guard(name: str, url: str, context: SendContext) -> None:
    """Refuse a URL whose host is internal, unless ``delivery.allow_private`` names it."""
    from monitor.fetch.guard import exemptions, refusal

    host = urlsplit(url).hostname
    if not host or url.split("://", 1)[0].lower() not in _SELF_HOSTED:
        return  # a cloud service's fixed endpoint; its URL's "host" is often a token
    rules = exemptions(context.delivery.allow_private, "delivery.allow_private")
    if rules.host_allowed(host):
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return  # Apprise says what is wrong when it tries
    for address in sorted(addresses):
        if (blocked := refusal(str(address), rules)) is not None:
            raise PermanentDeliveryError(name, str(blocked))


# Schemes whose host is a server of your choice (the others post to a service's own
# endpoint, and what stands in their URL's host place is often a token, never resolved).
_SELF_HOSTED = frozenset(
    scheme + suffix
    for scheme in (
        "json", "form", "xml", "apprise", "gotify", "ntfy", "matrix", "mmost", "rocket",
        "nctalk", "ncloud", "signal", "hassio", "kodi", "xbmc", "mqtt", "bark", "synology",
    )
    for suffix in ("", "s")
)  # fmt: skip


CHANNEL = _Apprise()
