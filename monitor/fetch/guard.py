"""Guard against server-side request forgery: never talk to internal addresses.

A feed URL is user input, and so is every redirect a feed server sends. With
``fetch.ssrf_guard`` on, a connection whose *peer address* is private,
loopback, link-local, multicast, reserved or unspecified is closed before a
single byte of the request is written.

Checking the connected peer, not a DNS lookup done beforehand, is the point:
a name can resolve to a public address for the check and to 127.0.0.1 for
the connection a moment later (DNS rebinding). So the check lives in the
network backend, the layer that opens the TCP connection, right after the
connect. httpx does not expose that layer, so :class:`GuardedTransport`
rebuilds its connection pool with :class:`GuardedBackend`; a test proves the
guard fires, so an httpx upgrade that moved this seam would fail loudly.

With the guard on, proxies from the environment are ignored: through a proxy
the peer is the proxy, and the check would mean nothing.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(httpcore.ConnectError):
    """The connection reached an address the guard refuses; ``address`` names it."""

    def __init__(self, address: str, kind: str) -> None:
        super().__init__(f"refused to fetch from {kind} address {address} (fetch.ssrf_guard)")
        self.address = address
        self.kind = kind


def address_kind(address: IPAddress) -> str | None:
    """Why ``address`` is internal (``loopback``, ``private``...), or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-global", not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def refusal(host: str, allowed: tuple[IPNetwork, ...]) -> BlockedAddress | None:
    """The refusal for a connection to ``host`` (an IP literal), or None when it may proceed."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return BlockedAddress(host, "unparseable")
    kind = address_kind(address)
    if kind is None or any(address in network for network in allowed):
        return None
    return BlockedAddress(str(address), kind)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections through ``inner`` and closes any whose peer is internal."""

    def __init__(
        self, allowed: tuple[IPNetwork, ...], inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.allowed = allowed
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        peer = stream.get_extra_info("server_addr")
        problem = (
            refusal(str(peer[0]), self.allowed) if peer else BlockedAddress(host, "unknown peer")
        )
        if problem is not None:
            await stream.aclose()
            raise problem
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress(path, "unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool opening guarded connections."""

    def __init__(
        self,
        allowed: tuple[IPNetwork, ...],
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(limits=limits, trust_env=False, verify=ssl_context or True)
        ssl_context = ssl_context or httpx.create_ssl_context()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allowed),
        )


def blocked_cause(exc: BaseException) -> BlockedAddress | None:
    """The guard's refusal behind an httpx error, if that is what it is."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddress):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
