"""The SSRF guard (:mod:`monitor.fetch.guard`) under httpx's own transport, for webhooks and
the other delivery channels: httpcore's connection pool opening its connections through a
network backend that judges each connected peer before a byte is written. A refusal is a
:class:`GuardRefusal`, httpcore's connect error carrying the guard's
:class:`~monitor.fetch.guard.BlockedAddress`.
Feeds have their own transport (:mod:`monitor.fetch.transport`) and do not load httpcore.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from monitor.fetch.guard import (
    BlockedAddress,
    Exemptions,
    IPNetwork,
    PeerLost,
    literal_refusal,
    peer_refusal,
)


class GuardRefusal(httpcore.ConnectError):
    """httpcore's connect error for a refused peer. Its pool raises connect errors again
    without their cause (``from None``), so the refusal rides on the error itself, as
    ``blocked``, where :func:`~monitor.fetch.guard.blocked_cause` finds it."""

    def __init__(self, blocked: BlockedAddress) -> None:
        super().__init__(str(blocked))
        self.blocked = blocked


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections through ``inner`` and closes any whose peer is internal."""

    def __init__(
        self,
        allowed: Exemptions | tuple[IPNetwork, ...],
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allowed = allowed if isinstance(allowed, Exemptions) else Exemptions(allowed)
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.allowed.host_allowed(host):
            return await self.inner.connect_tcp(
                host,
                port,
                timeout=timeout,
                local_address=local_address,
                socket_options=socket_options,
            )
        if (early := literal_refusal(host, self.allowed)) is not None:
            raise GuardRefusal(early)
        stream = await self.inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        try:
            problem = peer_refusal(stream.get_extra_info("server_addr"), self.allowed)
        except PeerLost as exc:
            await stream.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        if problem is not None:
            await stream.aclose()
            raise GuardRefusal(problem)
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise GuardRefusal(BlockedAddress(path, "unix socket", self.allowed.setting))

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool opening guarded connections."""

    def __init__(
        self,
        allowed: Exemptions | tuple[IPNetwork, ...],
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
