"""Feed bytes to :class:`~monitor.types.ParsedFeed`: a fast path, feedparser behind it.

The declared encoding is checked against the bytes first
(:mod:`monitor.parse.encoding`). Then a well-formed UTF-8 feed is read by the
lxml fast path (:mod:`monitor.parse.fast`), which builds the same item
dictionaries feedparser would and hands them to the same
:func:`entry_from_raw`; whatever it is unsure of goes to feedparser.

feedparser only ever sees bytes we fetched: handed a ``str`` it would treat it
as a URL or a path and fetch it itself, so this module never passes one.
Everything an entry carries comes out as plain text, times as aware UTC.

Malformed XML that still yields items keeps them (with a warning); a document
that yields nothing and is not a recognisable feed is a :class:`ParseError`.
"""

from __future__ import annotations

import calendar
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.parse.diagnose import not_a_feed
from monitor.parse.encoding import EncodingProblem, settle_encoding
from monitor.parse.fast import parse_raw
from monitor.parse.html import html_to_text, plain_text
from monitor.parse.limits import ItemLimits, clip_entry, describe_cut, newest, raw_stamp
from monitor.parse.urls import canonical_url
from monitor.types import Entry, ParsedFeed


def parse_feed(
    content: bytes,
    url: str,
    name: str,
    content_type: str | None = None,
    fast: bool = True,
    base: str | None = None,
    limits: ItemLimits | None = None,
) -> ParsedFeed:
    """Parse one feed document fetched from ``url`` (named ``name``).

    The declared encoding is first checked against the bytes
    (:mod:`monitor.parse.encoding`): never mojibake. With ``fast`` (the
    default), a well-formed feed then goes through the lxml fast
    path (:mod:`monitor.parse.fast`), which gives the same entries; anything it
    is unsure of, and everything when ``fast`` is false, goes to feedparser.
    ``base`` is where the body was served from after redirects (relative links
    resolve against it); ``url``, the configured feed URL, names the entries' feed.
    ``limits`` caps the items kept (the newest) and the length of their text fields.
    """
    try:
        settled = settle_encoding(content, content_type)
    except EncodingProblem as exc:
        raise ParseError(url, f"cannot decode the feed: {exc}") from exc
    content, content_type = settled.content, settled.content_type
    parsed: ParsedFeed | None = None
    if fast:
        raw = parse_raw(content, base or url, content_type, limits.max_items if limits else None)
        if raw is not None:
            parsed = feed_from_raw(raw, url, name, warning=None, limits=limits)
    if parsed is None:
        parsed = parse_with_feedparser(content, url, name, content_type, base, limits)
    if settled.note and parsed.warning is None:
        parsed = replace(parsed, warning=f"encoding corrected ({settled.note})")
    return parsed


def parse_fast(
    content: bytes, url: str, name: str, content_type: str | None = None, base: str | None = None
) -> ParsedFeed | None:
    """The fast path alone: the feed, or None where only feedparser can be trusted."""
    try:
        settled = settle_encoding(content, content_type)
    except EncodingProblem:
        return None
    raw = parse_raw(settled.content, base or url, settled.content_type)
    return None if raw is None else feed_from_raw(raw, url, name, warning=None)


def parse_with_feedparser(
    content: bytes,
    url: str,
    name: str,
    content_type: str | None = None,
    base: str | None = None,
    limits: ItemLimits | None = None,
) -> ParsedFeed:
    """Parse with feedparser alone: the reference the fast path is held to."""
    headers = {"content-type": content_type} if content_type else {}
    headers["content-location"] = base or url
    try:
        parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
    except Exception as exc:  # feedparser promises not to raise; a bug in it must not kill a poll
        raise ParseError(url, f"parser failed: {exc.__class__.__name__}: {exc}") from exc
    problem = _bozo_reason(parsed)
    if not parsed.entries and not parsed.get("version"):
        plainly = not_a_feed(content, content_type, base or url)
        if plainly:
            raise ParseError(url, f"not an RSS or Atom feed: {plainly}")
        detail = f"; {problem}" if problem else ""
        raise ParseError(url, f"not an RSS or Atom feed (no feed elements found{detail})")
    if not parsed.entries and problem:
        raise ParseError(url, problem)
    return feed_from_raw(parsed, url, name, warning=problem, limits=limits)


def feed_from_raw(
    parsed: Any, url: str, name: str, warning: str | None, limits: ItemLimits | None = None
) -> ParsedFeed:
    """A :class:`ParsedFeed` from feedparser's result, or the fast path's look-alike of it;
    with ``limits``, only the newest items, their text fields clipped."""
    feed_language = _language(parsed["feed"].get("language"))
    raw_entries = parsed["entries"]
    chosen = raw_entries if limits is None else newest(raw_entries, limits.max_items, raw_stamp)
    entries = tuple(entry_from_raw(raw, url, name, feed_language) for raw in chosen)
    # The fast path leaves the items past the cap unread; it says how many there were.
    total = parsed.get("total_entries", len(raw_entries))
    cut = None
    if limits is not None:
        bounded = [clip_entry(entry, limits) for entry in entries]
        entries = tuple(entry for entry, _ in bounded)
        clipped = Counter(field for _, fields in bounded for field in fields)
        cut = describe_cut(total, len(entries), clipped, limits)
    return ParsedFeed(
        url=url,
        title=plain_text(parsed["feed"].get("title", "") or ""),
        entries=entries,
        warning=warning,
        cut=cut,
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


def entry_from_raw(raw: Any, url: str, name: str, feed_language: str | None) -> Entry:
    """One Entry from feedparser's dict for an item (or the fast path's look-alike)."""
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
        tags=_tags(raw.get("tags") or ()),
    )


def _tags(tags: Any) -> tuple[str, ...]:
    """The terms of an item's tags (RSS ``category``, Atom ``category term``, ``dc:subject``,
    media and iTunes categories and keywords), each once, in the feed's order."""
    terms = (plain_text(tag.get("term") or "") for tag in tags if isinstance(tag, Mapping))
    return tuple(dict.fromkeys(term for term in terms if term))


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
