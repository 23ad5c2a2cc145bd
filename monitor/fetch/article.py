"""Downloading one article page for a ``full_text`` feed, with the feeds' fetcher.

The page goes through the same :class:`~monitor.fetch.client.Fetcher` as the feeds of the
poll cycle: the SSRF guard, the redirect limit, the per-host and global concurrency limits
(a site's feed and its article pages share the host's slots), with the article's own size
cap and deadline (``full_text.max_article_bytes``, ``full_text.timeout``). It never raises
for the page: a failure comes back as its reason, and the entry is judged on its summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.errors import FetchError, TransientFetchError
from monitor.fetch.client import Fetcher
from monitor.fetch.settings import FetchSettings
from monitor.fulltext import FullTextSettings

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """An article page's bytes, or why there are none."""

    url: str
    body: bytes = b""
    """The decoded HTML."""
    error: str | None = None
    """Why the page could not be had."""
    temporary: bool = False
    """The failure may fix itself (timeout, connection error, 5xx, 429)."""


def article_caps(fetch: FetchSettings, full_text: FullTextSettings) -> FetchSettings:
    """The fetch settings of one article page: the article's size cap and deadline."""
    return fetch.model_copy(
        update={"max_body_bytes": full_text.max_article_bytes, "timeout": full_text.timeout}
    )


async def fetch_article(fetcher: Fetcher, url: str, caps: FetchSettings) -> FetchedPage:
    """GET the article page ``url`` once; any failure is the page's ``error``."""
    try:
        result = await fetcher.fetch(url, caps=caps)
    except FetchError as exc:
        reason = exc.reason.replace("fetch.max_body_bytes", "full_text.max_article_bytes")
        return FetchedPage(url, error=reason, temporary=isinstance(exc, TransientFetchError))
    kind = (result.content_type or "").split(";")[0].strip().lower()
    if kind and kind not in _HTML_TYPES:
        return FetchedPage(url, error=f"not an HTML page ({kind})")
    return FetchedPage(url, result.content)
