"""Real servers on loopback for tests: HTTP (feeds and webhooks) and SMTP.

No mocks: the code under test opens real sockets to these.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import http.server
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Route:
    """What the server answers on one path.

    ``body`` and ``status`` are static; ``responder`` (if set) decides per request
    and returns (status, headers, body). Static routes answer conditional GETs
    with 304 when the client's validators match.
    """

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    etag: bool = True
    last_modified: str | None = "Sat, 21 Nov 2026 08:00:00 GMT"
    responder: Callable[[Request], tuple[int, dict[str, str], bytes]] | None = None


def recorder(received: list[Request], status: int = 200) -> Route:
    """A webhook receiver that keeps every request it gets and answers ``status``."""

    def respond(request: Request) -> tuple[int, dict[str, str], bytes]:
        received.append(request)
        return status, {}, b""

    return Route(responder=respond)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        owner = self.server.owner
        with owner.lock:
            owner.requests.append(request)
            route = owner.routes.get(self.path)
        if route is None:
            self._send(404, {}, b"not found")
            return
        if route.responder is not None:
            status, headers, payload = route.responder(request)
            self._send(status, headers, payload)
            return
        headers = {"Content-Type": route.content_type}
        tag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
        if route.etag:
            headers["ETag"] = tag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        unchanged = (route.etag and request.headers.get("if-none-match") == tag) or (
            not route.etag
            and route.last_modified
            and request.headers.get("if-modified-since") == route.last_modified
        )
        if route.status == 200 and unchanged:
            self._send(304, headers, b"")
            return
        self._send(route.status, headers, route.body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _serve


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    owner: HttpServer


class HttpServer:
    """A threaded HTTP server on 127.0.0.1 (or another loopback ``host``) with routes set
    by the test."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self._server = _Server((host, 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route) -> str:
        with self.lock:
            self.routes[path] = route
        return self.url(path)

    def requests_to(self, path: str, method: str | None = None) -> list[Request]:
        with self.lock:
            return [
                r
                for r in self.requests
                if r.path == path and (method is None or r.method == method)
            ]

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class SmtpHandler:
    """Collects messages; ``replies`` (if any) answer DATA in turn, e.g. ["451 later", "250 OK"]."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    refuse_recipients: dict[str, str] = field(default_factory=dict)
    refuse_over: int | None = None
    """Answer DATA over this many bytes with a 552, as a server that announces no SIZE does."""

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.replies:
            reply = self.replies.pop(0)
            if not reply.startswith("250"):
                return reply
        content = envelope.original_content or b""
        if self.refuse_over is not None and len(content) > self.refuse_over:
            return "552 5.3.4 Message size exceeds fixed maximum message size"
        self.envelopes.append(envelope)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


def free_port() -> int:
    """A port free on 127.0.0.1 right now (aiosmtpd cannot bind port 0 and report it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """A real aiosmtpd server on 127.0.0.1."""

    def __init__(self, data_size_limit: int | None = None) -> None:
        """``data_size_limit``: aiosmtpd's own limit, announced as SIZE and enforced."""
        self.handler = SmtpHandler()
        options = {} if data_size_limit is None else {"data_size_limit": data_size_limit}
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=free_port(), **options
        )
        self.running = False

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def start(self) -> SmtpServer:
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:  # tests stop it on purpose to simulate an outage
            self.controller.stop()
            self.running = False

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages
