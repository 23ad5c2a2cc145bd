"""Download feeds over HTTP, politely and within limits.

* One whole-request deadline (``fetch.timeout``): httpx's read timeout restarts
  on every chunk, so a server dripping a byte a second would otherwise hold a
  slot for ever.
* A cap on the *decoded* body (``fetch.max_body_bytes``), counted while
  streaming, so a gzip bomb or an endless body is cut off, not buffered.
* Conditional GET: the stored ETag / Last-Modified go out as If-None-Match /
  If-Modified-Since, and a 304 comes back as an empty :class:`FetchResult`.
* A User-Agent that names the project.

Failures become :class:`TransientFetchError` (try again later) or
:class:`PermanentFetchError` (will not fix itself), each naming the feed URL.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from monitor.config import FetchSettings
from monitor.errors import PermanentFetchError, TransientFetchError
from monitor.types import FetchResult

RETRY_AFTER_CAP_SECONDS = 24 * 3600  # a publisher asking for more than a day is treated as a day


def make_client(settings: FetchSettings) -> httpx.AsyncClient:
    """The shared client of one poll cycle (connection pooling across feeds)."""
    seconds = settings.timeout.total_seconds()
    return httpx.AsyncClient(
        headers={"User-Agent": settings.user_agent, "Accept": _ACCEPT},
        timeout=httpx.Timeout(seconds, connect=settings.connect_timeout.total_seconds()),
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        limits=httpx.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        ),
    )


_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    settings: FetchSettings,
    etag: str | None = None,
    last_modified: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FetchResult:
    """GET ``url`` once, conditionally; raise a FetchError subclass on failure."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(settings.timeout.total_seconds()):
            return await _get(client, url, headers, settings, clock)
    except TimeoutError as exc:
        raise TransientFetchError(
            url, f"no complete answer within {settings.timeout.total_seconds():g}s"
        ) from exc
    except httpx.TooManyRedirects as exc:
        raise PermanentFetchError(url, f"more than {settings.max_redirects} redirects") from exc
    except httpx.TimeoutException as exc:
        raise TransientFetchError(url, f"timed out ({exc.__class__.__name__})") from exc
    except httpx.ConnectError as exc:
        raise TransientFetchError(url, f"cannot connect: {_reason(exc)}") from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise PermanentFetchError(url, f"not a fetchable URL: {exc}") from exc
    except httpx.DecodingError as exc:
        raise PermanentFetchError(url, f"body could not be decoded: {exc}") from exc
    except httpx.TransportError as exc:
        raise TransientFetchError(url, f"network error: {_reason(exc)}") from exc
    except ssl.SSLError as exc:
        raise TransientFetchError(url, f"TLS error: {exc}") from exc


async def _get(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    settings: FetchSettings,
    clock: Callable[[], datetime],
) -> FetchResult:
    async with client.stream("GET", url, headers=headers) as response:
        status = response.status_code
        if status == 304:
            return _result(url, response, b"", clock)
        if status == 429 or status >= 500:
            raise TransientFetchError(
                url,
                f"HTTP {status} {response.reason_phrase}",
                retry_after(response.headers.get("Retry-After"), clock()),
            )
        if status == 410:
            raise PermanentFetchError(
                url, "HTTP 410 Gone: the publisher removed this feed", gone=True
            )
        if status >= 400:
            raise PermanentFetchError(url, f"HTTP {status} {response.reason_phrase}")
        if status != 200:
            raise PermanentFetchError(url, f"unexpected HTTP {status} {response.reason_phrase}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > settings.max_body_bytes:
                raise PermanentFetchError(
                    url,
                    f"body larger than fetch.max_body_bytes ({settings.max_body_bytes} bytes decoded)",
                )
        return _result(url, response, bytes(body), clock)


def _result(
    url: str, response: httpx.Response, body: bytes, clock: Callable[[], datetime]
) -> FetchResult:
    permanent = None
    for hop in response.history:
        if hop.status_code in (301, 308) and "location" in hop.headers:
            permanent = str(hop.url.join(hop.headers["location"]))
    return FetchResult(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        content=body,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        content_type=response.headers.get("Content-Type"),
        fetched_at=clock(),
        permanent_redirect=permanent,
    )


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), RETRY_AFTER_CAP_SECONDS))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - now).total_seconds(), RETRY_AFTER_CAP_SECONDS))


def _reason(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    if (
        "Name or service not known" in text
        or "nodename nor servname" in text
        or "Temporary failure in name resolution" in text
    ):
        return "host name could not be resolved (is this machine offline?)"
    return text
