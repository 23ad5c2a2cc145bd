"""httpcore's network layer on asyncio's own streams, without anyio in between.

httpx reaches the network through httpcore, whose default backend under asyncio is anyio:
every read and write opens a cancel scope with a deadline, and asks sniffio which event
loop runs. On a poll cycle of unchanged feeds (one small request and a 304 each) that is
a large share of the fetch thread's CPU. The fetcher runs on asyncio only (its own loop,
:class:`monitor.fetch.client.Fetcher`), so this backend speaks to asyncio directly, with
the same contract as httpcore's: timeouts and socket errors come out as httpcore's
``ConnectTimeout``/``ConnectError``, ``ReadTimeout``/``ReadError``,
``WriteTimeout``/``WriteError``; an orderly end of stream reads as ``b""``. The errors
say what they said through anyio, so stored poll errors read as before: a failed connect
"All connection attempts failed", a host name that does not resolve the resolver's
message, a TLS failure the ``ssl`` module's, a reset or a timeout nothing (the error's
class names it).

Connecting tries a host's addresses as anyio does: the next one starts 250 ms after the
previous if that has not connected yet (happy eyeballs, RFC 8305), so a host with a dead
IPv6 address is reached over IPv4 without waiting for the IPv6 attempt to time out.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import typing
from collections.abc import Iterable

import httpcore
from httpcore._utils import is_socket_readable

CONNECT_FAILED = "All connection attempts failed"
"""What a refused or unreachable connection says (anyio's words, kept: stored errors and
the status page show it)."""

HAPPY_EYEBALLS_DELAY = 0.25
"""Seconds before the next address of a host is tried (anyio's and RFC 8305's value)."""

_ERRORS = (OSError, EOFError)  # what a broken or reset connection raises from asyncio's streams


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection, as httpcore reads and writes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout("") from exc
        except _ERRORS as exc:
            raise httpcore.ReadError("") from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout("") from exc
        except (*_ERRORS, RuntimeError) as exc:  # RuntimeError: writing to a closed transport
            raise httpcore.WriteError("") from exc

    async def aclose(self) -> None:
        transport = self._writer.transport
        if transport.is_closing():
            return
        transport.close()
        await asyncio.sleep(0)  # let the close go out, as anyio does, then make sure
        transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout("") from exc
        except ssl.SSLError as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        except _ERRORS as exc:  # the server hung up in the handshake
            await self.aclose()
            raise httpcore.ConnectError("") from exc
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return is_socket_readable(self._writer.get_extra_info("socket"))
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens :class:`AsyncioStream` connections on the running asyncio loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout("") from exc
        except socket.gaierror as exc:  # the name did not resolve
            raise httpcore.ConnectError(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(CONNECT_FAILED) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout("") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
