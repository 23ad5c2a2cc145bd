"""The webhook channel: a JSON POST signed per the Standard Webhooks spec.

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
from monitor.deliver.signing import decode_secret, sign
from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.fetch.client import retry_after
from monitor.types import Digest


def payload(digest: Digest) -> dict[str, Any]:
    """The ``standard`` JSON body: every item with why it matched, as data."""
    items = []
    for section in digest.sections:
        for item in section.items:
            items.append(
                {
                    "id": item.entry_id,
                    "watch": section.watch,
                    "title": item.title,
                    "url": item.link,
                    "source": item.source,
                    "published": item.published.isoformat() if item.published else None,
                    "summary": item.summary,
                    "also": list(item.also),
                    "matches": [
                        {
                            "watch": match.watch,
                            "score": match.score,
                            "terms": list(match.terms),
                            "spans": [
                                {"field": s.field, "start": s.start, "end": s.end, "term": s.term}
                                for s in match.spans
                            ],
                        }
                        for match in item.matches
                    ],
                }
            )
    return {
        "type": "monitor.digest",
        "id": digest.id,
        "alert": digest.alert,
        "created_at": digest.created_at.isoformat(),
        "item_count": digest.item_count,
        "items": items,
    }


def send_webhook(digest: Digest, channel: WebhookChannel, client: httpx.Client) -> None:
    """POST ``digest``; return on 2xx, raise a DeliveryError otherwise.

    The signature's timestamp is the real time of sending, whatever clock the
    pipeline runs on: receivers reject signatures more than minutes off.
    """
    body = json.dumps(payload(digest), ensure_ascii=False, separators=(",", ":")).encode()
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
    name = f"webhook {channel.url}"
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
