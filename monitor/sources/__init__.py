"""Source types: every kind of feed document behind one interface.

Each module here defines one :class:`~monitor.sources.base.SourceType`:
:mod:`~monitor.sources.rss_atom` (RSS and Atom), :mod:`~monitor.sources.jsonfeed`
(JSON Feed 1.0/1.1) and :mod:`~monitor.sources.sitemap` (news sitemaps).
:func:`parse_document` picks one, by the feed's configured ``type:`` when it has
one, else by sniffing the Content-Type and the body's first bytes, and parses
with it; every type yields the same :class:`~monitor.types.ParsedFeed` under
the same limits (:func:`monitor.sources.base.bounded`), in the same parser
workers (:mod:`monitor.parse.pool`).

Sniffing looks at the Content-Type first and at the body second, so that a
JSON Feed served as ``text/plain`` or a sitemap served as ``text/html`` is
still recognised; what nothing recognises goes to RSS/Atom, whose parser is
the most forgiving and whose error says what the body is instead.
"""

from __future__ import annotations

import codecs

from monitor.errors import ParseError
from monitor.parse.limits import ItemLimits
from monitor.sources import jsonfeed, rss_atom, sitemap
from monitor.sources.base import Document, SourceType
from monitor.types import ParsedFeed

SOURCES: dict[str, SourceType] = {
    source.name: source for source in (sitemap.SOURCE, jsonfeed.SOURCE, rss_atom.SOURCE)
}
"""Every source type by name, in the order sniffing asks them: the most particular first,
RSS/Atom last (it takes whatever the others do not)."""
ALIASES = {"atom": "rss"}
"""Other names the config's ``type:`` accepts."""
_SNIFF_BYTES = 4096  # enough for an XML declaration, comments and a doctype before the root


def sniff(content: bytes, content_type: str | None) -> str:
    """The name of the source type a body looks like (RSS/Atom when no other is sure)."""
    head = content[:_SNIFF_BYTES]
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    head = head.lstrip()
    media = (content_type or "").split(";")[0].strip().lower()
    for name, source in SOURCES.items():
        if source.looks_like(head, media):
            return name
    return rss_atom.SOURCE.name


def parse_document(
    content: bytes,
    url: str,
    name: str,
    content_type: str | None = None,
    fast: bool = True,
    base: str | None = None,
    limits: ItemLimits | None = None,
    kind: str | None = None,
) -> ParsedFeed:
    """Parse one fetched body as its source type: ``kind`` (the feed's ``type:``) when
    given, else the sniffed one. Raises ParseError naming ``url``."""
    chosen = ALIASES.get(kind, kind) if kind else sniff(content, content_type)
    source = SOURCES.get(chosen)
    if source is None:
        known = ", ".join(sorted([*SOURCES, *ALIASES]))
        raise ParseError(url, f"unknown source type {kind!r} (known: {known})")
    return source.parse(Document(content, url, name, content_type, base, fast), limits)
