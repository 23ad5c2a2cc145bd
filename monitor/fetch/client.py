"""Download feeds over HTTP, politely and within limits.

* One whole-request deadline (``fetch.timeout``) over the redirect chain and
  the body: httpx's read timeout restarts on every chunk, so a server
  dripping a byte a second would otherwise hold a slot for ever. Waiting for
  a concurrency slot does not count against it.
* A cap on the *decoded* body (``fetch.max_body_bytes``): the raw bytes are
  decoded here (:mod:`monitor.fetch.decode`), a bounded step at a time, so a
  gzip or deflate bomb, stacked encodings or an endless body are cut off at
  the cap instead of being inflated in memory. A ``Content-Length`` over the
  cap is refused before reading; a wrong one is harmless, because the count
  is of bytes actually decoded.
* Redirects are followed here, not by httpx, so each hop is checked: at most
  ``fetch.max_redirects``, ``http``/``https`` only (a redirect to ``file:``
  or ``ftp:`` is refused). A chain that *starts* with permanent redirects
  (301/308) reports where they led in ``FetchResult.permanent_redirect``; a
  temporary hop (302/303/307) ends that, since the feed did not move for good.
* A request that meets a server hanging up before any answer (a keep-alive
  connection closed as it was reused) is sent once more, on a new connection.
* Conditional GET: the stored ETag / Last-Modified go out as If-None-Match /
  If-Modified-Since, and a 304 comes back as an empty :class:`FetchResult`.
* 429 and 503 carry the server's Retry-After (seconds or an HTTP date, capped
  by ``fetch.retry_after_cap``) on the :class:`TransientFetchError`; the
  jitter on top is the scheduling policy's (:mod:`monitor.fetch.policy`).
* No connection to internal addresses (``fetch.ssrf_guard``, on by default; exemptions in
  ``fetch.allow_private``), checked on the connected peer (:mod:`monitor.fetch.guard`).

:class:`Fetcher` is one poll cycle's downloader: it owns a client per host
(:mod:`monitor.fetch.feedclient`: connections kept alive between feeds), a global semaphore
(``fetch.concurrency``) and one per host (``fetch.per_host_concurrency``),
taken host first so that feeds queued behind a busy host never sit on a
global slot, and runs the downloads on an event loop of its own, in a
thread, so CPU work on the caller's loop cannot eat their deadlines. :func:`fetch_feed` is the same download on a caller's client,
without the semaphores.

Failures become :class:`TransientFetchError` (try again later) or
:class:`PermanentFetchError` (will not fix itself), each naming the feed URL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import email.utils
import functools
import logging
import ssl
import threading
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from monitor.errors import (
    AddressBlocked,
    ConnectFailed,
    FeedTooLarge,
    FetchTimeout,
    PermanentFetchError,
    PermanentHttpError,
    RedirectRefused,
    TransientFetchError,
    TransientHttpError,
)
from monitor.fetch.bodies import LARGE_BODY_BYTES, LargeBodies
from monitor.fetch.decode import BodyTooLarge, BoundedDecoder, Codings, DecodeError
from monitor.fetch.feedclient import FeedClient, make_client, proxied
from monitor.fetch.guard import blocked_cause
from monitor.fetch.settings import FetchSettings
from monitor.fetch.transport import TLSContext
from monitor.types import FetchResult

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")

RETRY_AFTER_CAP_SECONDS = 24 * 3600
"""Default cap of :func:`retry_after` for callers without settings (webhook delivery)."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_DRAIN_LIMIT = 64 * 1024  # bytes of an unwanted body read to keep its connection alive


def utc_now() -> datetime:
    return datetime.now(UTC)


async def fetch_feed(
    client: FeedClient,
    url: str,
    settings: FetchSettings,
    etag: str | None = None,
    last_modified: str | None = None,
    clock: Clock = utc_now,
    large: LargeBodies | None = None,
) -> FetchResult:
    """GET ``url`` once, conditionally; raise a FetchError subclass on failure. ``large``:
    the turns a body past :data:`~monitor.fetch.bodies.LARGE_BODY_BYTES` waits for."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(settings.timeout.total_seconds()):
            return await _get(client, url, headers, settings, clock, large)
    except TimeoutError as exc:
        raise FetchTimeout(
            url, f"no complete answer within {settings.timeout.total_seconds():g}s"
        ) from exc
    except httpx.TimeoutException as exc:
        raise FetchTimeout(url, f"timed out ({exc.__class__.__name__})") from exc
    except httpx.ConnectError as exc:
        if (blocked := blocked_cause(exc)) is not None:
            raise AddressBlocked(url, str(blocked)) from exc
        raise ConnectFailed(url, f"cannot connect: {_reason(exc)}") from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise PermanentFetchError(url, f"not a fetchable URL: {exc}") from exc
    except httpx.TransportError as exc:
        raise TransientFetchError(url, f"network error: {_reason(exc)}") from exc
    except ssl.SSLError as exc:
        raise TransientFetchError(url, f"TLS error: {exc}") from exc
    except OSError as exc:
        raise TransientFetchError(url, f"network error: {exc}") from exc


@functools.lru_cache(maxsize=4096)
def _parsed_url(url: str) -> httpx.URL:
    """A feed's URL as httpx reads it, once rather than at every poll (a URL never
    changes: httpx.URL has no setters). One that does not parse raises, and is not kept."""
    return httpx.URL(url)


async def _get(
    client: FeedClient,
    url: str,
    headers: dict[str, str],
    settings: FetchSettings,
    clock: Clock,
    large: LargeBodies | None,
) -> FetchResult:
    current = _parsed_url(url)
    permanent: str | None = None
    moved_for_good = True  # the chain so far is all 301/308
    for _hop in range(settings.max_redirects + 1):
        if current.scheme not in ("http", "https"):
            raise RedirectRefused(url, f"refused to follow a redirect to a {current.scheme}: URL")
        async with _open(client, current, headers) as response:
            status = response.status_code
            location = response.headers.get("Location")
            if status in _REDIRECTS and location:
                try:
                    target = current.join(location.strip())
                except httpx.InvalidURL as exc:
                    raise RedirectRefused(url, f"bad redirect target {location!r}") from exc
                if moved_for_good and status in _PERMANENT:
                    permanent = str(target)
                else:
                    moved_for_good = False
                current = target
                await _drain(response)
                continue
            if status != 200:
                await _drain(response)
            return await _answer(url, response, permanent, settings, clock, large)
    raise RedirectRefused(url, f"more than {settings.max_redirects} redirects")


@contextlib.asynccontextmanager
async def _open(
    client: FeedClient, url: httpx.URL, headers: dict[str, str]
) -> AsyncIterator[httpx.Response]:
    """``client.stream("GET", ...)``, tried a second time if the server hung up before answering.

    A server may close an idle keep-alive connection just as it is reused for
    the next feed of the same host ("Server disconnected without sending a
    response"). A GET is safe to repeat, and the second try opens a fresh
    connection; the overall deadline still bounds both.
    """
    for attempt in (1, 2):
        try:
            response = await client.send(url, headers)
        except httpx.RemoteProtocolError:
            if attempt == 2:
                raise
            continue
        try:
            yield response
        finally:
            await response.aclose()
        return


async def _drain(response: httpx.Response) -> None:
    """Read a small unwanted body (304, redirect, error page) so the connection can be reused.

    An unread body forces httpx to close the connection; reading a short one
    lets the next feed of the same host skip a new TCP (and TLS) handshake. A
    long one is not worth it: stop, and let the connection close.
    """
    seen = 0
    with contextlib.suppress(httpx.TransportError):  # best effort: the status is the answer
        async for raw in response.aiter_raw():
            seen += len(raw)
            if seen > _DRAIN_LIMIT:
                return


async def _answer(
    url: str,
    response: httpx.Response,
    permanent: str | None,
    settings: FetchSettings,
    clock: Clock,
    large: LargeBodies | None,
) -> FetchResult:
    status = response.status_code
    if status == 304:
        return _result(url, response, b"", permanent, clock)
    if status in _RETRY_AFTER_STATUSES:
        raise TransientHttpError(
            url,
            f"HTTP {status} {response.reason_phrase}",
            status,
            retry_after(
                response.headers.get("Retry-After"),
                clock(),
                settings.retry_after_cap.total_seconds(),
            ),
        )
    if status >= 500:
        raise TransientHttpError(url, f"HTTP {status} {response.reason_phrase}", status)
    if status == 410:
        raise PermanentHttpError(
            url, "HTTP 410 Gone: the publisher removed this feed", status, gone=True
        )
    if status >= 400:
        raise PermanentHttpError(url, f"HTTP {status} {response.reason_phrase}", status)
    if status != 200:
        raise PermanentHttpError(url, f"unexpected HTTP {status} {response.reason_phrase}", status)
    body = await read_body(url, response, settings, large)
    return _result(url, response, body, permanent, clock)


async def read_body(
    url: str, response: httpx.Response, settings: FetchSettings, large: LargeBodies | None = None
) -> bytes:
    """The decoded body of ``response``, streamed and capped; past
    :data:`~monitor.fetch.bodies.LARGE_BODY_BYTES` only on one of ``large``'s turns."""
    limit = settings.max_body_bytes
    too_large = f"body larger than fetch.max_body_bytes ({limit} bytes decoded)"
    try:
        codings = Codings.parse(
            response.headers.get("Content-Encoding"), settings.max_content_encodings
        )
    except DecodeError as exc:
        raise PermanentFetchError(url, f"body could not be decoded: {exc}") from exc
    declared = response.headers.get("Content-Length", "")
    if not codings.names and declared.strip().isdigit() and int(declared) > limit:
        raise FeedTooLarge(url, too_large)  # no need to download what will be refused
    decoder = BoundedDecoder(codings, limit)
    try:
        async with contextlib.AsyncExitStack() as turn:
            waiting_for = large if limit > LARGE_BODY_BYTES else None  # a turn, once large
            async for raw in response.aiter_raw():
                decoder.feed(raw)
                if waiting_for is not None and decoder.size > LARGE_BODY_BYTES:
                    await turn.enter_async_context(waiting_for.turn())
                    waiting_for = None
            decoder.close()
    except BodyTooLarge as exc:
        decoder.discard()  # the error outlives this frame in logs and tracebacks; 10 MB must not
        raise FeedTooLarge(url, too_large) from exc
    except DecodeError as exc:
        decoder.discard()
        raise PermanentFetchError(url, f"body could not be decoded: {exc}") from exc
    except BaseException:
        decoder.discard()  # deadline, reset: same reason
        raise
    return decoder.body


def _result(
    url: str,
    response: httpx.Response,
    body: bytes,
    permanent: str | None,
    clock: Clock,
) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        content=body,
        etag=_echoed(response, b"etag"),
        last_modified=_echoed(response, b"last-modified"),
        content_type=response.headers.get("Content-Type"),
        fetched_at=clock(),
        permanent_redirect=permanent,
    )


def _echoed(response: httpx.Response, name: bytes) -> str | None:
    """A validator the next request sends back (ETag, Last-Modified), kept as the bytes the
    server sent: decoded as Latin-1, which maps each byte to one character and back
    (:func:`~monitor.fetch.feedclient.header_bytes`). An entity tag may hold any byte from
    0x80 (RFC 9110, obs-text); httpx decodes such a header as UTF-8 when it can, and a
    value kept that way could not go back out as the server wrote it."""
    values = [value for key, value in response.headers.raw if key.lower() == name]
    return b", ".join(values).decode("latin-1") if values else None


def retry_after(
    value: str | None, now: datetime, cap: float = RETRY_AFTER_CAP_SECONDS
) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP date), capped at ``cap``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), cap))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - now).total_seconds(), cap))


def _reason(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    if (
        "Name or service not known" in text
        or "nodename nor servname" in text
        or "Temporary failure in name resolution" in text
    ):
        return "host name could not be resolved (is this machine offline?)"
    return text


@functools.lru_cache(maxsize=4096)
def host_key(url: str) -> str:
    """The host a feed's requests count against (lower-case name, without the port); kept
    for the feeds of a cycle, as :func:`_parsed_url` is, rather than split at every poll."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class _IOThread:
    """A private event loop in a daemon thread: where a Fetcher's network I/O runs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="monitor-fetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the I/O loop and await its result from the caller's loop.

        Cancelled (once or more), it cancels the coroutine and waits for it to have ended,
        so that nothing of it is left running when the caller goes on (to close the loop,
        say); then it raises the cancellation.
        """
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        started: list[asyncio.Task[T]] = []

        def start() -> None:
            task = self.loop.create_task(coroutine)
            started.append(task)
            task.add_done_callback(functools.partial(_settle, done))

        def cancel() -> None:
            for task in started:
                task.cancel()

        self.loop.call_soon_threadsafe(start)
        cancelled = False
        while True:
            try:
                # Shielded: a cancel here must reach the coroutine through cancel(), and the
                # wait go on until it has ended.
                result = await asyncio.shield(asyncio.wrap_future(done))
            except asyncio.CancelledError:
                if done.done():  # the coroutine itself ended cancelled
                    raise
                if not cancelled:  # once: a second cancel would cut its winding down short
                    cancelled = True
                    self.loop.call_soon_threadsafe(cancel)
                continue
            if cancelled:
                raise asyncio.CancelledError
            return result

    def stop(self) -> None:
        """Cancel what still runs on the loop and wait for it (bounded), then close the loop."""

        async def wind_down() -> None:
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        try:
            asyncio.run_coroutine_threadsafe(wind_down(), self.loop).result(_WIND_DOWN_SECONDS)
        except concurrent.futures.TimeoutError:
            log.warning("the fetch loop's last tasks did not end within %ss", _WIND_DOWN_SECONDS)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


_WIND_DOWN_SECONDS = 10.0


def _settle(done: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
    """Hand ``task``'s outcome to ``done`` (a future another thread waits on)."""
    if task.cancelled():
        done.cancel()
    elif (error := task.exception()) is not None:
        done.set_exception(error)
    else:
        done.set_result(task.result())


class Fetcher:
    """One poll cycle's downloader: a client per host, a global and per-host limits.

    Use as ``async with Fetcher(settings) as fetcher: await fetcher.fetch(url, ...)``.
    ``peak_per_host`` and ``peak_total`` record the most requests that were in
    flight at once, to each host and in all, and :attr:`peak_large_bodies` the most
    bodies past 1 MiB read at once (for tests and benchmarks).

    The downloads run on an event loop of their own, in a thread (unless a
    ``client`` bound to the caller's loop is given). The caller's loop also
    parses, de-duplicates, matches and writes to the database; CPU work there
    would otherwise hold up every download in flight until its deadline ran
    out although the server had answered in time, and a busy poll cycle would
    report healthy feeds as timed out. On its own loop a download waits at most
    for the interpreter's thread switch (5 ms), and the deadline measures the
    server, not the rest of the pipeline.

    Each host gets a client of its own, keeping as many idle connections as the
    per-host limit (all sharing one TLS context); the clients of hosts with nothing
    queued are closed, longest idle first, beyond ``fetch.concurrency`` of them.
    """

    def __init__(
        self,
        settings: FetchSettings,
        clock: Clock = utc_now,
        client: FeedClient | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._client = client
        self._owns_client = client is None
        self._clients: dict[str, FeedClient] = {}  # by host, when we own them
        self._wanted: Counter[str] = Counter()  # fetches queued or running, by host
        self._idle: OrderedDict[str, None] = (
            OrderedDict()
        )  # hosts with nothing queued, oldest first
        self._tls = TLSContext()  # one CA bundle for every host's client, loaded if needed
        self._io: _IOThread | None = None
        self._global: asyncio.Semaphore | None = None
        self._large: LargeBodies | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._in_flight: Counter[str] = Counter()
        self.peak_per_host: Counter[str] = Counter()
        self.peak_total = 0

    @property
    def peak_large_bodies(self) -> int:
        """The most bodies past 1 MiB read at once (:mod:`monitor.fetch.bodies`)."""
        return 0 if self._large is None else self._large.peak

    async def __aenter__(self) -> Fetcher:
        if self._client is None:
            if proxied(self.settings):  # httpx's proxy transports take the context when made
                await asyncio.to_thread(self._tls.now)
            self._io = _IOThread()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        if clients and self._io is not None:
            await self._io.call(_close_all(clients))
        if self._io is not None:
            io, self._io = self._io, None
            await asyncio.to_thread(io.stop)

    async def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        caps: FetchSettings | None = None,
    ) -> FetchResult:
        """Download ``url`` once within both limits; raise a FetchError subclass on failure.

        ``caps``, when given, replaces the settings of this one download (an article
        page's size cap and deadline); the host and global limits stay the fetcher's.
        """
        return await self.on_loop(self._fetch(url, etag, last_modified, caps))

    async def on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the downloads' own loop (the caller's, with a caller's
        client): a caller whose every step around its downloads is light saves two
        hand-overs between threads per download, and its fetches are not held up by CPU
        work on its own loop either. Already there, it is simply awaited."""
        if self._client is not None or self.on_own_loop():  # no loop to change
            return await coroutine
        if self._io is None:
            coroutine.close()  # never to run: no "never awaited" warning
            raise RuntimeError("use Fetcher as an async context manager")
        return await self._io.call(coroutine)

    def on_own_loop(self) -> bool:
        """Whether the running event loop is the downloads' own."""
        return self._io is not None and asyncio.get_running_loop() is self._io.loop

    def _client_for(self, host: str) -> FeedClient:
        if self._client is not None:
            return self._client
        client = self._clients.get(host)
        if client is None:
            client = make_client(self.settings, self._tls, self.settings.per_host_concurrency)
            self._clients[host] = client
        return client

    async def _fetch(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        caps: FetchSettings | None = None,
    ) -> FetchResult:
        """On the I/O loop: wait for a slot of the host, then a global one, then download."""
        if self._global is None:  # created here: a semaphore belongs to the loop that uses it
            self._global = asyncio.Semaphore(self.settings.concurrency)
            self._large = LargeBodies(self.settings.max_large_bodies)
        host = host_key(url)
        per_host = self._hosts.setdefault(
            host, asyncio.Semaphore(self.settings.per_host_concurrency)
        )
        self._wanted[host] += 1
        self._idle.pop(host, None)
        try:
            async with per_host, self._global:
                self._in_flight[host] += 1
                self.peak_per_host[host] = max(self.peak_per_host[host], self._in_flight[host])
                self.peak_total = max(self.peak_total, self._in_flight.total())
                try:
                    client = self._client_for(host)
                    return await fetch_feed(
                        client,
                        url,
                        caps or self.settings,
                        etag,
                        last_modified,
                        self.clock,
                        self._large,
                    )
                finally:
                    self._in_flight[host] -= 1
        finally:
            self._wanted[host] -= 1
            if not self._wanted[host]:
                del self._wanted[host]
                await self._park(host)

    async def _park(self, host: str) -> None:
        """Nothing more is queued for ``host``: keep its client among the idle ones (its
        next feed may come soon), closing the longest idle beyond ``fetch.concurrency``,
        so a cycle over thousands of hosts never holds a socket for each."""
        if host not in self._clients:
            return
        self._idle[host] = None
        surplus = []
        while len(self._idle) > self.settings.concurrency:
            oldest, _ = self._idle.popitem(last=False)
            client = self._clients.pop(oldest, None)
            if client is not None:
                surplus.append(client)
        if surplus:
            await _close_all(surplus)


async def _close_all(clients: list[FeedClient]) -> None:
    for client in clients:
        try:
            await client.aclose()
        except Exception as exc:  # one client that fails to close must not keep the others open
            log.warning("closing an HTTP client failed: %r", exc)
