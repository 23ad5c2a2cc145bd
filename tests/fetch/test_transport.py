"""The feed downloads' own HTTP/1.1 transport (monitor.fetch.transport), against real
servers on loopback: keep-alive and its failures, body framings, TLS, the SSRF guard
before the handshake, and the same outcome as httpx's own transport on every hazard."""

from __future__ import annotations

import asyncio
import errno
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config import FetchSettings
from monitor.errors import AddressBlocked, ConnectFailed, FetchError, TransientFetchError
from monitor.fetch.client import Fetcher, fetch_feed, make_client
from monitor.fetch.feedclient import header_bytes
from monitor.fetch.transport import LeanTransport, _Connection
from monitor.fetch.transport import _read as transport_read
from monitor.types import FetchResult
from testbed.farm import Farm
from testbed.servers import HttpServer
from tests.fetch.conftest import KINDS, loopback_settings, url_of

SETTINGS = loopback_settings(timeout=timedelta(seconds=3), max_body_bytes=1_000_000)
BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"

Handler = Callable[[int, int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]
"""Serves request ``n`` (from 0, over all connections) on connection ``c``: returns whether
to keep reading requests on that connection."""


@dataclass
class Scripted:
    """A loopback server that reads request heads and answers as ``handler`` says."""

    handler: Handler
    connections: int = 0
    requests: int = 0
    received: list[bytes] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.received.append(head)
                index = self.requests
                self.requests += 1
                if not await self.handler(number, index, reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def answer(writer: asyncio.StreamWriter, body: bytes = BODY, extra: bytes = b"") -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body))
    await writer.drain()


def run_against(
    handler: Handler,
    client: Callable[[str], Awaitable[list[FetchResult | FetchError]]],
    server_ssl: ssl.SSLContext | None = None,
) -> tuple[Scripted, list[FetchResult | FetchError]]:
    scripted = Scripted(handler)

    async def run() -> list[FetchResult | FetchError]:
        server = await asyncio.start_server(scripted.serve, "127.0.0.1", 0, ssl=server_ssl)
        port = server.sockets[0].getsockname()[1]
        scheme = "https" if server_ssl else "http"
        async with server:
            return await client(f"{scheme}://127.0.0.1:{port}/feed")

    return scripted, asyncio.run(run())


def fetching(
    times: int, pause: float = 0.0, settings: FetchSettings = SETTINGS
) -> Callable[[str], Awaitable[list[FetchResult | FetchError]]]:
    """One Fetcher fetching the URL ``times`` times in a row, ``pause`` seconds apart."""

    async def client(url: str) -> list[FetchResult | FetchError]:
        results: list[FetchResult | FetchError] = []
        async with Fetcher(settings) as fetcher:
            for turn in range(times):
                if turn and pause:
                    await asyncio.sleep(pause)
                try:
                    results.append(await fetcher.fetch(url))
                except FetchError as error:
                    results.append(error)
        return results

    return client


def bodies(results: list[FetchResult | FetchError]) -> list[bytes]:
    assert all(isinstance(result, FetchResult) for result in results), results
    return [result.content for result in results if isinstance(result, FetchResult)]


async def keep_alive(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
    await answer(writer)
    return True


def test_one_connection_serves_a_hosts_feeds_one_after_another() -> None:
    server, results = run_against(keep_alive, fetching(3))
    assert bodies(results) == [BODY] * 3
    assert (server.connections, server.requests) == (1, 3)


def test_bodies_in_chunks_and_until_close_are_read_whole() -> None:
    async def framings(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        if index == 0:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for start in range(0, len(BODY), 7):
                chunk = BODY[start : start + 7]
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + BODY)
        await writer.drain()
        return False

    server, results = run_against(framings, fetching(3))
    assert bodies(results) == [BODY] * 3
    # The chunked answer left its connection reusable, the close-delimited ones did not.
    assert (server.connections, server.requests) == (2, 3)


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def close_after(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        await answer(writer)  # says nothing of closing, then hangs up as an idle timeout would
        return False

    server, results = run_against(close_after, fetching(3, pause=0.2))
    assert bodies(results) == [BODY] * 3
    assert (server.connections, server.requests) == (3, 3)  # each on a new connection, none failed


def test_a_reused_connection_hung_up_as_the_request_arrives_is_retried_on_a_new_one() -> None:
    async def hang_up_on_second(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        if index == 1:  # the second request, on the first connection: gone without answer
            return False
        await answer(writer)
        return True

    server, results = run_against(hang_up_on_second, fetching(2))
    assert bodies(results) == [BODY] * 2
    assert (server.connections, server.requests) == (2, 3)


def test_what_a_server_sends_on_an_idle_connection_is_not_taken_for_the_next_answer() -> None:
    """Some servers and balancers answer their own idle timeout with a 408 and hang up."""

    async def timeout_408(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        await answer(writer)
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.1)
        except TimeoutError:
            writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n")
            writer.write(b"Connection: close\r\n\r\n")
            await writer.drain()
        return False

    server, results = run_against(timeout_408, fetching(2, pause=0.3))
    assert bodies(results) == [BODY] * 2
    assert (server.connections, server.requests) == (2, 2)


def test_long_headers_arriving_in_pieces_are_read() -> None:
    """Up to 100 KiB of status line and headers, as httpcore allowed, over several reads."""

    async def long_head(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        policy = b"default-src 'self' " + b"https://cdn.example.org " * 2000  # 48 KB
        head = b"HTTP/1.1 200 OK\r\nContent-Security-Policy: %s\r\nContent-Length: %d\r\n\r\n"
        data = head % (policy, len(BODY)) + BODY
        for start in range(0, len(data), 1448):  # a packet at a time, as a network delivers
            writer.write(data[start : start + 1448])
            await writer.drain()
            await asyncio.sleep(0.001)
        return True

    _, results = run_against(long_head, fetching(1))
    assert bodies(results) == [BODY]


def test_a_peer_gone_before_the_guard_saw_it_is_a_network_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A connection reset between the connect and the guard's look at its peer has no peer
    address: a transient network error, not a refusal to allow in fetch.allow_private."""
    opened = asyncio.open_connection

    async def losing_peer(*args: Any, **kwargs: Any) -> tuple[asyncio.StreamReader, Any]:
        reader, writer = await opened(*args, **kwargs)
        real = writer.get_extra_info
        monkeypatch.setattr(writer, "get_extra_info", lambda name, *default: None if name == "peername" else real(name, *default))  # fmt: skip
        return reader, writer

    monkeypatch.setattr(asyncio, "open_connection", losing_peer)
    guarded = fetching(1, settings=FetchSettings(ssrf_guard=True))

    def by_name(url: str) -> Awaitable[list[FetchResult | FetchError]]:
        return guarded(url.replace("127.0.0.1", "localhost"))  # a name: judged on its peer

    server, (result,) = run_against(keep_alive, by_name)
    assert isinstance(result, ConnectFailed)
    assert "connection lost before its peer was known" in result.reason
    assert server.requests == 0


def test_an_idle_connection_past_its_expiry_is_not_reused() -> None:
    async def client(url: str) -> list[FetchResult | FetchError]:
        transport = LeanTransport(ssl.create_default_context(), keepalive_expiry=0.2)
        async with httpx.AsyncClient(transport=transport) as http:
            statuses = [(await http.get(url)).status_code]
            statuses.append((await http.get(url)).status_code)  # within the expiry: reused
            await asyncio.sleep(0.3)
            statuses.append((await http.get(url)).status_code)  # past it: a new connection
        assert statuses == [200, 200, 200]
        return []

    server, _ = run_against(keep_alive, client)
    assert (server.connections, server.requests) == (2, 3)


def test_a_body_cut_short_is_a_transient_network_error() -> None:
    async def truncate(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + BODY[:10])
        await writer.drain()
        return False

    _, (result,) = run_against(truncate, fetching(1))
    assert isinstance(result, TransientFetchError)
    assert result.reason.startswith("network error: ")


def test_requests_carry_the_conditional_headers_and_host() -> None:
    async def not_modified(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n')
        await writer.drain()
        return True

    async def client(url: str) -> list[FetchResult | FetchError]:
        async with Fetcher(SETTINGS) as fetcher:
            return [await fetcher.fetch(url, etag='"v1"', last_modified="Sat, 05 Dec 2026 10:00:00 GMT")]  # fmt: skip

    server, (result,) = run_against(not_modified, client)
    assert isinstance(result, FetchResult)
    assert result.not_modified
    head = server.received[0].decode("latin-1").lower()
    assert head.startswith("get /feed http/1.1\r\n")
    assert "\r\nhost: 127.0.0.1:" in head
    assert '\r\nif-none-match: "v1"\r\n' in head
    assert "\r\nif-modified-since: sat, 05 dec 2026 10:00:00 gmt\r\n" in head


def test_requests_go_out_as_httpx_client_would_send_them() -> None:
    """The feed client sends to the transport without httpx's client layer: the same head
    on the wire, with the URL's credentials as Basic auth and a cookie set by an answer."""

    async def cookie_then_304(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        if index % 2 == 0:
            await answer(writer, extra=b"Set-Cookie: consent=yes; Path=/\r\n")
        else:
            writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n')
            await writer.drain()
        return True

    def heads(reference: bool) -> list[bytes]:
        async def client(url: str) -> list[FetchResult | FetchError]:
            url = url.replace("//", "//reader:s%C3%A9same@", 1)
            async with make_client(SETTINGS) as http:
                if reference:
                    http.direct = None
                    http.http._transport = httpx.AsyncHTTPTransport()
                return [await fetch_feed(http, url, SETTINGS, etag='"v1"') for _ in range(2)]

        server, results = run_against(cookie_then_304, client)
        assert [r.status for r in results if isinstance(r, FetchResult)] == [200, 304]
        return [re.sub(rb"127\.0\.0\.1:\d+", b"127.0.0.1:port", head) for head in server.received]

    direct, reference = heads(False), heads(True)
    assert direct == reference
    assert b"\r\nAuthorization: Basic cmVhZGVyOnPDqXNhbWU=\r\n" in direct[0]
    assert b"\r\nCookie: consent=yes\r\n" in direct[1]
    assert b"\r\nCookie:" not in direct[0]


def test_with_the_guard_off_feeds_go_through_a_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As before this transport: httpx mounts such proxies over its own transport only."""
    proxy = HttpServer().start()  # a "proxy" that records whatever reaches it
    try:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, proxy.base)
        settings = SETTINGS.model_copy(update={"ssrf_guard": False})
        server, (result,) = run_against(keep_alive, fetching(1, settings=settings))
        assert isinstance(result, FetchError)  # the recording proxy knows no such page
        assert server.requests == 0
        assert len(proxy.requests) == 1
        assert proxy.requests[0].path.startswith("http://127.0.0.1:")
        # With the guard on, the environment's proxy is ignored.
        server, results = run_against(keep_alive, fetching(1))
        assert bodies(results) == [BODY]
        assert len(proxy.requests) == 1
    finally:
        proxy.stop()


# --- TLS ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl command"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def test_https_to_a_trusted_server_reuses_its_connection(certificate: tuple[Path, Path]) -> None:
    trusting = ssl.create_default_context(cafile=str(certificate[0]))

    async def client(url: str) -> list[FetchResult | FetchError]:
        async with make_client(SETTINGS, trusting) as http:
            return [await fetch_feed(http, url, SETTINGS) for _ in range(2)]

    server, results = run_against(keep_alive, client, server_context(certificate))
    assert bodies(results) == [BODY] * 2
    assert (server.connections, server.requests) == (1, 2)


def test_a_fetcher_over_https_keeps_its_connection_and_closes_it_cleanly(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the Fetcher's own I/O loop, which it stops at the end: a TLS connection left
    idle is closed with it, without a warning (warnings are errors here)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # read by the Fetcher's context
    server, results = run_against(keep_alive, fetching(3), server_context(certificate))
    assert bodies(results) == [BODY] * 3
    assert (server.connections, server.requests) == (1, 3)


def counting_ca_loads(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """A list that grows by one each time a CA bundle is loaded for an SSL context."""
    loads: list[None] = []
    make = httpx.create_ssl_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        loads.append(None)
        return make(*args, **kwargs)

    monkeypatch.setattr(httpx, "create_ssl_context", counted)
    return loads


def test_a_fetcher_over_plain_http_never_loads_the_ca_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading it is a few hundredths of a second of CPU at every poll's start."""
    loads = counting_ca_loads(monkeypatch)
    _, results = run_against(keep_alive, fetching(2))
    assert bodies(results) == [BODY] * 2
    assert loads == []


def test_a_fetcher_loads_the_ca_bundle_once_for_its_https_hosts(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hosts (127.0.0.1 and localhost: a client each), several connections at once
    before any handshake ended: one bundle, loaded at the first TLS connection."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    loads = counting_ca_loads(monkeypatch)

    async def client(url: str) -> list[FetchResult | FetchError]:
        # The certificate names 127.0.0.1 only: the other host's handshake fails, after
        # the context was made.
        other = url.replace("127.0.0.1", "localhost")
        async with Fetcher(SETTINGS) as fetcher:
            assert loads == []
            outcomes = await asyncio.gather(
                *(fetcher.fetch(u) for u in (url, url, url, other)), return_exceptions=True
            )
        return [o for o in outcomes if isinstance(o, FetchResult | FetchError)]

    _, results = run_against(keep_alive, client, server_context(certificate))
    assert bodies(results[:3]) == [BODY] * 3
    assert isinstance(results[3], FetchError)
    assert len(loads) == 1


def test_a_ca_bundle_that_cannot_be_loaded_fails_each_https_fetch_saying_so(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tried once, not at every connection; each https feed fails as a connect error that
    names the certificates, not the feed's server."""
    loads: list[None] = []

    def broken(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        loads.append(None)
        raise FileNotFoundError(2, "No such file or directory", "/nowhere/ca.pem")

    monkeypatch.setattr(httpx, "create_ssl_context", broken)
    _, results = run_against(keep_alive, fetching(3), server_context(certificate))
    assert len(results) == 3
    for result in results:
        assert isinstance(result, ConnectFailed), result
        assert "cannot load the CA certificates for https" in str(result)
        assert "/nowhere/ca.pem" in str(result)
    assert len(loads) == 1


def established_to(port: int) -> int:
    """Open TCP connections of this machine whose far end is 127.0.0.1:``port``."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        if remote == f"0100007F:{port:04X}" and state == "01":  # ESTABLISHED
            count += 1
    return count


def test_a_fetcher_leaves_no_tls_socket_open_behind_a_slow_server(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server slow to answer TLS's close_notify (any server some way off) must not keep
    the Fetcher's sockets open after it ends: they are closed at once, as httpcore did."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    context = server_context(certificate)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    done = threading.Event()

    def serve() -> None:
        raw, _ = listener.accept()
        with context.wrap_socket(raw, server_side=True) as conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
            done.wait(5)  # the close_notify is answered only once the test has looked

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    async def run() -> FetchResult:
        async with Fetcher(SETTINGS) as fetcher:
            return await fetcher.fetch(f"https://127.0.0.1:{port}/feed")

    try:
        assert asyncio.run(run()).content == BODY
        assert established_to(port) == 0  # the client's side is gone already
    finally:
        done.set()
        thread.join(5)
        listener.close()


def test_https_to_an_untrusted_certificate_cannot_connect(certificate: tuple[Path, Path]) -> None:
    server, (result,) = run_against(keep_alive, fetching(1), server_context(certificate))
    assert isinstance(result, ConnectFailed)
    assert "certificate verify failed" in result.reason.lower()
    assert server.requests == 0


def test_the_guard_hangs_up_before_the_tls_handshake() -> None:
    """Not even a ClientHello (which names the host) goes to an internal peer."""
    received: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(1024))
        writer.close()

    async def run() -> FetchError:
        server = await asyncio.start_server(record, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, Fetcher(FetchSettings(ssrf_guard=True)) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(f"https://localhost:{port}/feed")
            await asyncio.sleep(0.2)  # let the server read what came, if anything did
            return caught.value

    error = asyncio.run(run())
    assert isinstance(error, AddressBlocked)
    assert "loopback address 127.0.0.1" in error.reason
    assert received in ([], [b""])  # connected and hung up on, without a byte


# --- the same outcome as httpx's own transport ----------------------------------------


def outcome(result: FetchResult | BaseException) -> tuple[object, ...]:
    if isinstance(result, FetchResult):
        return ("ok", result.status, result.content, result.etag, result.permanent_redirect)
    assert isinstance(result, FetchError), result
    return (type(result).__name__, result.reason)


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "slow_drip"])
def test_every_hazard_ends_as_through_httpx_own_transport(farm: Farm, kind: str) -> None:
    # A deadline no hazard but the slow drip (left out) comes near, even on a busy machine:
    # the endless body must meet the size cap on both sides, not the clock on one.
    settings = SETTINGS.model_copy(update={"timeout": timedelta(seconds=20)})
    url = url_of(farm, kind)

    async def through(reference: bool) -> FetchResult | BaseException:
        async with make_client(settings) as http:
            if reference:
                http.direct = None
                http.http._transport = httpx.AsyncHTTPTransport()
            try:
                return await fetch_feed(http, url, settings)
            except FetchError as error:
                return error

    assert outcome(asyncio.run(through(False))) == outcome(asyncio.run(through(True)))


# --- which waits are timeouts ---------------------------------------------------------


def test_a_stalled_answer_is_a_read_timeout() -> None:
    async def stall(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(2)  # longer than the read timeout, shorter than the deadline
        return False

    async def client(url: str) -> list[FetchResult | FetchError]:
        http = httpx.AsyncClient(transport=LeanTransport(ssl.create_default_context()))
        async with http:
            with pytest.raises(httpx.ReadTimeout):
                async with http.stream("GET", url, timeout=httpx.Timeout(3, read=0.3)) as answer:
                    await answer.aread()
        return []

    run_against(stall, client)


def test_the_kernels_etimedout_is_a_network_error_not_a_timeout() -> None:
    """The kernel's TimeoutError (errno ETIMEDOUT) is not our deadline: httpcore called it
    a network error (``ReadError``), and so must this transport."""

    class TimedOutReader(asyncio.StreamReader):
        async def read(self, n: int = -1) -> bytes:
            raise TimeoutError(errno.ETIMEDOUT, "Connection timed out")

    async def run() -> None:
        connection = _Connection(TimedOutReader(), writer=None)  # type: ignore[arg-type]
        with pytest.raises(httpx.ReadError, match="Connection timed out"):
            await transport_read(connection, 5.0)

    asyncio.run(run())


def test_a_header_the_caller_gives_replaces_the_clients_own_as_httpx_would() -> None:
    """Conditional headers are added to the client's; a header the client already sends
    (here Accept) is replaced, not sent twice: the head is the one httpx's client sends."""

    async def not_modified(connection: int, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n')
        await writer.drain()
        return True

    def head(reference: bool) -> bytes:
        async def client(url: str) -> list[FetchResult | FetchError]:
            async with make_client(SETTINGS) as http:
                if reference:
                    http.direct = None
                    http.http._transport = httpx.AsyncHTTPTransport()
                extra = {"Accept": "text/xml", "If-None-Match": '"v1"'}
                response = await http.send(httpx.URL(url), extra)
                await response.aclose()
                assert response.status_code == 304
            return []

        server, _ = run_against(not_modified, client)
        return re.sub(rb"127\.0\.0\.1:\d+", b"127.0.0.1:port", server.received[0])

    direct = head(False)
    assert direct == head(True)
    assert direct.lower().count(b"\r\naccept:") == 1
    assert b"\r\nAccept: text/xml\r\n" in direct


def test_a_kept_validator_goes_out_as_the_bytes_it_came_as() -> None:
    """Validators are kept as the server's bytes read as Latin-1 and go back out so; one
    kept before that as httpx decoded it (UTF-8), beyond Latin-1, goes out as UTF-8."""
    assert header_bytes('"v1"') == b'"v1"'
    assert header_bytes('"caf\xc3\xa9"') == b'"caf\xc3\xa9"'
    assert header_bytes('"\xe9t\xe9"') == b'"\xe9t\xe9"'
    assert header_bytes('"\u20ac1"') == '"\u20ac1"'.encode()
