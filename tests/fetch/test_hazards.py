"""One test per hazard of the real web, each against the feed farm or a loopback server."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from datetime import timedelta

import pytest

from monitor.config import FetchSettings
from monitor.errors import FetchError, PermanentFetchError, TransientFetchError
from monitor.fetch.client import Fetcher, fetch_feed, make_client
from monitor.types import FetchResult
from testbed.farm import Farm, rss_body
from testbed.servers import HttpServer, Request, Route
from tests.fetch.conftest import loopback_settings, url_of

CAP = 1_000_000
SETTINGS = loopback_settings(timeout=timedelta(seconds=3), max_body_bytes=CAP)


async def fetch(url: str, settings: FetchSettings = SETTINGS, **kwargs: str) -> FetchResult:
    async with Fetcher(settings) as fetcher:
        return await fetcher.fetch(url, **kwargs)


def fails(url: str, settings: FetchSettings = SETTINGS) -> FetchError:
    with pytest.raises(FetchError) as caught:
        asyncio.run(fetch(url, settings))
    assert caught.value.url == url
    return caught.value


def test_healthy_feed_and_conditional_get(farm: Farm) -> None:
    url = url_of(farm, "ok")
    first = asyncio.run(fetch(url))
    assert first.status == 200
    assert first.content == rss_body(farm.indices("ok")[0], farm.config.items)
    assert first.etag
    second = asyncio.run(fetch(url, etag=first.etag))
    assert second.not_modified
    assert second.content == b""


def test_slow_drip_is_cut_at_the_overall_deadline(farm: Farm) -> None:
    settings = SETTINGS.model_copy(update={"timeout": timedelta(seconds=1)})
    started = time.monotonic()
    error = fails(url_of(farm, "slow_drip"), settings)
    elapsed = time.monotonic() - started
    assert isinstance(error, TransientFetchError)
    assert error.reason == "no complete answer within 1s"
    assert 0.9 < elapsed < 2.0  # bytes kept arriving; the read timeout alone never fired


def test_endless_body_is_cut_at_the_cap(farm: Farm) -> None:
    error = fails(url_of(farm, "endless"))
    assert isinstance(error, PermanentFetchError)
    assert error.reason == f"body larger than fetch.max_body_bytes ({CAP} bytes decoded)"


@pytest.mark.parametrize("kind", ["gzip_bomb", "deflate_bomb", "stacked_bomb"])
def test_compression_bombs_are_cut_with_bounded_memory(farm: Farm, kind: str) -> None:
    url = url_of(farm, kind)
    asyncio.run(fetch(url_of(farm, "ok")))  # warm up imports so they do not count
    farm.prepare(kind)  # the farm shares this process: build its bomb before measuring
    tracemalloc.start()
    try:
        error = fails(url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, PermanentFetchError)
    assert "max_body_bytes" in error.reason
    # The bombs inflate to 64 MB (stacked: 64 MB inside ~64 KB inside ~200 B); the
    # client never holds much more than the cap plus a few decode steps.
    assert peak < 4 * CAP + 2_000_000, peak


def test_stacked_encodings_decode(farm: Farm) -> None:
    result = asyncio.run(fetch(url_of(farm, "stacked_gzip")))
    assert result.content == rss_body(farm.indices("stacked_gzip")[0], farm.config.items)


def test_three_stacked_encodings_are_refused(http_server: HttpServer) -> None:
    url = http_server.add(
        "/x", Route(responder=lambda _r: (200, {"Content-Encoding": "gzip, gzip, gzip"}, b"?"))
    )
    error = fails(url)
    assert isinstance(error, PermanentFetchError)
    assert "3 stacked Content-Encodings" in error.reason


def test_content_length_shorter_than_the_body(farm: Farm) -> None:
    index = farm.indices("short_length")[0]
    result = asyncio.run(fetch(farm.url(index)))
    full = rss_body(index, farm.config.items)
    assert result.content == full[: len(full) // 2]  # what was declared, never more


def test_content_length_longer_than_the_body(farm: Farm) -> None:
    error = fails(url_of(farm, "long_length"))
    assert isinstance(error, TransientFetchError)
    assert "incomplete" in error.reason or "complete message body" in error.reason


def test_content_length_over_the_cap_is_refused_before_reading(http_server: HttpServer) -> None:
    url = http_server.add("/big", Route(body=b"x" * 5000))
    settings = SETTINGS.model_copy(update={"max_body_bytes": 1000})
    error = fails(url, settings)
    assert error.reason == "body larger than fetch.max_body_bytes (1000 bytes decoded)"


def test_redirect_loop_stops_after_max_redirects(farm: Farm) -> None:
    index = farm.indices("redirect_loop")[0]
    before = farm.snapshot()["requests"].get(str(index), 0)
    error = fails(farm.url(index))
    assert isinstance(error, PermanentFetchError)
    assert error.reason == "more than 5 redirects"
    assert farm.snapshot()["requests"][str(index)] - before == 6  # the first GET and 5 hops


def test_redirect_to_a_file_url_is_refused(farm: Farm) -> None:
    error = fails(url_of(farm, "to_file"))
    assert isinstance(error, PermanentFetchError)
    assert error.reason == "refused to follow a redirect to a file: URL"


def test_permanent_redirect_is_reported(farm: Farm) -> None:
    index = farm.indices("moved")[0]
    result = asyncio.run(fetch(farm.url(index)))
    assert result.permanent_redirect == farm.url(index) + "?moved=1"
    assert result.final_url == result.permanent_redirect


def test_temporary_redirect_is_not_reported(farm: Farm) -> None:
    result = asyncio.run(fetch(url_of(farm, "moved_temporarily")))
    assert result.status == 200
    assert result.permanent_redirect is None


def _hops(server: HttpServer, chain: list[tuple[str, int]]) -> str:
    """Routes /0 -> /1 -> ... with the given statuses; the last path serves a feed."""
    for n, (path, status) in enumerate(chain):
        target = chain[n + 1][0] if n + 1 < len(chain) else None

        def answer(
            _r: Request, status: int = status, target: str | None = target
        ) -> tuple[int, dict[str, str], bytes]:
            if target is None:
                return 200, {"Content-Type": "application/rss+xml"}, rss_body(0, 1)
            return status, {"Location": target}, b""

        server.add(path, Route(responder=answer))
    return server.url(chain[0][0])


@pytest.mark.parametrize(
    ("statuses", "moved_to"),
    [
        ((301, 308), "/c"),  # moved for good twice: follow to the end
        ((301, 302), "/b"),  # moved for good, then a temporary hop: remember only the move
        ((302, 301), None),  # a temporary hop first: the feed itself has not moved
        ((307, 307), None),
    ],
)
def test_only_a_leading_chain_of_permanent_redirects_counts(
    http_server: HttpServer, statuses: tuple[int, int], moved_to: str | None
) -> None:
    url = _hops(http_server, [("/a", statuses[0]), ("/b", statuses[1]), ("/c", 200)])
    result = asyncio.run(fetch(url))
    assert result.permanent_redirect == (http_server.url(moved_to) if moved_to else None)


def test_429_carries_retry_after_seconds(farm: Farm) -> None:
    error = fails(url_of(farm, "rate_limited"))
    assert isinstance(error, TransientFetchError)
    assert error.reason == "HTTP 429 Too Many Requests"
    assert error.retry_after == 120


def test_503_carries_retry_after_http_date_capped(farm: Farm) -> None:
    error = fails(url_of(farm, "unavailable"))
    assert isinstance(error, TransientFetchError)
    assert error.retry_after is not None
    assert 110 < error.retry_after <= 120
    capped = SETTINGS.model_copy(update={"retry_after_cap": timedelta(seconds=30)})
    again = fails(url_of(farm, "unavailable"), capped)
    assert isinstance(again, TransientFetchError)
    assert again.retry_after == 30


def test_500_is_transient_without_retry_after(farm: Farm) -> None:
    error = fails(url_of(farm, "error_500"))
    assert isinstance(error, TransientFetchError)
    assert error.retry_after is None


def test_410_gone(farm: Farm) -> None:
    error = fails(url_of(farm, "gone"))
    assert isinstance(error, PermanentFetchError)
    assert error.gone


@pytest.mark.parametrize(
    "kind", ["malformed", "wrong_encoding", "entity_attack", "external_entity"]
)
def test_hostile_bodies_are_fetched_as_bytes(farm: Farm, kind: str) -> None:
    result = asyncio.run(fetch(url_of(farm, kind)))  # judged by the parser (tests/parse)
    assert result.status == 200
    assert result.content


def test_requests_name_the_project_and_the_codings_we_decode(http_server: HttpServer) -> None:
    url = http_server.add("/f", Route(body=rss_body(0, 1)))
    asyncio.run(fetch(url))
    (request,) = http_server.requests_to("/f")
    assert "monitor/" in request.headers["user-agent"]
    assert request.headers["accept-encoding"] == "gzip, deflate"


def test_fetch_feed_on_a_callers_client_still_works(farm: Farm) -> None:
    async def run() -> FetchResult:
        async with make_client(SETTINGS) as client:
            return await fetch_feed(client, url_of(farm, "moved"), SETTINGS)

    assert asyncio.run(run()).permanent_redirect is not None


def test_fetcher_outside_its_context_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        asyncio.run(Fetcher(SETTINGS).fetch("http://127.0.0.1:9/"))


def test_a_server_hanging_up_before_answering_is_asked_once_more() -> None:
    served: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        served.append(1)
        if len(served) == 1:  # the first connection dies as the request arrives
            writer.close()
            return
        body = rss_body(0, 1)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    async def run() -> FetchResult:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await fetch(f"http://127.0.0.1:{port}/feed")

    assert asyncio.run(run()).status == 200
    assert len(served) == 2


def test_a_server_that_always_hangs_up_is_a_transient_error() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async def run() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            await fetch(f"http://127.0.0.1:{port}/feed")

    with pytest.raises(TransientFetchError, match="disconnected"):
        asyncio.run(run())
