"""Feeds, OPML imports and webhooks kept off internal networks; webhooks bounded in time
and memory. Real loopback servers (127.0.0.2 is loopback too), both databases."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import DeliverySettings, WebhookChannel
from monitor.deliver.webhook import WebhookClient, send_webhook
from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Request, Route, recorder
from tests.conftest import FROZEN_NOW, LOOPBACK, WEBHOOK_SECRET
from tests.digest.samples import sample_digest
from tests.support.feeds import Item, rss

ITEM = Item("USMCA review opens", "https://news.example/a", "Trade.", FROZEN_NOW, "a-1")


@pytest.fixture
def second_loopback() -> Iterator[HttpServer]:
    """A server on 127.0.0.2: another "internal" host."""
    server = HttpServer("127.0.0.2").start()
    yield server
    server.stop()


def test_an_opml_import_is_guarded_like_any_feed(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    tmp_path: Path,
) -> None:
    feed = http_server.add("/internal.xml", Route(body=rss([ITEM])))
    (tmp_path / "feeds.opml").write_text(
        '<opml version="2.0"><body>'
        f'<outline type="rss" text="Looks harmless" xmlUrl="{feed}"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    config = write_config(db_url, [], feeds_opml=["feeds.opml"], fetch={"allow_private": []})
    summary = asyncio.run(open_pipeline(config).poll())
    (outcome,) = summary.feeds
    assert outcome.status == "error"
    assert "loopback address 127.0.0.1" in (outcome.error or "")
    assert http_server.requests_to("/internal.xml") == []  # not one byte went out


def test_a_webhook_to_an_internal_host_is_refused(
    db_url: str,
    http_server: HttpServer,
    second_loopback: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    received: list[Request] = []
    hook = second_loopback.add("/hook", recorder(received))
    feed = http_server.add("/f.xml", Route(body=rss([ITEM])))
    # The feed's host is let in for fetching; webhooks have their own list, without it.
    config = write_config(db_url, [feed], webhook_url=hook, delivery={"allow_private": []})
    pipeline = open_pipeline(config)
    asyncio.run(pipeline.poll())
    (outcome,) = pipeline.send_digest(pipeline.config.alerts[0], force=True).deliveries
    assert outcome.status == "failed"
    assert "loopback address 127.0.0.2" in (outcome.error or "")
    assert "delivery.allow_private" in (outcome.error or "")
    assert received == []


def test_an_allowed_internal_receiver_gets_the_webhook(
    db_url: str,
    http_server: HttpServer,
    second_loopback: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    received: list[Request] = []
    hook = second_loopback.add("/hook", recorder(received))
    feed = http_server.add("/f.xml", Route(body=rss([ITEM])))
    config = write_config(
        db_url, [feed], webhook_url=hook, delivery={"allow_private": ["127.0.0.2"]}
    )
    pipeline = open_pipeline(config)
    asyncio.run(pipeline.poll())
    (outcome,) = pipeline.send_digest(pipeline.config.alerts[0], force=True).deliveries
    assert outcome.status == "sent"
    assert len(received) == 1


def loopback_client(**settings: object) -> WebhookClient:
    return WebhookClient(DeliverySettings.model_validate({"allow_private": LOOPBACK, **settings}))


def hook_channel(url: str, seconds: float = 15) -> WebhookChannel:
    return WebhookChannel.model_validate(
        {"url": url, "secret": WEBHOOK_SECRET, "timeout": timedelta(seconds=seconds)}
    )


def test_webhooks_ignore_proxies_from_the_environment(
    http_server: HttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[Request] = []
    hook = http_server.add("/hook", recorder(received))
    proxy = HttpServer().start()  # a "proxy" that records whatever reaches it
    try:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.base)
        with loopback_client() as client:
            send_webhook(sample_digest(), hook_channel(hook), client)
        assert len(received) == 1
        assert proxy.requests == []
    finally:
        proxy.stop()


class RawServer:
    """A TCP server on 127.0.0.1 that reads one request and answers with ``answer(conn)``."""

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(body) < length:
                body += conn.recv(65536)
            with contextlib.suppress(OSError):  # the client hung up: what a test wants to see
                self.answer(conn)

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=30)


def test_a_dripping_receiver_is_cut_off_at_the_whole_request_deadline() -> None:
    def drip(conn: socket.socket) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
            conn.sendall(bytes([byte]))
            time.sleep(0.3)  # each read well inside the timeout; the whole far beyond it

    server = RawServer(drip)
    try:
        with loopback_client() as client:
            # Only the send is timed: the server's thread notices the hang-up at its next
            # byte (0.3 s on, longer on a loaded machine) and closing waits for it.
            started = time.monotonic()
            with pytest.raises(TransientDeliveryError) as caught:
                send_webhook(sample_digest(), hook_channel(server.url, seconds=1), client)
            elapsed = time.monotonic() - started
    finally:
        server.close()
    assert "no complete answer within 1s" in caught.value.reason
    # The 1 s deadline plus 2 s for a busy 2-core machine to wake the caller: still far
    # below the whole drip (about 12 s), which it used to take.
    assert elapsed < 3, f"cut off after {elapsed:.1f}s"


def test_a_receivers_endless_answer_is_not_read_into_memory() -> None:
    written = [0]
    chunk = b"x" * 65536

    def flood(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 1000000000\r\n\r\n")
        conn.sendall(b"invalid_payload \x1b[31mred\x00 ")
        while written[0] < 1_000_000_000:
            conn.sendall(chunk)
            written[0] += len(chunk)

    server = RawServer(flood)
    try:
        with (
            loopback_client(max_response_bytes=4096) as client,
            pytest.raises(PermanentDeliveryError) as caught,
        ):
            send_webhook(sample_digest(), hook_channel(server.url, seconds=10), client)
    finally:
        server.close()
    assert caught.value.reason.startswith("HTTP 400 Bad Request: invalid_payload red xxx")
    assert "\x1b" not in caught.value.reason
    assert "\x00" not in caught.value.reason
    assert len(caught.value.reason) < 300
    assert written[0] < 64_000_000  # the connection was dropped, not drained
