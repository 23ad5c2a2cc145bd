"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1).

An item's ``id`` is its guid (1.0 feeds sometimes give a number: it becomes
text), ``url`` (else ``external_url``) its link, ``content_html`` or
``content_text`` its content, ``summary`` its summary, ``date_published``
(else ``date_modified``) its date, ``authors`` (1.1) or ``author`` (1.0) its
author, ``tags`` its tags and ``language`` (1.1, else the feed's) its language.
As for RSS, an item with content but no summary has that content as its summary.

JSON must be UTF-8 (RFC 8259); a body that is not, that is not JSON, or that
is JSON but not a feed fails with a reason naming what is wrong and where. An
item that is not an object, or has neither a title, a link nor any text, is
skipped, and the feed's warning counts them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from monitor.errors import ParseError
from monitor.parse.html import html_to_text, plain_text
from monitor.parse.limits import ItemLimits
from monitor.parse.urls import canonical_url
from monitor.sources.base import Document, SourceType, bounded, language_tag, utc
from monitor.types import Entry, ParsedFeed
from monitor.words import noun

MEDIA_TYPES = frozenset({"application/feed+json", "application/json", "text/json"})
VERSION_PREFIX = "https://jsonfeed.org/version/"


def _looks_like(head: bytes, media: str) -> bool:
    # A JSON type on a body that starts like XML is a mislabelled XML feed.
    return head.startswith(b"{") or (media in MEDIA_TYPES and not head.startswith(b"<"))


def _parse(document: Document, limits: ItemLimits | None) -> ParsedFeed:
    url = document.url
    try:
        text = document.content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(url, f"bad JSON Feed: the body is not UTF-8 (byte {exc.start})") from exc
    try:
        top = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            url, f"bad JSON Feed: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:  # a body of [[[[...]]]] nested deeper than Python recurses
        raise ParseError(url, "bad JSON Feed: the JSON is nested too deeply") from exc
    if not isinstance(top, dict):
        raise ParseError(url, f"not a JSON Feed: the JSON is {_kind(top)}, not an object")
    items = top.get("items")
    if not isinstance(items, list):
        keys = ", ".join(sorted(str(k) for k in top)[:8]) or "none"
        found = "no" if items is None else f"{_kind(items)} instead of a list as"
        raise ParseError(url, f'not a JSON Feed: {found} "items" (top-level keys: {keys})')
    notes = []
    version = top.get("version")
    if not (isinstance(version, str) and version.startswith(VERSION_PREFIX)):
        notes.append(f"version {version!r} is not a JSON Feed version; read as 1.1")
    feed_language = language_tag(top.get("language"))
    base = document.base or url
    entries = []
    skipped = 0
    for item in items:
        entry = (
            _entry(item, url, document.name, base, feed_language)
            if isinstance(item, dict)
            else None
        )
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    if skipped:
        notes.append(
            f"{skipped} of {len(items)} {noun(len(items), 'item')} skipped (not an object, or empty)"
        )
    title = plain_text(top["title"]) if isinstance(top.get("title"), str) else ""
    return bounded(url, title, entries, limits, "; ".join(notes) or None)


def _entry(
    item: dict[str, Any], url: str, name: str, base: str, feed_language: str | None
) -> Entry | None:
    link = _text(item, "url") or _text(item, "external_url")
    if link:
        link = urljoin(base, link)
    raw_id = item.get("id")
    guid = (
        str(raw_id).strip()
        if isinstance(raw_id, str | int) and not isinstance(raw_id, bool)
        else ""
    )
    title = plain_text(_text(item, "title"))
    html = _text(item, "content_html")
    content = html_to_text(html) if html else plain_text(_text(item, "content_text"))
    summary = plain_text(_text(item, "summary")) or content
    if content == summary:
        content = ""
    if not (title or link or summary):
        return None
    return Entry(
        feed_url=url,
        feed_name=name,
        title=title,
        link=link or None,
        canonical_link=canonical_url(link) if link else None,
        guid=guid or None,
        summary=summary,
        content=content,
        published=_date(item.get("date_published")) or _date(item.get("date_modified")),
        language=language_tag(item.get("language")) or feed_language,
        author=_authors(item),
        tags=tuple(
            dict.fromkeys(plain_text(t) for t in item.get("tags") or () if isinstance(t, str))
        ),
    )


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return value.strip() if isinstance(value, str) else ""


def _date(value: object) -> datetime | None:
    """An RFC 3339 date (as JSON Feed requires), or None if absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None


def _authors(item: dict[str, Any]) -> str | None:
    listed = item.get("authors")
    people = listed if isinstance(listed, list) else [item.get("author")]
    names = [
        plain_text(person["name"])
        for person in people
        if isinstance(person, dict) and isinstance(person.get("name"), str)
    ]
    return ", ".join(name for name in names if name) or None


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", dict: "an object"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


SOURCE = SourceType("jsonfeed", _looks_like, _parse)
