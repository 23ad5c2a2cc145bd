"""The webhook channel: a JSON POST signed per the Standard Webhooks spec.

The body comes from the channel's ``format`` (:mod:`monitor.deliver.formats`:
``standard`` JSON, or a Slack, Discord or Teams message); signing and status
handling are the same for all of them. Chat services ignore the signature
headers; a relay in front of them can still check them.

Headers ``webhook-id`` (the digest id: stable across retries, so receivers can
drop repeats), ``webhook-timestamp`` (seconds, at send time) and
``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``
under the base64-decoded secret). Status codes map onto the error tree: 2xx
delivered; 429, 5xx and timeouts transient (Retry-After kept); 413 (too large)
is :class:`~monitor.errors.TooLargeError`, and the relay sends the digest in
parts; 410 permanent and the channel should be disabled; other 4xx permanent.

The POST goes out like a feed fetch: one whole-request deadline (the channel's
``timeout``) over connecting, sending and the answer, so a receiver dripping a
byte at a time cannot hold a send for longer; through the SSRF guard, with
``delivery.allow_private`` naming internal receivers allowed; never through
proxies from the environment; and at most ``delivery.max_response_bytes`` of the
answer read (the status is what counts). The URL of a chat webhook is its
credential, so errors and logs name it by :func:`monitor.redact.webhook_label`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from monitor.channels.webhook import WebhookChannel
from monitor.deliver.formats import FORMATS, standard
from monitor.deliver.settings import DeliverySettings
from monitor.deliver.signing import decode_secret, sign
from monitor.errors import PermanentDeliveryError, TooLargeError, TransientDeliveryError
from monitor.fetch.client import retry_after
from monitor.fetch.guard import blocked_cause, exemptions
from monitor.fetch.guard_httpcore import GuardedTransport
from monitor.ops.terminal import one_line
from monitor.redact import webhook_label
from monitor.types import Digest

_CONNECTIONS = 4  # webhooks go out one at a time; a few kept-alive receivers is plenty
_SHOWN_ANSWER = 200  # characters of a refusing receiver's answer kept in the error


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    retry_after: str | None
    text: str
    """The start of the body, at most ``delivery.max_response_bytes`` read."""


class WebhookClient:
    """Posts webhooks from synchronous code (the relay) on an event loop of its own.

    The loop is what gives a whole-request deadline (``asyncio.timeout``), as on
    the fetch side: httpx's own timeouts restart on every read.
    """

    def __init__(self, settings: DeliverySettings | None = None) -> None:
        self.settings = settings or DeliverySettings()
        self._runner = asyncio.Runner()
        self._client: httpx.AsyncClient | None = None

    def __enter__(self) -> WebhookClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._runner.run(self._client.aclose())
            self._client = None
        self._runner.close()

    def post(self, url: str, body: bytes, headers: dict[str, str], seconds: float) -> Answer:
        """POST within ``seconds`` all told; raise TimeoutError or an httpx error."""
        return self._runner.run(self._post(url, body, headers, seconds))

    async def _post(self, url: str, body: bytes, headers: dict[str, str], seconds: float) -> Answer:
        client = self._client = self._client or self._new_client()
        async with asyncio.timeout(seconds):
            request = client.build_request(
                "POST", url, content=body, headers=headers, timeout=seconds
            )
            response = await client.send(request, stream=True)
            try:
                text = await self._start_of(response)
            finally:
                await response.aclose()
        return Answer(
            response.status_code, response.reason_phrase, response.headers.get("Retry-After"), text
        )

    async def _start_of(self, response: httpx.Response) -> str:
        cap, kept = self.settings.max_response_bytes, bytearray()
        async for chunk in response.aiter_bytes():
            kept += chunk[: cap - len(kept)]
            if len(kept) >= cap:
                break
        return kept.decode("utf-8", "replace")

    def _new_client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=_CONNECTIONS, max_keepalive_connections=_CONNECTIONS)
        allowed = exemptions(self.settings.allow_private, "delivery.allow_private")
        return httpx.AsyncClient(
            transport=GuardedTransport(allowed, limits),
            limits=limits,
            trust_env=False,  # a proxy from the environment would be the only peer checked
            follow_redirects=False,  # a redirect would re-POST the digest somewhere unchecked
        )


def payload(digest: Digest, timezone: str = "UTC") -> dict[str, Any]:
    """The ``standard`` JSON body (see :mod:`monitor.deliver.formats.standard`)."""
    return standard.body(digest, timezone)


def webhook_body(digest: Digest, format_name: str, timezone: str = "UTC") -> bytes:
    """The body POSTed for ``digest`` in ``format_name``; KeyError for an unknown format."""
    body = FORMATS[format_name](digest, timezone)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def send_webhook(
    digest: Digest, channel: WebhookChannel, client: WebhookClient, *, timezone: str = "UTC"
) -> None:
    """POST ``digest`` in the channel's format; return on 2xx, raise a DeliveryError otherwise.

    ``timezone`` (the alert's) is where the chat formats show times. The
    signature's timestamp is the real time of sending, whatever clock the
    pipeline runs on: receivers reject signatures more than minutes off.
    """
    name = f"webhook {webhook_label(channel.url)}"
    if channel.format not in FORMATS:
        raise PermanentDeliveryError(name, f"unknown webhook format {channel.format!r}")
    body = webhook_body(digest, channel.format, timezone)
    timestamp = int(datetime.now(UTC).timestamp())
    message_id = f"msg_{digest.id}"
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            decode_secret(channel.secret.get_secret_value()), message_id, timestamp, body
        ),
    }
    seconds = channel.timeout.total_seconds()
    try:
        answer = client.post(channel.url, body, headers, seconds)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise TransientDeliveryError(
            name, f"timed out: no complete answer within {seconds:g}s"
        ) from exc
    except httpx.TransportError as exc:
        if (blocked := blocked_cause(exc)) is not None:
            raise PermanentDeliveryError(name, str(blocked)) from exc
        said = str(exc).replace(channel.url, webhook_label(channel.url)) or type(exc).__name__
        raise TransientDeliveryError(name, f"cannot connect: {said}") from exc
    status = answer.status
    if 200 <= status < 300:
        return
    said = one_line(answer.text)[:_SHOWN_ANSWER]
    reason = f"HTTP {status} {answer.reason}" + (f": {said}" if said else "")
    if status == 413:
        raise TooLargeError(name, f"{reason} (the body was {len(body):,} bytes)", len(body))
    if status == 429 or status >= 500:
        delay = retry_after(answer.retry_after, datetime.now(UTC))
        raise TransientDeliveryError(name, reason, retry_after=delay)
    raise PermanentDeliveryError(name, reason, disable=status == 410)
