"""The operations endpoint: /healthz, /readyz, /metrics over plain HTTP.

A deliberately tiny HTTP/1.1 server on asyncio (GET only, one response per
connection): it needs no framework and cannot block the daemon's loop.

* ``/healthz`` answers 200 while the process is alive and its loop turns.
* ``/readyz`` answers 200 only when the database answers and the scheduler
  runs, else 503 with the reason: a load balancer or orchestrator stops
  routing to (or restarts) a replica that cannot work.
* ``/metrics`` is the Prometheus text format of :mod:`monitor.ops.metrics`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from monitor.errors import MonitorError
from monitor.ops.metrics import REGISTRY

log = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else the reason it is not."""

READ_TIMEOUT_SECONDS = 5  # a client that does not send its request line in 5 s is dropped


class OpsServer:
    def __init__(self, host: str, port: int, readiness: Readiness) -> None:
        self.host = host
        self.port = port
        self.readiness = readiness
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; return the bound port (useful when configured as 0)."""
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            hint = (
                " (is another `monitor run` serving there?)"
                if exc.errno == errno.EADDRINUSE
                else ""
            )
            raise MonitorError(
                f"cannot serve the ops endpoint on {self.host}:{self.port}: "
                f"{os.strerror(exc.errno) if exc.errno else exc}{hint}; set ops.port to a free port (0 picks one), "
                "or ops.enabled: false"
            ) from exc
        bound = int(self._server.sockets[0].getsockname()[1])
        log.info("ops endpoint on http://%s:%d (/healthz, /readyz, /metrics)", self.host, bound)
        return bound

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), READ_TIMEOUT_SECONDS)
            while (await asyncio.wait_for(reader.readline(), READ_TIMEOUT_SECONDS)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass  # headers are not needed
            parts = request.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?")[0]) if len(parts) >= 2 else ("", "")
            status, content_type, body = await self._route(method, path)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _route(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/healthz":
            return "200 OK", "text/plain", b"ok\n"
        if path == "/readyz":
            problem = await self.readiness()
            if problem is None:
                return "200 OK", "text/plain", b"ready\n"
            return "503 Service Unavailable", "text/plain", f"not ready: {problem}\n".encode()
        if path == "/metrics":
            body = await asyncio.to_thread(generate_latest, REGISTRY)
            return "200 OK", CONTENT_TYPE_LATEST, body
        return "404 Not Found", "text/plain", b"try /healthz, /readyz or /metrics\n"
