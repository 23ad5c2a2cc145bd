"""The webhook channel sends the channel's format, signed the same way for every format."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from standardwebhooks import Webhook

from monitor.config import DeliverySettings, WebhookChannel
from monitor.deliver.formats import FORMATS
from monitor.deliver.webhook import WebhookClient, payload, send_webhook
from monitor.errors import PermanentDeliveryError
from testbed.servers import HttpServer, Request, Route
from tests.conftest import LOOPBACK, WEBHOOK_SECRET
from tests.digest.samples import TIMEZONE, sample_digest


@pytest.fixture
def receiver(http_server: HttpServer) -> tuple[str, list[Request]]:
    received: list[Request] = []

    def respond(request: Request) -> tuple[int, dict[str, str], bytes]:
        received.append(request)
        return 204, {}, b""

    return http_server.add("/hook", Route(responder=respond)), received


def loopback_client() -> WebhookClient:
    return WebhookClient(DeliverySettings(allow_private=LOOPBACK))


def channel(url: str, name: str) -> WebhookChannel:
    standard = WebhookChannel(url=url, secret=SecretStr(WEBHOOK_SECRET))
    # model_copy, not the constructor: the config accepts the new format names once
    # WebhookChannel.format lists them; the channel itself must already handle each.
    return standard.model_copy(update={"format": name})


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_is_posted_signed(name: str, receiver: tuple[str, list[Request]]) -> None:
    url, received = receiver
    digest = sample_digest()
    with loopback_client() as client:
        send_webhook(digest, channel(url, name), client, timezone=TIMEZONE)
    (request,) = received
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == f"msg_{digest.id}"
    verified = Webhook(WEBHOOK_SECRET).verify(request.body, request.headers)
    assert verified == FORMATS[name](digest, TIMEZONE)
    assert json.loads(request.body) == verified


def test_payload_is_the_standard_body() -> None:
    digest = sample_digest()
    assert payload(digest) == FORMATS["standard"](digest, "UTC")


def test_an_unknown_format_fails_for_good(receiver: tuple[str, list[Request]]) -> None:
    url, received = receiver
    with loopback_client() as client, pytest.raises(PermanentDeliveryError, match="format 'rss'"):
        send_webhook(sample_digest(), channel(url, "rss"), client)
    assert received == []
