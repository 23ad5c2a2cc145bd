"""A digest stays small whatever was stored: titles are clipped in every channel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Request, Route, SmtpServer, recorder
from tests.conftest import FROZEN_NOW
from tests.support.feeds import Item, rss

HUGE_TITLE = "USMCA " + "very long headline " * 100_000  # about 1.9 MB


def test_a_huge_stored_title_makes_a_small_email_and_webhook(
    db_url: str,
    http_server: HttpServer,
    smtp_server: SmtpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    received: list[Request] = []
    hook = http_server.add("/hook", recorder(received))
    feed = http_server.add(
        "/rss.xml",
        Route(body=rss([Item(HUGE_TITLE, "https://n.example/1", "summary", FROZEN_NOW, "1")])),
    )
    # Let the title through parsing whole, as entries stored before the caps existed are.
    config = write_config(
        db_url,
        [feed],
        smtp_port=smtp_server.port,
        webhook_url=hook,
        fetch={"max_title_chars": 10_000_000},
        delivery={"digest_title_chars": 300},
    )
    pipeline = open_pipeline(config)
    asyncio.run(pipeline.poll())
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)
    assert [o.status for o in summary.deliveries] == ["sent", "sent"]

    (message,) = smtp_server.messages
    assert len(message.as_bytes()) < 100_000
    text_part = message.get_body(("plain",))
    assert text_part is not None
    assert "USMCA very long headline" in text_part.get_content()

    (request,) = received
    assert len(request.body) < 100_000
    (item,) = json.loads(request.body)["items"]
    assert len(item["title"]) <= 300
    assert item["title"].endswith("…")
    assert sum(len(part["text"]) for part in item["title_parts"]) <= 302  # and an ellipsis
