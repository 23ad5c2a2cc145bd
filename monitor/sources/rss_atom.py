"""RSS (0.9x, 1.0, 2.0) and Atom: the lxml fast path and feedparser behind it.

Also the type a document falls back to when nothing else recognises it:
feedparser reads much that is not well-formed, and when even it finds no
feed its error says what the body is instead (an HTML page, nothing).
"""

from __future__ import annotations

from monitor.parse.feed import parse_feed
from monitor.parse.limits import ItemLimits
from monitor.sources.base import Document, SourceType
from monitor.types import ParsedFeed


def _looks_like(head: bytes, media: str) -> bool:
    return True  # asked last: whatever the other types do not recognise is tried as RSS/Atom


def _parse(document: Document, limits: ItemLimits | None) -> ParsedFeed:
    return parse_feed(
        document.content,
        document.url,
        document.name,
        document.content_type,
        fast=document.fast,
        base=document.base,
        limits=limits,
    )


SOURCE = SourceType("rss", _looks_like, _parse)
