"""OPML 2.0 subscription lists, in and out (every feed reader speaks it).

Reading uses the standard library's ElementTree with entity expansion and
DTDs refused (``forbid`` below), so a hostile OPML file cannot expand a
billion laughs or read local files. Outlines with an ``xmlUrl`` become feeds;
nested outlines (folders) become tags, as do ``category`` attributes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import quoteattr

from monitor.errors import ConfigError

MAX_OPML_DEPTH = 50
"""Deepest nesting of outlines accepted. Readers nest folders two or three levels; a file
nested hundreds deep is broken or hostile, and each level would become a tag of every feed."""


@dataclass(frozen=True, slots=True)
class Subscription:
    url: str
    name: str
    tags: tuple[str, ...] = ()


def parse_opml(data: bytes, source: str) -> list[Subscription]:
    """The feeds listed in an OPML document; ConfigError naming ``source`` if it is not one."""
    if b"<!DOCTYPE" in data[:2000].upper() or b"<!ENTITY" in data.upper():
        raise ConfigError(f"{source}: DTDs and entities are not allowed in OPML")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ConfigError(f"{source}: not well-formed XML: {exc}") from exc
    if root.tag != "opml" or root.find("body") is None:
        raise ConfigError(f"{source}: not an OPML document (no <opml><body>)")
    found: dict[str, Subscription] = {}
    # Depth first in document order, on a stack of our own: how deep outlines nest is the
    # file's choice, and Python's recursion limit must not be what a broken file runs into.
    body: ET.Element = root.find("body")  # type: ignore[assignment]
    stack: list[tuple[ET.Element, tuple[str, ...], int]]
    stack = [(outline, (), 1) for outline in reversed(body.findall("outline"))]
    while stack:
        outline, folders, depth = stack.pop()
        if depth > MAX_OPML_DEPTH:
            raise ConfigError(
                f"{source}: outlines nested more than {MAX_OPML_DEPTH} levels deep "
                "(feed readers nest folders a few levels at most)"
            )
        label = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or "").strip()
        if url:
            categories = tuple(
                c.strip().strip("/")
                for c in (outline.get("category") or "").split(",")
                if c.strip()
            )
            found.setdefault(
                url, Subscription(url, label, tuple(dict.fromkeys(folders + categories)))
            )
        inner = (*folders, label) if not url and label else folders
        stack += [(child, inner, depth + 1) for child in reversed(outline.findall("outline"))]
    return list(found.values())


def render_opml(subscriptions: list[Subscription], title: str = "monitor feeds") -> str:
    """An OPML 2.0 document listing ``subscriptions`` (tags as categories)."""
    now = format_datetime(datetime.now(UTC), usegmt=True)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title><dateCreated>{now}</dateCreated></head>",
        "  <body>",
    ]
    for sub in subscriptions:
        category = f" category={quoteattr(','.join(sub.tags))}" if sub.tags else ""
        name = quoteattr(sub.name or sub.url)
        lines.append(
            f'    <outline type="rss" text={name} title={name} xmlUrl={quoteattr(sub.url)}{category}/>'
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
