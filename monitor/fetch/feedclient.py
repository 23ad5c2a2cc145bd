"""What one host's feed downloads go through: our transport, asked directly.

:func:`make_client` builds a :class:`FeedClient` with the project's headers and
timeouts. Its requests go straight to :class:`~monitor.fetch.transport.LeanTransport`,
which also carries the SSRF guard; requests, streamed responses and error classes stay
httpx's, so the fetch policy (:mod:`monitor.fetch.client`) reads them as before.

Why not through ``httpx.AsyncClient.send``: on a cycle of unchanged feeds the client's
own layer (building the request by merging its headers, cookies and URL again, the auth
and redirect machinery we turn off, event hooks, a wrapper around every body) cost as
much CPU per request as the whole exchange on the socket. What of it a feed download
uses is done here: the same headers in the same order, HTTP Basic credentials from a URL's
user information, the timeouts as the request's ``timeout`` extension, and a cookie jar (a feed behind a consent or load-balancer cookie
gets it back on the next request, as a browser would).

With ``fetch.ssrf_guard`` off and a proxy named in the environment, httpx mounts that
proxy only over its own transport: then requests go through an ``httpx.AsyncClient``,
as they always have.
"""

from __future__ import annotations

import base64
import ssl
import urllib.request
from types import TracebackType

import httpx

from monitor.fetch.decode import ACCEPT_ENCODING
from monitor.fetch.guard import exemptions
from monitor.fetch.settings import FetchSettings
from monitor.fetch.transport import LeanTransport, TLSContext

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)


class FeedClient:
    """One host's connections, headers, timeouts and cookies.

    ``send`` returns a streamed response (the caller reads and closes it). Use as an
    async context manager, or call :meth:`aclose`.
    """

    def __init__(self, http: httpx.AsyncClient, direct: LeanTransport | None) -> None:
        self.http = http
        """Where the headers, timeouts and cookies are kept; sends when ``direct`` is None."""
        self.direct = direct
        """The transport requests go to without ``http``'s layer, or None (a proxy)."""
        # Once, not per request: httpx's default headers first (as the client sends them),
        # then ours, in the client's order.
        self._headers = list(http.headers.raw)
        self._names = {name.lower() for name, _ in self._headers}
        self._timeout = http.timeout.as_dict()

    async def send(self, url: httpx.URL, headers: dict[str, str]) -> httpx.Response:
        """GET ``url`` with ``headers`` on top of the client's; the answer streamed."""
        given = [(name.encode("ascii"), header_bytes(value)) for name, value in headers.items()]
        if self.direct is None:
            request = self.http.build_request("GET", url, headers=given)
            return await self.http.send(request, stream=True, follow_redirects=False)
        if self._names.isdisjoint(name.lower() for name, _ in given):
            # Nothing of ours to replace (a feed's conditional headers): one list, which the
            # request reads once (a few µs a download, #14).
            merged: httpx.Headers | list[tuple[bytes, bytes]] = [*self._headers, *given]
        else:
            merged = httpx.Headers(self._headers)
            merged.update(given)
        request = httpx.Request("GET", url, headers=merged, extensions={"timeout": self._timeout})
        cookies = self.http.cookies
        if cookies:
            cookies.set_cookie_header(request)
        if url.username or url.password:  # a private feed's https://user:secret@host/...
            request.headers["Authorization"] = _basic(url.username, url.password)
        response = await self.direct.handle_async_request(request)
        response.request = request
        # The standard library's jar looks at these two headers only; every 304 and most
        # feeds have neither, and handing it an answer parses the request's URL again.
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            cookies.extract_cookies(response)
        return response

    async def aclose(self) -> None:
        await self.http.aclose()  # and ``direct``, its transport

    async def __aenter__(self) -> FeedClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def make_client(
    settings: FetchSettings,
    ssl_context: ssl.SSLContext | TLSContext | None = None,
    connections: int | None = None,
) -> FeedClient:
    """A client with the project's headers, timeouts and limits.

    ``connections``: how many idle connections it keeps per origin (default
    ``fetch.concurrency``; the caller bounds how many are open at once, as
    :class:`~monitor.fetch.client.Fetcher` does per host); a shared ``ssl_context``
    saves loading the CA bundle again for every client, and a :class:`TLSContext` loads
    it only when a download first needs it.
    """
    seconds = settings.timeout.total_seconds()
    size = connections or settings.concurrency
    tls = ssl_context if isinstance(ssl_context, TLSContext) else TLSContext(ssl_context)
    guard = exemptions(settings.allow_private) if settings.ssrf_guard else None
    through_proxy = proxied(settings)
    direct = None if through_proxy else LeanTransport(tls, guard, keepalive=size)
    http = httpx.AsyncClient(
        headers={
            "User-Agent": settings.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        timeout=httpx.Timeout(seconds, connect=settings.connect_timeout.total_seconds()),
        follow_redirects=False,  # followed by hand, hop by hop (monitor.fetch.client)
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        # Mounted (so the client makes no pool of its own and closes it), though only
        # the proxied client sends through its transport.
        transport=direct,
        trust_env=through_proxy,
        # Only httpx's own (proxied) transports use it: those are made here, so it is
        # needed now (a Fetcher has loaded it already, off its loop).
        verify=tls.now() if through_proxy else True,
    )
    return FeedClient(http, direct)


def header_bytes(value: str) -> bytes:
    """A header value as it goes out: Latin-1, which gives back the bytes of a validator
    the fetch kept (:func:`monitor.fetch.client._echoed`), ASCII ones unchanged; UTF-8 for
    text no Latin-1 byte can hold (a validator kept before, as httpx had decoded it). httpx
    itself would refuse anything outside ASCII, and the feed would fail at every poll."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _basic(username: str, password: str) -> str:
    """HTTP Basic credentials, as httpx makes them from a URL's user information."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def proxied(settings: FetchSettings) -> bool:
    """Whether downloads go through a proxy from the environment (``HTTPS_PROXY``...):
    only with the SSRF guard off, which through a proxy could only check the proxy."""
    return not settings.ssrf_guard and _environment_proxies()


def _environment_proxies() -> bool:
    """Whether the environment names a proxy for any scheme (``NO_PROXY`` alone does not)."""
    return any(scheme != "no" for scheme in urllib.request.getproxies())
