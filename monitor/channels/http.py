"""One POST for a push channel (ntfy, Telegram), through the webhook channel's guarded client.

The same rules as a webhook (:mod:`monitor.deliver.webhook`): one whole-request
deadline (the entry's ``timeout``), the SSRF guard with ``delivery.allow_private``
naming internal servers allowed, no proxies from the environment, no redirects,
at most ``delivery.max_response_bytes`` of the answer read. Failing to connect or
a timeout is transient; an address the guard refuses is permanent. ``secret``
(a token inside the URL) is masked in every message.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from monitor.errors import PermanentDeliveryError, TransientDeliveryError

if TYPE_CHECKING:
    from monitor.deliver.webhook import Answer, WebhookClient


def post_json(
    client: WebhookClient,
    name: str,
    url: str,
    payload: dict[str, Any],
    seconds: float,
    headers: dict[str, str] | None = None,
    secret: str = "",
) -> Answer:
    """POST ``payload`` as JSON within ``seconds``; the answer, whatever its status."""
    import httpx

    from monitor.fetch.guard import blocked_cause

    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    sent = {"content-type": "application/json", **(headers or {})}
    try:
        return client.post(url, body, sent, seconds)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise TransientDeliveryError(
            name, f"timed out: no complete answer within {seconds:g}s"
        ) from exc
    except httpx.TransportError as exc:
        if (blocked := blocked_cause(exc)) is not None:
            raise PermanentDeliveryError(name, str(blocked)) from exc
        said = str(exc) or type(exc).__name__
        if secret:
            said = said.replace(secret, "***")
        raise TransientDeliveryError(name, f"cannot connect: {said}") from exc


def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer's JSON object, or an empty one (a proxy's HTML error page, a cut answer)."""
    try:
        value = json.loads(answer.text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
