"""Build small RSS 2.0 and Atom documents for tests (our own invented items)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    title: str
    link: str
    summary: str
    published: datetime | None = None
    guid: str | None = None


def rss(items: list[Item], title: str = "Test feed", language: str = "en") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>http://example.test/</link>",
        f"<description>test</description><language>{language}</language>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title>")
        parts.append(f"<link>{escape(item.link)}</link>")
        parts.append(f"<description>{escape(item.summary)}</description>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        if item.published:
            parts.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def atom(items: list[Item], title: str = "Test Atom feed") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr-CA">',
        f"<title>{escape(title)}</title><id>urn:test:feed</id><updated>2026-11-20T00:00:00Z</updated>",
    ]
    for index, item in enumerate(items):
        stamp = (item.published or datetime(2026, 1, 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts.append("<entry>")
        parts.append(f'<title type="text">{escape(item.title)}</title>')
        parts.append(f'<link rel="alternate" href="{escape(item.link)}"/>')
        parts.append(f"<id>{escape(item.guid or f'urn:test:entry:{index}')}</id>")
        parts.append(f"<updated>{stamp}</updated><published>{stamp}</published>")
        parts.append(f'<summary type="html">{escape(item.summary)}</summary>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode("utf-8")
