"""Digests delivered to a real SMTP server and a real webhook receiver, on both backends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Request, Route, SmtpServer
from tests.conftest import FROZEN_NOW, WEBHOOK_SECRET
from tests.support.feeds import Item, rss

HOUR = timedelta(hours=1)
ITEMS = [
    Item(
        "USMCA review: <script>alert('x')</script> ministers meet",
        "https://news.example/usmca?utm_campaign=feed",
        "Canada & Mexico compare notes <b>before</b> the review.",
        FROZEN_NOW - 3 * HOUR,
        "d-1",
    ),
    Item(
        "Carney and Sheinbaum talk trade",
        "https://news.example/leaders",
        "The leaders of Canada and Mexico met in Mexico City.",
        FROZEN_NOW - HOUR,
        "d-2",
    ),
    Item(
        "Unrelated sports story",
        "https://news.example/sports",
        "A hockey game.",
        FROZEN_NOW - HOUR,
        "d-3",
    ),
]


def polled(
    open_pipeline: Callable[..., Pipeline],
    config_path: Path,
) -> Pipeline:
    pipeline = open_pipeline(config_path)
    assert asyncio.run(pipeline.poll()).matched == 2
    return pipeline


def test_email_digest_arrives_once_with_both_parts_escaped(
    db_url: str,
    http_server: HttpServer,
    smtp_server: SmtpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    pipeline = polled(open_pipeline, write_config(db_url, [feed], smtp_port=smtp_server.port))
    alert = pipeline.config.alert("desk")

    summary = pipeline.send_digest(alert, force=True)
    assert [o.status for o in summary.deliveries] == ["sent"]
    (message,) = smtp_server.messages
    assert message["Subject"] == "[test] desk: 2 new items"
    assert message["To"] == "analyst@example.org"
    assert message["Message-ID"] == f"<{summary.deliveries[0].digest_id}@example.org>"
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text_part is not None
    assert html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert "Carney and Sheinbaum talk trade" in text
    assert (
        "USMCA review: <script>alert('x')</script> ministers meet" in text
    )  # plain text keeps it literally
    assert "Carney and Sheinbaum talk trade" in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Unrelated sports story" not in text
    assert "https://news.example/usmca?utm_campaign=feed" in text

    # Nothing is pending any more: a second send sends nothing.
    again = pipeline.send_digest(alert, force=True)
    assert again.built is None
    assert again.deliveries == ()
    assert len(smtp_server.messages) == 1


def test_preview_sends_and_marks_nothing(
    db_url: str,
    http_server: HttpServer,
    smtp_server: SmtpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    pipeline = polled(open_pipeline, write_config(db_url, [feed], smtp_port=smtp_server.port))
    alert = pipeline.config.alert("desk")
    preview = pipeline.preview(alert)
    assert preview is not None
    assert preview.item_count == 2
    assert [s.watch for s in preview.sections] == ["usmca", "canada-mexico"]
    assert pipeline.store.count_pending("desk") == 2
    assert smtp_server.messages == []
    assert pipeline.send_digest(alert, force=True).built is not None
    assert len(smtp_server.messages) == 1


def webhook_receiver(statuses: list[int]) -> tuple[Route, list[Request]]:
    received: list[Request] = []

    def respond(request: Request) -> tuple[int, dict[str, str], bytes]:
        received.append(request)
        status = statuses.pop(0) if statuses else 200
        return status, {"Content-Type": "text/plain"}, b"ok" if status == 200 else b"error"

    return Route(responder=respond), received


def test_webhook_is_signed_and_verifiable(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    route, received = webhook_receiver([])
    hook = http_server.add("/hook", route)
    pipeline = polled(open_pipeline, write_config(db_url, [feed], webhook_url=hook))
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)
    assert [o.status for o in summary.deliveries] == ["sent"]

    (request,) = received
    verified = Webhook(WEBHOOK_SECRET).verify(request.body, request.headers)
    assert verified["type"] == "monitor.digest"
    assert verified["alert"] == "desk"
    assert verified["item_count"] == 2
    titles = {item["title"] for item in verified["items"]}
    assert "Carney and Sheinbaum talk trade" in titles
    usmca = next(item for item in verified["items"] if item["watch"] == "usmca")
    assert usmca["matches"][0]["terms"]
    span = usmca["matches"][0]["spans"][0]
    assert usmca[span["field"] if span["field"] != "summary" else "summary"][
        span["start"] : span["end"]
    ]
    assert request.headers["webhook-id"] == f"msg_{summary.deliveries[0].digest_id}"

    tampered = json.loads(request.body)
    tampered["item_count"] = 99
    with pytest.raises(WebhookVerificationError):
        Webhook(WEBHOOK_SECRET).verify(json.dumps(tampered), request.headers)


def test_failed_sends_stay_queued_and_go_out_once(
    db_url: str,
    http_server: HttpServer,
    smtp_server: SmtpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    route, received = webhook_receiver([500])
    hook = http_server.add("/hook", route)
    smtp_port = smtp_server.port
    smtp_server.stop()  # the mail server is down for the first run
    pipeline = polled(
        open_pipeline, write_config(db_url, [feed], smtp_port=smtp_port, webhook_url=hook)
    )
    alert = pipeline.config.alert("desk")

    first = pipeline.send_digest(alert, force=True)
    assert sorted((o.channel, o.status) for o in first.deliveries) == [
        ("email", "retry"),
        ("webhook", "retry"),
    ]
    assert len(received) == 1
    pending = pipeline.store.pending_deliveries("desk")
    assert len(pending) == 2
    assert all(d.attempts == 1 and d.last_error for d in pending)

    restarted = SmtpServer()
    restarted.controller.port = smtp_port
    restarted.start()
    try:
        second = pipeline.send_digest(alert, force=True)
        assert sorted((o.channel, o.status) for o in second.deliveries) == [
            ("email", "sent"),
            ("webhook", "sent"),
        ]
        assert second.built is None  # nothing new: the retried digest is the same one
        assert len(restarted.messages) == 1
        assert len(received) == 2
        assert received[0].headers["webhook-id"] == received[1].headers["webhook-id"]
        for request in received:
            Webhook(WEBHOOK_SECRET).verify(request.body, request.headers)

        third = pipeline.send_digest(alert, force=True)
        assert third.deliveries == ()
        assert len(restarted.messages) == 1
        assert len(received) == 2
    finally:
        restarted.stop()
    sent = pipeline.store.deliveries(status="sent")
    assert {d.channel for d in sent} == {"email", "webhook"}
    assert all(d.attempts == 2 for d in sent)


def test_webhook_client_error_is_permanent(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    route, received = webhook_receiver([400])
    hook = http_server.add("/hook", route)
    pipeline = polled(open_pipeline, write_config(db_url, [feed], webhook_url=hook))
    alert = pipeline.config.alert("desk")
    (outcome,) = pipeline.send_digest(alert, force=True).deliveries
    assert outcome.status == "failed"
    assert pipeline.send_digest(alert, force=True).deliveries == ()
    assert len(received) == 1
    (failed,) = pipeline.store.deliveries(status="failed")
    assert failed.last_error is not None
    assert "HTTP 400" in failed.last_error
