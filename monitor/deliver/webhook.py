"""The webhook channel: a JSON POST signed per the Standard Webhooks spec.

The body comes from the channel's ``format`` (:mod:`monitor.deliver.formats`:
``standard`` JSON, or a Slack, Discord or Teams message); signing and status
handling are the same for all of them. Chat services ignore the signature
headers; a relay in front of them can still check them.

Headers ``webhook-id`` (the digest id: stable across retries, so receivers can
drop repeats), ``webhook-timestamp`` (seconds, at send time) and
``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``
under the base64-decoded secret). Status codes map onto the error tree: 2xx
delivered; 429, 5xx and timeouts transient (Retry-After kept); 410 permanent
and the channel should be disabled; other 4xx permanent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from monitor.config import WebhookChannel
from monitor.deliver.formats import FORMATS, standard
from monitor.deliver.signing import decode_secret, sign
from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.fetch.client import retry_after
from monitor.types import Digest


def payload(digest: Digest, timezone: str = "UTC") -> dict[str, Any]:
    """The ``standard`` JSON body (see :mod:`monitor.deliver.formats.standard`)."""
    return standard.body(digest, timezone)


def send_webhook(
    digest: Digest, channel: WebhookChannel, client: httpx.Client, *, timezone: str = "UTC"
) -> None:
    """POST ``digest`` in the channel's format; return on 2xx, raise a DeliveryError otherwise.

    ``timezone`` (the alert's) is where the chat formats show times. The
    signature's timestamp is the real time of sending, whatever clock the
    pipeline runs on: receivers reject signatures more than minutes off.
    """
    name = f"webhook {channel.url}"
    render = FORMATS.get(channel.format)
    if render is None:
        raise PermanentDeliveryError(name, f"unknown webhook format {channel.format!r}")
    body = json.dumps(render(digest, timezone), ensure_ascii=False, separators=(",", ":")).encode()
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
    try:
        response = client.post(
            channel.url, content=body, headers=headers, timeout=channel.timeout.total_seconds()
        )
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError(
            name, f"timed out after {channel.timeout.total_seconds():g}s"
        ) from exc
    except httpx.TransportError as exc:
        raise TransientDeliveryError(name, f"cannot connect: {exc}") from exc
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"HTTP {status} {response.reason_phrase}"
    if status == 429 or status >= 500:
        delay = retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        raise TransientDeliveryError(name, reason, retry_after=delay)
    raise PermanentDeliveryError(name, reason, disable=status == 410)
