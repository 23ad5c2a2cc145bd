"""Finding a site's feeds from an address a person has: ``monitor feeds add URL``.

The address is fetched with the poller's own fetcher (same SSRF guard, size
and time limits). If the body is a feed of any source type, that is the one
candidate. If it is an HTML page, its candidates are the feeds it links with
``<link rel="alternate">`` (RSS, Atom and JSON Feed types); only when it links
none are the common paths (:data:`COMMON_PATHS`) tried on its site, one at a
time, and those that answer with a feed are the candidates. Probing stops at
the first ``fetch.discover_max_probe_feeds`` feeds found, so a site is never asked
more than :data:`COMMON_PATHS` holds; a page's links list at most
``fetch.discover_max_linked`` feeds.

A linked feed is taken at the page's word until it is chosen: :func:`confirm`
then fetches and parses it, so what is added is known to be a feed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

from monitor.errors import FeedError, FetchError, ParseError
from monitor.fetch.client import Fetcher
from monitor.fetch.settings import FetchSettings
from monitor.parse.diagnose import FEED_TYPES, JSON_FEED_TYPES, feed_links, is_html
from monitor.sources import parse_document, sniff
from monitor.types import FetchResult

COMMON_PATHS = (
    "/feed",
    "/rss",
    "/rss.xml",
    "/atom.xml",
    "/feed.xml",
    "/index.xml",
    "/feed.json",
    "/news-sitemap.xml",
    "/sitemap-news.xml",
)
"""Where sites commonly keep their feeds, tried in this order on a page that links none."""
_LINK_TYPES = FEED_TYPES | JSON_FEED_TYPES
_KINDS = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "jsonfeed",
    "application/json": "jsonfeed",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One feed found for an address."""

    url: str
    """The feed's absolute address."""
    kind: str
    """Its source type: parsed (``rss``, ``jsonfeed``, ``sitemap``) or, for a linked feed
    not fetched yet, as the link's type says (``rss``, ``atom``, ``jsonfeed``)."""
    title: str
    """The feed's own title, or the link's ``title`` attribute; may be empty."""
    found: str
    """How it was found: ``the address itself``, ``linked from the page``, ``common path``."""
    confirmed: bool
    """Whether it was fetched and parsed as a feed (a linked one is not, until chosen)."""


async def discover(url: str, settings: FetchSettings) -> tuple[Candidate, ...]:
    """The feeds found for ``url`` (empty when none). Raises FeedError naming ``url``
    when it cannot be fetched, or is neither a feed nor an HTML page."""
    async with Fetcher(settings) as fetcher:
        result = await fetcher.fetch(url)
        feed, problem = _as_feed(result, url, settings, "the address itself")
        if feed is not None:
            return (feed,)
        if not is_html(result.content, result.content_type):
            raise FeedError(url, f"neither a feed nor an HTML page: {problem}")
        page = result.content.decode("utf-8", "replace")
        linked = feed_links(page, result.final_url, _LINK_TYPES)[: settings.discover_max_linked]
        if linked:
            return tuple(
                Candidate(href, _KINDS.get(media, "rss"), title, "linked from the page", False)
                for href, media, title in linked
            )
        found: list[Candidate] = []
        for path in COMMON_PATHS:
            target = urljoin(result.final_url, path)
            if target in (url, result.final_url) or len(found) >= settings.discover_max_probe_feeds:
                continue
            try:
                answer = await fetcher.fetch(target)
            except FetchError:
                continue  # a 404 is the usual answer: the path is simply not used
            candidate, _ = _as_feed(answer, target, settings, "common path")
            if candidate is not None and all(c.url != candidate.url for c in found):
                found.append(candidate)
        return tuple(found)


async def confirm(candidate: Candidate, settings: FetchSettings) -> Candidate:
    """The candidate fetched and parsed: its type and title as the feed says. Raises
    FeedError naming its address when it is not a feed after all."""
    if candidate.confirmed:
        return candidate
    async with Fetcher(settings) as fetcher:
        result = await fetcher.fetch(candidate.url)
    feed, problem = _as_feed(result, candidate.url, settings, candidate.found)
    if feed is None:
        raise FeedError(candidate.url, f"linked as a feed, but it is not one: {problem}")
    return replace(feed, title=feed.title or candidate.title)


def _as_feed(
    result: FetchResult, url: str, settings: FetchSettings, found: str
) -> tuple[Candidate | None, str]:
    """The body as a confirmed candidate, or None and why it is not a feed."""
    try:
        parsed = parse_document(
            result.content,
            url,
            urlsplit(url).hostname or url,
            result.content_type,
            base=result.final_url,
            limits=settings.item_limits,
        )
    except ParseError as exc:
        return None, exc.reason
    # A feed that moved for good is added where it now is.
    address = result.permanent_redirect or url
    kind = sniff(result.content, result.content_type)  # the type that just parsed it
    return Candidate(address, kind, parsed.title, found, True), ""
