"""Feed bytes to :class:`~monitor.types.ParsedFeed`, with feedparser.

feedparser only ever sees bytes we fetched: handed a ``str`` it would treat it
as a URL or a path and fetch it itself, so this module never passes one.
Everything an entry carries comes out as plain text, times as aware UTC.

Malformed XML that still yields items keeps them (with a warning); a document
that yields nothing and is not a recognisable feed is a :class:`ParseError`.
"""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.parse.html import html_to_text, plain_text
from monitor.parse.urls import canonical_url
from monitor.types import Entry, ParsedFeed


def parse_feed(content: bytes, url: str, name: str, content_type: str | None = None) -> ParsedFeed:
    """Parse one feed document fetched from ``url`` (named ``name``)."""
    headers = {"content-type": content_type} if content_type else {}
    headers["content-location"] = url
    try:
        parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
    except Exception as exc:  # feedparser promises not to raise; a bug in it must not kill a poll
        raise ParseError(url, f"parser failed: {exc.__class__.__name__}: {exc}") from exc
    problem = _bozo_reason(parsed)
    if not parsed.entries and not parsed.get("version"):
        detail = f"; {problem}" if problem else ""
        raise ParseError(url, f"not an RSS or Atom feed (no feed elements found{detail})")
    if not parsed.entries and problem:
        raise ParseError(url, problem)
    feed_language = _language(parsed.feed.get("language"))
    entries = tuple(_entry(raw, url, name, feed_language) for raw in parsed.entries)
    return ParsedFeed(
        url=url,
        title=plain_text(parsed.feed.get("title", "") or ""),
        entries=entries,
        warning=problem,
    )


# Bozo reasons that say nothing is wrong with the items: a missing or generic
# Content-Type, or a declared encoding that feedparser corrected.
_BENIGN = frozenset({"CharacterEncodingOverride", "NonXMLContentType"})


def _bozo_reason(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    name = exc.__class__.__name__ if exc is not None else "error"
    if name in _BENIGN:
        return None
    return f"malformed feed ({name}: {exc})"


def _entry(raw: Any, url: str, name: str, feed_language: str | None) -> Entry:
    link = (raw.get("link") or "").strip() or None
    guid = (raw.get("id") or "").strip() or None
    summary = _text_field(raw, "summary")
    content = ""
    for part in raw.get("content") or ():
        text = (
            html_to_text(part.get("value", ""))
            if "html" in part.get("type", "html")
            else plain_text(part.get("value", ""))
        )
        if len(text) > len(content):
            content = text
    if content and content == summary:
        content = ""
    title_detail = raw.get("title_detail") or {}
    return Entry(
        feed_url=url,
        feed_name=name,
        title=_text_field(raw, "title"),
        link=link,
        canonical_link=canonical_url(link) if link else None,
        guid=guid,
        summary=summary,
        content=content,
        published=_time(raw.get("published_parsed") or raw.get("updated_parsed")),
        language=_language(title_detail.get("language")) or feed_language,
        author=plain_text(raw.get("author", "") or "") or None,
    )


def _text_field(raw: Any, key: str) -> str:
    value = raw.get(key) or ""
    detail = raw.get(f"{key}_detail") or {}
    if "html" in (detail.get("type") or "text/html"):
        return html_to_text(value)
    return plain_text(value)


def _time(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _language(value: str | None) -> str | None:
    return value.strip().lower().replace("_", "-") or None if value else None
