"""The feed downloads' HTTP/1.1 transport: asyncio's streams and h11, behind httpx.

httpx stays the interface (requests, streamed responses, its error classes, and proxies
from the environment, which it mounts with transports of its own); this replaces only
httpcore's connection pool under it. Measured on 1,000 loopback feeds answering 304
(``bench/peers.py``'s farm): httpcore's pool, its anyio streams and its h11 wrapper
spent about 0.8 ms of CPU per request, the same requests through asyncio's streams and
h11 directly 0.12 ms; a cycle of unchanged feeds is mostly that.

What it does, and no more (what a feed download needs):

* HTTP/1.1 over TCP, or TLS with ALPN ``http/1.1``; no HTTP/2, no proxy, no Unix socket.
  The TLS context (:class:`TLSContext`) is made when the first TLS connection needs it.
* Keep-alive: a connection whose exchange ended cleanly goes back to its origin's idle
  list (at most ``keepalive`` of them, the newest reused first); one idle for longer
  than ``keepalive_expiry`` seconds, or that the server has closed, is dropped instead
  of reused. A reused connection that the server turns out to have closed before
  answering raises :class:`httpx.RemoteProtocolError` ("Server disconnected without
  sending a response"), which the fetch retries once on a new connection.
* Timeouts from the request's ``timeout`` extension, as httpx sets them: ``connect``
  (the TCP connect and the TLS handshake), ``read`` (each read), ``write`` (each write).
* With ``exemptions`` (the SSRF guard, :mod:`monitor.fetch.guard`): an internal IP
  literal is refused before connecting, and a connection whose peer address is internal
  is closed before the TLS handshake and before a byte of the request is written.
* Failures raise httpx's own classes, as its transport would: ``ConnectError``,
  ``ConnectTimeout``, ``ReadTimeout``, ``WriteTimeout``, ``ReadError``, ``WriteError``,
  ``RemoteProtocolError``, ``LocalProtocolError``, ``UnsupportedProtocol``.

Concurrency is bounded by the caller (:class:`monitor.fetch.client.Fetcher`'s per-host
and global limits), not here: a request never waits for a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import h11
import httpx

from monitor.fetch.guard import Exemptions, literal_refusal, peer_refusal

_READ_SIZE = 65_536
_MAX_HEAD = 100 * 1024
"""Bytes of an answer's status line and headers, as httpcore allows (h11's own default is
16 KiB, which a long Content-Security-Policy or a pile of cookies can pass)."""
_HAPPY_EYEBALLS_DELAY = 0.25
"""Seconds before racing the next address of a host with several (RFC 8305's advice)."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


class TLSContext:
    """The SSL context of ``https`` downloads, made (the CA bundle loaded, a few hundredths
    of a second of CPU) in a thread the first time a TLS connection needs it, then shared:
    a cycle of ``http`` feeds alone never loads the bundle (unless it goes through a proxy,
    whose transports httpx makes with it).

    A bundle that cannot be loaded (``SSL_CERT_FILE`` naming a missing or broken file) is
    tried once: every TLS connection then fails with the same :class:`OSError`, which the
    fetch reports as the feed's connect error, naming the bundle.
    """

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        if context is not None:
            context.set_alpn_protocols(["http/1.1"])
        self._context = context
        self._failure: str | None = None
        self._lock = threading.Lock()

    async def get(self) -> ssl.SSLContext:
        """The context, made now if it was not yet (off the event loop)."""
        context = self._context
        if context is None:
            context = await asyncio.to_thread(self.now)
        return context

    def now(self) -> ssl.SSLContext:
        """The context, made now if it was not yet (in the calling thread)."""
        with self._lock:
            if self._context is None:
                if self._failure is None:
                    try:
                        context = httpx.create_ssl_context()
                    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                        self._failure = f"cannot load the CA certificates for https: {exc}"
                    else:
                        context.set_alpn_protocols(["http/1.1"])
                        self._context = context
                        return context
                raise OSError(self._failure)
            return self._context


@dataclass(slots=True, eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    protocol: h11.Connection = field(
        default_factory=lambda: h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
    )
    idle_since: float = 0.0
    reused: bool = False

    def close(self) -> None:
        # At once, as httpcore does: a TLS close_notify would keep the socket open until
        # the server answers it (or 30 s), past the end of the Fetcher's loop.
        self.writer.transport.abort()

    def reusable(self, now: float, expiry: float) -> bool:
        return (
            now - self.idle_since < expiry
            and not self.reader.at_eof()
            # Anything the server sent while the connection was idle (a 408 on its idle
            # timeout, stray bytes) would be read as the next request's answer.
            and not self.reader._buffer  # type: ignore[attr-defined]  # no public way; tested
            and self.reader.exception() is None
            and not self.writer.is_closing()
        )


def _timeout(timeouts: dict[str, Any], name: str) -> float | None:
    value = timeouts.get(name)
    return None if value is None else float(value)


def _expired(exc: BaseException, deadline: asyncio.Timeout) -> bool:
    """Whether ``exc`` is ``deadline`` running out. The kernel's ETIMEDOUT (a refused
    SYN retried too long, a dead peer under TCP keep-alive) is a TimeoutError too, but
    a network error, as httpcore reported it: only our own timer is a timeout."""
    return isinstance(exc, TimeoutError) and deadline.expired()


async def _read(connection: _Connection, seconds: float | None) -> bytes:
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await connection.reader.read(_READ_SIZE)
    except OSError as exc:  # TimeoutError is one
        if _expired(exc, deadline):
            raise httpx.ReadTimeout("timed out reading the answer") from exc
        raise httpx.ReadError(str(exc) or exc.__class__.__name__) from exc


def _next_event(connection: _Connection) -> Any:
    try:
        return connection.protocol.next_event()
    except h11.RemoteProtocolError as exc:
        raise httpx.RemoteProtocolError(str(exc)) from exc


class _Body(httpx.AsyncByteStream):
    """A response's body, read from its connection as the caller iterates; closing it
    gives the connection back when the exchange ended cleanly, else closes it."""

    def __init__(
        self, transport: LeanTransport, origin: Origin, connection: _Connection, read: float | None
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._connection: _Connection | None = connection
        self._read_timeout = read
        self._complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            raise httpx.StreamClosed()
        while True:
            event = _next_event(connection)
            if event is h11.NEED_DATA:
                connection.protocol.receive_data(await _read(connection, self._read_timeout))
            elif isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._complete = True
                return
            else:  # ConnectionClosed, or h11's PAUSED: the exchange is over either way
                return

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._transport._release(self._origin, connection, self._complete)


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 for feed downloads (see the module docstring)."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext | TLSContext | None = None,
        exemptions: Exemptions | None = None,
        keepalive: int = 2,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._ssl = ssl_context if isinstance(ssl_context, TLSContext) else TLSContext(ssl_context)
        self._exemptions = exemptions
        self._keepalive = keepalive
        self._expiry = keepalive_expiry
        self._idle: dict[Origin, list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        # The ASCII form (an IDN's xn-- labels, as httpx encodes them): what DNS, TLS's
        # server name and the guard's host exemptions see, as they did through httpcore.
        host = url.raw_host.decode("ascii")
        if not host:
            raise httpx.UnsupportedProtocol("the URL has no host", request=request)
        origin = (scheme, host, url.port or _DEFAULT_PORTS[scheme])
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        connection = self._reuse(origin) or await self._connect(origin, timeouts, request)
        read = _timeout(timeouts, "read")
        try:
            await self._send(connection, request, _timeout(timeouts, "write"))
            response = await self._head(connection, read)
        except BaseException:
            connection.close()
            raise
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers.raw_items(),
            stream=_Body(self, origin, connection, read),
            extensions={
                "http_version": b"HTTP/" + response.http_version,
                "reason_phrase": response.reason,
            },
        )

    def _reuse(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.reusable(now, self._expiry):
                connection.reused = True
                return connection
            connection.close()
        return None

    def _release(self, origin: Origin, connection: _Connection, complete: bool) -> None:
        protocol = connection.protocol
        clean = (
            complete
            and not self._closed
            and protocol.our_state is h11.DONE
            and protocol.their_state is h11.DONE
        )
        if not clean:
            connection.close()
            return
        protocol.start_next_cycle()
        connection.idle_since = time.monotonic()
        idle = self._idle.setdefault(origin, [])
        idle.append(connection)
        while len(idle) > self._keepalive:
            idle.pop(0).close()

    async def _connect(
        self, origin: Origin, timeouts: dict[str, Any], request: httpx.Request
    ) -> _Connection:
        scheme, host, port = origin
        guard = self._exemptions
        if guard is not None and guard.host_allowed(host):
            guard = None  # trusted by name, whatever it resolves to
        if guard is not None and (early := literal_refusal(host, guard)) is not None:
            raise httpx.ConnectError(str(early), request=request) from early
        seconds = _timeout(timeouts, "connect")
        writer: asyncio.StreamWriter | None = None
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                reader, writer = await asyncio.open_connection(
                    host, port, happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY
                )
                if guard is not None:
                    # PeerLost, a reset before the look, is an OSError: a ConnectError below.
                    problem = peer_refusal(writer.get_extra_info("peername"), guard)
                    if problem is not None:
                        raise httpx.ConnectError(str(problem), request=request) from problem
                if scheme == "https":
                    await writer.start_tls(await self._ssl.get(), server_hostname=host)
            return _Connection(reader, writer)
        except BaseException as exc:
            if writer is not None:
                writer.transport.abort()
            if _expired(exc, deadline):
                raise httpx.ConnectTimeout(
                    f"no connection to {host}:{port} within {seconds:g}s", request=request
                ) from exc
            if isinstance(exc, OSError):  # refused, unreachable, DNS, TLS (an ssl.SSLError)
                text = str(exc) or exc.__class__.__name__
                raise httpx.ConnectError(text, request=request) from exc
            raise

    async def _send(
        self, connection: _Connection, request: httpx.Request, seconds: float | None
    ) -> None:
        protocol = connection.protocol
        try:
            data = protocol.send(
                h11.Request(
                    method=request.method,
                    target=request.url.raw_path,
                    headers=request.headers.raw,
                )
            )
            if isinstance(request.stream, httpx.AsyncByteStream):
                async for chunk in request.stream:
                    if chunk:
                        data += protocol.send(h11.Data(data=chunk))
            data += protocol.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        deadline = asyncio.timeout(seconds)
        try:
            connection.writer.write(data)
            async with deadline:
                await connection.writer.drain()
        except OSError as exc:  # TimeoutError is one
            if _expired(exc, deadline):
                raise httpx.WriteTimeout("timed out sending the request", request=request) from exc
            if connection.reused:  # the server closed it while it was idle: try a new one
                raise _disconnected(request) from exc
            raise httpx.WriteError(str(exc) or exc.__class__.__name__, request=request) from exc

    async def _head(self, connection: _Connection, seconds: float | None) -> h11.Response:
        protocol = connection.protocol
        while True:
            event = _next_event(connection)
            if event is h11.NEED_DATA:
                try:
                    data = await _read(connection, seconds)
                except httpx.ReadError:
                    if connection.reused and protocol.their_state is h11.SEND_RESPONSE:
                        raise _disconnected(None) from None
                    raise
                if not data and protocol.their_state is h11.SEND_RESPONSE:
                    # Nothing of an answer came before the server hung up.
                    raise _disconnected(None)
                protocol.receive_data(data)
            elif isinstance(event, h11.Response):
                return event
            elif isinstance(event, h11.InformationalResponse):
                continue
            else:
                raise httpx.RemoteProtocolError(
                    f"unexpected {type(event).__name__} before the answer"
                )

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                with contextlib.suppress(Exception):
                    connection.close()


def _disconnected(request: httpx.Request | None) -> httpx.RemoteProtocolError:
    message = "Server disconnected without sending a response."
    if request is None:
        return httpx.RemoteProtocolError(message)
    return httpx.RemoteProtocolError(message, request=request)
