"""A feed farm: one asyncio HTTP server serving many synthetic feeds, some hostile.

For tests and benchmarks of fetching at scale, with no internet. It serves N
feeds of M items each (deterministic content, so every run sees the same
bytes; stable ETags; conditional GET answered with 304) under H virtual
hosts, each a different loopback address (127.0.0.1, 127.0.0.2, ...), so a
client's per-host limit is exercised exactly as it would be against real
sites. A configurable share of the feeds is faulty, cycling through every
hazard in :data:`HAZARDS`.

It counts what a polite client must be judged on: requests per feed, the
most requests in flight per host at once, and requests that came inside a
Retry-After window the farm itself announced.

Use it in a thread (tests)::

    with Farm(FarmConfig(feeds=20, hosts=2)) as farm:
        urls = farm.urls()

or as a process (benchmarks, so its memory is not counted as the client's)::

    python testbed/farm.py --feeds 2000 --items 30 --faulty 0.1

which prints one JSON line ``{"urls": [...], "stats": URL}`` and serves until
stdin closes. ``GET /_farm/stats`` on the first host answers the counters as
JSON.

Written with the standard library only (asyncio streams): the HTTP it speaks
is the small subset a feed client uses: GET, keep-alive, Content-Length or
close-delimited bodies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import random
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

try:  # as the module testbed.farm, or as a script (python testbed/farm.py)
    from testbed.newstext import item_story
    from testbed.realnews import real_item
except ImportError:  # pragma: no cover - depends on how it was started
    from newstext import item_story  # type: ignore[no-redef]
    from realnews import real_item  # type: ignore[no-redef]

HAZARDS = (
    "slow_drip",
    "endless",
    "gzip_bomb",
    "redirect_loop",
    "error_500",
    "rate_limited",
    "gone",
    "malformed",
    "wrong_encoding",
    "entity_attack",
)
"""Every faulty kind the farm can serve; a faulty share cycles through them."""

EXTRA_KINDS = (
    "deflate_bomb",
    "stacked_gzip",
    "stacked_bomb",
    "short_length",
    "long_length",
    "unavailable",
    "moved",
    "moved_temporarily",
    "to_file",
    "external_entity",
)
"""Kinds only asked for by name (tests of one hazard each); never in a faulty share."""

HEALTHY = "ok"
BASE_TIME = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
_BOMB_BYTES = 64 * 1024 * 1024  # decoded size of the bombs: well past any sane cap
_ENDLESS_LIMIT = 512 * 1024 * 1024  # the endless body still ends, so the farm stops by itself
_MAX_HEAD = 64 * 1024
_SETTLE_TURNS = 32  # event-loop turns a new request waits for earlier hang-ups to be seen


@dataclass(frozen=True)
class FarmConfig:
    """What the farm serves."""

    feeds: int = 100
    items: int = 30
    hosts: int = 4
    latency: float = 0.0
    """Seconds each answer waits before its headers (a far-away server)."""
    faulty_share: float = 0.0
    """Share of the feeds that are faulty, spread evenly, cycling through ``hazards``."""
    hazards: tuple[str, ...] = HAZARDS
    kinds: tuple[str, ...] = ()
    """Explicit kind per feed (overrides ``feeds`` and ``faulty_share``)."""
    seed: int = 7
    drip_interval: float = 0.5
    """Seconds between the bytes of a slow drip."""
    drip_seconds: float = 60.0
    """How long a slow drip goes on before the farm gives up on its own."""
    endless_pause: float = 0.0
    """Seconds between the 66 KB pieces of an endless body (0: as fast as the client
    reads; a pause makes several endless bodies stream at the same time)."""
    retry_after: int = 120
    """Seconds a rate-limited feed asks the client to wait."""
    text: str = "news"
    """``news`` (distinct stories, some wire copies), ``template`` or ``reuters`` (real wire
    stories, :mod:`realnews`); see :func:`rss_body`."""
    base_time: datetime | None = None
    """The newest item's date; None: a fixed date (so bodies and ETags never change)."""
    wire_share: float = 0.05
    """Share of the items that are wire copies carried by many feeds (``news`` text)."""


@dataclass
class FarmStats:
    requests: Counter[int] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    peak_per_host: Counter[str] = field(default_factory=Counter)
    retry_after_violations: list[int] = field(default_factory=list)
    not_modified: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": {str(k): v for k, v in self.requests.items()},
            "peak_per_host": dict(self.peak_per_host),
            "retry_after_violations": list(self.retry_after_violations),
            "not_modified": self.not_modified,
        }


def feed_kinds(config: FarmConfig) -> tuple[str, ...]:
    """The kind of every feed: deterministic for a config."""
    if config.kinds:
        return config.kinds
    count = round(config.feeds * config.faulty_share)
    rng = random.Random(config.seed)
    faulty = sorted(rng.sample(range(config.feeds), count)) if count else []
    kinds = [HEALTHY] * config.feeds
    for n, index in enumerate(faulty):
        kinds[index] = config.hazards[n % len(config.hazards)]
    return tuple(kinds)


def rss_body(
    index: int,
    items: int,
    encoding: str = "utf-8",
    text: str = "news",
    wire_share: float = 0.05,
    base_time: datetime | None = None,
) -> bytes:
    """Feed ``index``'s document: ``items`` items, newest first, deterministic.

    ``text="news"``: every item its own story, a ``wire_share`` of them wire
    copies (:mod:`newstext`); ``text="template"``: every item the same sentence
    but for its numbers, the worst case for duplicate detection (every item a
    candidate for every other); ``text="reuters"``: real Reuters-21578 wire stories.
    """
    newest = base_time or BASE_TIME
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
        f"<title>Farm feed {index}</title><link>http://farm.example/{index}</link>"
        f"<description>Synthetic feed {index}: a résumé of the news</description>"
    ]
    for item in range(items):
        when = format_datetime(newest - timedelta(hours=item, minutes=index % 60))
        if text == "template":
            title = f"Feed {index} story {item}: trade talks résumé"
            summary = (
                f"Story {item} of feed {index}: ministers met in "
                "Ottawa and Mexico City to discuss the USMCA review."
            )
        elif text == "reuters":
            title, summary = real_item(index, item, items)
        else:
            story = item_story(index, item, wire_share)
            title, summary = story.headline, story.summary
        parts.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>http://farm.example/{index}/story/{item}</link>"
            f'<guid isPermaLink="false">farm-{index}-{item}</guid>'
            f"<pubDate>{when}</pubDate>"
            f"<description>{escape('<p>' + summary + '</p>')}</description>"
            f"</item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


def _billion_laughs() -> bytes:
    lines = ['<!ENTITY lol0 "lol">']
    lines += [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [' + "\n".join(lines).encode() + b"]>\n"
        b'<rss version="2.0"><channel><title>Laughs</title>'
        b"<item><title>&lol9;</title><guid>laugh-1</guid></item></channel></rss>"
    )


def _external_entity() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<rss version="2.0"><channel><title>XXE</title>'
        b"<item><title>Leak: &xxe;</title><guid>xxe-1</guid></item></channel></rss>"
    )


class _Payloads:
    """Bodies built once per farm (bombs are costly to compress)."""

    def __init__(self) -> None:
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> bytes:
        with self._lock:
            if name not in self._cache:
                self._cache[name] = self._build(name)
            return self._cache[name]

    @staticmethod
    def _build(name: str) -> bytes:
        zeros = b"\0" * _BOMB_BYTES
        if name == "gzip_bomb":
            return gzip.compress(zeros, compresslevel=9)
        if name == "deflate_bomb":
            return zlib.compress(zeros, 9)
        if name == "stacked_bomb":
            return gzip.compress(gzip.compress(zeros, compresslevel=9), compresslevel=9)
        raise KeyError(name)


class Farm:
    """The server; start/stop in a background thread, or ``await serve()`` in a loop."""

    def __init__(self, config: FarmConfig | None = None) -> None:
        self.config = config or FarmConfig()
        self.kinds = feed_kinds(self.config)
        self.stats = FarmStats()
        self.ports: dict[str, int] = {}
        self._payloads = _Payloads()
        self._bodies: dict[int, tuple[bytes, str]] = {}
        self._retry_until: dict[int, float] = {}
        self._servers: list[asyncio.Server] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._lock = threading.Lock()

    # --- addresses -----------------------------------------------------------------

    @property
    def host_names(self) -> list[str]:
        return [f"127.0.0.{n + 1}" for n in range(self.config.hosts)]

    def host_of(self, index: int) -> str:
        return self.host_names[index % self.config.hosts]

    def url(self, index: int) -> str:
        host = self.host_of(index)
        return f"http://{host}:{self.ports[host]}/feed/{index}.xml"

    def urls(self) -> list[str]:
        return [self.url(index) for index in range(len(self.kinds))]

    def indices(self, kind: str) -> list[int]:
        return [i for i, k in enumerate(self.kinds) if k == kind]

    @property
    def stats_url(self) -> str:
        host = self.host_names[0]
        return f"http://{host}:{self.ports[host]}/_farm/stats"

    # --- lifecycle -----------------------------------------------------------------

    async def serve(self) -> None:
        """Bind every host and serve until :meth:`stop` (or the task is cancelled)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        for host in self.host_names:
            server = await asyncio.start_server(self._connection, host, 0, limit=_MAX_HEAD)
            self.ports[host] = server.sockets[0].getsockname()[1]
            self._servers.append(server)
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            for server in self._servers:
                server.close()
            for server in self._servers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), 1)

    def start(self) -> Farm:
        self._thread = threading.Thread(target=lambda: asyncio.run(self.serve()), daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("farm did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Farm:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def prepare(self, kind: str) -> None:
        """Build a costly payload now (before a test starts measuring memory)."""
        if kind in ("gzip_bomb", "deflate_bomb", "stacked_bomb"):
            self._payloads.get(kind)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.stats.as_json()

    # --- content -------------------------------------------------------------------

    def body(self, index: int) -> tuple[bytes, str]:
        """Feed ``index``'s healthy body and its ETag."""
        cached = self._bodies.get(index)
        if cached is None:
            data = rss_body(
                index,
                self.config.items,
                text=self.config.text,
                wire_share=self.config.wire_share,
                base_time=self.config.base_time,
            )
            cached = (data, '"' + hashlib.sha1(data).hexdigest()[:20] + '"')
            self._bodies[index] = cached
        return cached

    # --- HTTP ----------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        early = b""  # bytes of the next request read while watching for a hang-up
        try:
            while True:
                try:
                    head = early + await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                method, target, headers = _parse_head(head)
                # A client that gave up on a request closed its connection before it
                # sent this one; let this loop see that hang-up first, or a busy farm
                # would count both requests in flight at once.
                for _ in range(_SETTLE_TURNS):
                    await asyncio.sleep(0)
                with self._lock:
                    self.stats.in_flight[host] += 1
                    self.stats.peak_per_host[host] = max(
                        self.stats.peak_per_host[host], self.stats.in_flight[host]
                    )
                try:
                    keep, early = await self._answer_or_hang_up(
                        method, target, headers, reader, writer
                    )
                finally:
                    with self._lock:
                        self.stats.in_flight[host] -= 1
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, OSError, asyncio.CancelledError):
            return  # the client went away, or the farm is stopping
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer_or_hang_up(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> tuple[bool, bytes]:
        """Answer, but stop as soon as the client hangs up (it gave up: deadline, size cap).

        A request the client abandoned is no longer in flight; counting it until
        the farm's next failed write would overstate the client's concurrency.
        Returns (keep the connection, bytes of the next request already read):
        a client that got the whole answer may send its next request on this
        connection before this task notices the answer is done.
        """
        answer = asyncio.ensure_future(self._answer(method, target, headers, writer))
        hang_up = asyncio.ensure_future(reader.read(1))
        try:
            await asyncio.wait({answer, hang_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            answer_was_done = answer.done()
            for task in (answer, hang_up):
                task.cancel()
        kept, read = await asyncio.gather(answer, hang_up, return_exceptions=True)
        if isinstance(read, bytes) and read and answer_was_done:
            return kept is True, read  # the next request started: not a hang-up
        if isinstance(read, bytes | BaseException) and not answer_was_done:
            return False, b""  # EOF, reset, or bytes mid-answer: the client is gone
        return kept is True, b""

    async def _answer(
        self, method: str, target: str, headers: dict[str, str], writer: asyncio.StreamWriter
    ) -> bool:
        """Write one response; False when the connection must close after it."""
        path = target.split("?", 1)[0]
        if path == "/_farm/stats":
            return await _send(
                writer,
                200,
                {"Content-Type": "application/json"},
                json.dumps(self.snapshot()).encode(),
            )
        if not (path.startswith("/feed/") and path.endswith(".xml")):
            return await _send(writer, 404, {}, b"not found")
        try:
            index = int(path[len("/feed/") : -len(".xml")])
            kind = self.kinds[index]
        except (ValueError, IndexError):
            return await _send(writer, 404, {}, b"not found")
        now = time.monotonic()
        with self._lock:
            self.stats.requests[index] += 1
            until = self._retry_until.get(index)
            if until is not None and now < until:
                self.stats.retry_after_violations.append(index)
        if self.config.latency:
            await asyncio.sleep(self.config.latency)
        return await self._serve_kind(kind, index, target, headers, writer)

    async def _serve_kind(  # noqa: PLR0915 - one branch per hazard reads best as one table
        self,
        kind: str,
        index: int,
        target: str,
        headers: dict[str, str],
        writer: asyncio.StreamWriter,
    ) -> bool:
        xml = {"Content-Type": "application/rss+xml; charset=utf-8"}
        if kind == HEALTHY:
            data, etag = self.body(index)
            if headers.get("if-none-match") == etag:
                with self._lock:
                    self.stats.not_modified += 1
                return await _send(writer, 304, {"ETag": etag}, b"")
            return await _send(writer, 200, {**xml, "ETag": etag}, data)
        if kind == "slow_drip":
            data, _ = self.body(index)
            await _send_head(writer, 200, {**xml, "Content-Length": str(len(data))})
            deadline = time.monotonic() + self.config.drip_seconds
            for byte in data:
                if time.monotonic() > deadline:
                    return False
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.config.drip_interval)
            return True
        if kind == "endless":
            await _send_head(writer, 200, {**xml, "Connection": "close"})
            writer.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>Endless</title>')
            chunk = b"<item><title>again</title></item>" * 2000
            sent = 0
            while sent < _ENDLESS_LIMIT:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
                if self.config.endless_pause:
                    await asyncio.sleep(self.config.endless_pause)
            return False
        if kind in ("gzip_bomb", "deflate_bomb", "stacked_bomb"):
            coding = {"gzip_bomb": "gzip", "deflate_bomb": "deflate", "stacked_bomb": "gzip, gzip"}
            payload = await asyncio.to_thread(self._payloads.get, kind)
            return await _send(writer, 200, {**xml, "Content-Encoding": coding[kind]}, payload)
        if kind == "stacked_gzip":
            data, _ = self.body(index)
            return await _send(
                writer,
                200,
                {**xml, "Content-Encoding": "gzip, gzip"},
                gzip.compress(gzip.compress(data)),
            )
        if kind == "redirect_loop":
            hop = int(target.rsplit("hop=", 1)[1]) if "hop=" in target else 0
            return await _send(writer, 302, {"Location": f"/feed/{index}.xml?hop={hop + 1}"}, b"")
        if kind == "moved":
            if "moved=1" in target:
                data, etag = self.body(index)
                return await _send(writer, 200, {**xml, "ETag": etag}, data)
            return await _send(writer, 301, {"Location": f"/feed/{index}.xml?moved=1"}, b"")
        if kind == "moved_temporarily":
            if "moved=1" in target:
                data, etag = self.body(index)
                return await _send(writer, 200, {**xml, "ETag": etag}, data)
            return await _send(writer, 302, {"Location": f"/feed/{index}.xml?moved=1"}, b"")
        if kind == "to_file":
            return await _send(writer, 301, {"Location": "file:///etc/passwd"}, b"")
        if kind == "error_500":
            return await _send(writer, 500, {}, b"internal error")
        if kind in ("rate_limited", "unavailable"):
            seconds = self.config.retry_after
            with self._lock:
                self._retry_until[index] = time.monotonic() + seconds
            status = 429 if kind == "rate_limited" else 503
            value = (
                str(seconds)
                if kind == "rate_limited"
                else format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)
            )
            return await _send(writer, status, {"Retry-After": value}, b"slow down")
        if kind == "gone":
            return await _send(writer, 410, {}, b"gone")
        if kind == "malformed":
            data, _ = self.body(index)
            cut = data.rfind(b"<item>")  # the last item is cut short, tags left open
            return await _send(writer, 200, xml, data[: cut + 40])
        if kind == "wrong_encoding":
            data, _ = self.body(index)
            return await _send(writer, 200, xml, data.decode("utf-8").encode("windows-1252"))
        if kind == "entity_attack":
            return await _send(writer, 200, xml, _billion_laughs())
        if kind == "external_entity":
            return await _send(writer, 200, xml, _external_entity())
        if kind == "short_length":  # Content-Length says less than is sent
            data, _ = self.body(index)
            await _send_head(writer, 200, {**xml, "Content-Length": str(len(data) // 2)})
            writer.write(data)
            await writer.drain()
            return False
        if kind == "long_length":  # Content-Length says more than is sent, then the server hangs up
            data, _ = self.body(index)
            await _send_head(writer, 200, {**xml, "Content-Length": str(len(data) * 2)})
            writer.write(data)
            await writer.drain()
            return False
        raise ValueError(f"unknown feed kind {kind!r}")


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


async def _send_head(writer: asyncio.StreamWriter, status: int, headers: dict[str, str]) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()


async def _send(
    writer: asyncio.StreamWriter, status: int, headers: dict[str, str], body: bytes
) -> bool:
    await _send_head(writer, status, {**headers, "Content-Length": str(len(body))})
    if body:
        writer.write(body)
        await writer.drain()
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--faulty", type=float, default=0.1)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--drip-seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--retry-after", type=int, default=120)
    parser.add_argument("--text", choices=("news", "template", "reuters"), default="news")
    parser.add_argument(
        "--recent", action="store_true", help="date the newest items now (they count as new)"
    )
    parser.add_argument("--wire-share", type=float, default=0.05)
    args = parser.parse_args(argv)
    config = FarmConfig(
        feeds=args.feeds,
        items=args.items,
        hosts=args.hosts,
        faulty_share=args.faulty,
        latency=args.latency,
        drip_seconds=args.drip_seconds,
        seed=args.seed,
        retry_after=args.retry_after,
        text=args.text,
        wire_share=args.wire_share,
        base_time=datetime.now(UTC).replace(microsecond=0) if args.recent else None,
    )
    farm = Farm(config).start()
    print(
        json.dumps({"urls": farm.urls(), "kinds": list(farm.kinds), "stats": farm.stats_url}),
        flush=True,
    )
    sys.stdin.read()  # serve until the parent closes our stdin
    farm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
