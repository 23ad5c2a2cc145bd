"""Why a body is not a feed, in words a person can act on.

Most bodies that are not feeds are one of two things: nothing at all (a server
answering 200 with no content), or an HTML page (a site moved its feed, or the
configured address is the site's home page). A page often says where its feed
is (``<link rel="alternate" type="application/rss+xml" href=...>``); naming
that address tells the user what to configure instead.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
JSON_FEED_TYPES = frozenset({"application/feed+json", "application/json"})
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)
_SNIFF_BYTES = 4096  # the doctype or <html> tag comes first in any page


def not_a_feed(content: bytes, content_type: str | None, base: str) -> str | None:
    """A plain description of what ``content`` is instead of a feed, or None if unsure.

    ``base`` is the address the body came from: a linked feed is named absolutely.
    """
    if not content.strip():
        return "empty body (the server sent no content)"
    if not is_html(content, content_type):
        return None
    feeds = linked_feeds(content.decode("utf-8", "replace"), base)
    if feeds:
        return f"the server sent an HTML page, not a feed; the page links a feed at {feeds[0]}"
    return "the server sent an HTML page, not a feed"


def is_html(content: bytes, content_type: str | None) -> bool:
    """Whether a body is an HTML page, by its Content-Type or its first tag."""
    media = (content_type or "").split(";")[0].strip().lower()
    head = content[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf")
    return media in ("text/html", "application/xhtml+xml") or bool(_HTML_START.match(head))


def linked_feeds(page: str, base: str) -> list[str]:
    """The absolute addresses of the RSS and Atom feeds an HTML page links, in page order."""
    return [href for href, _, _ in feed_links(page, base, FEED_TYPES)]


def feed_links(page: str, base: str, types: frozenset[str]) -> list[tuple[str, str, str]]:
    """``(address, media type, title)`` of each ``<link rel="alternate">`` of one of
    ``types`` in an HTML page, in page order, each address once and absolute."""
    finder = _FeedLinks(base, types)
    finder.feed(page)
    finder.close()
    return finder.found


class _FeedLinks(HTMLParser):
    def __init__(self, base: str, types: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.types = types
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        if tag == "base" and values.get("href"):
            self.base = urljoin(self.base, values["href"].strip())
            return
        if tag != "link":
            return
        rel = values.get("rel", "").lower().split()
        media = values.get("type", "").split(";")[0].strip().lower()
        href = values.get("href", "").strip()
        if "alternate" in rel and media in self.types and href:
            address = urljoin(self.base, href)
            if all(address != seen for seen, _, _ in self.found):
                title = " ".join(values.get("title", "").split())
                self.found.append((address, media, title))

    handle_startendtag = handle_starttag
