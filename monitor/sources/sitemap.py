"""News sitemaps (Google's ``news:`` extension of sitemaps.org).

Each ``<url>`` with a ``<news:news>`` is an entry: ``loc`` its link and guid,
``news:title`` its title, ``news:publication_date`` its date (W3C datetime: a
date alone is midnight UTC), ``news:keywords`` its tags (comma-separated),
``news:language`` (or ``news:publication/news:language``) its language; the
first ``news:publication/news:name`` titles the feed. A news sitemap carries
no summary or text, so watches on these entries match titles and keywords.

A sitemap whose URLs carry no news tags is refused with a reason: it lists a
site's every page, not its news. A sitemap *index* is refused too, naming a
few of the sitemaps it lists, so that the user configures the news one: its
children would have to be fetched from inside the parser, which only ever
sees one body. ``<url>`` entries without news tags inside a news sitemap are
skipped and counted in the warning.

The XML is parsed strictly and safely: a DOCTYPE (entities: an expansion attack
surface) is refused, and nothing is ever fetched.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from monitor.errors import ParseError
from monitor.parse.encoding import EncodingProblem, settle_encoding
from monitor.parse.fast import safe_parser
from monitor.parse.html import plain_text
from monitor.parse.limits import ItemLimits
from monitor.parse.urls import canonical_url
from monitor.sources.base import Document, SourceType, bounded, language_tag, utc
from monitor.types import Entry, ParsedFeed
from monitor.words import noun

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_ROOT = re.compile(
    rb"^(?:<\?[^>]*\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)*"
    rb"<(?:[\w.-]+:)?(urlset|sitemapindex)[\s>/]",
    re.S | re.I,
)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)
_SNIFF_DOCTYPE = 4096  # a DOCTYPE comes before the root element
_NAMED = 3  # sitemaps of an index named in its error


def _looks_like(head: bytes, media: str) -> bool:
    return bool(_ROOT.match(head))


def _parse(document: Document, limits: ItemLimits | None) -> ParsedFeed:
    url = document.url
    try:
        content = settle_encoding(document.content, document.content_type).content
    except EncodingProblem as exc:
        raise ParseError(url, f"cannot decode the sitemap: {exc}") from exc
    if _DOCTYPE.search(content[:_SNIFF_DOCTYPE]):
        raise ParseError(url, "the sitemap declares a DOCTYPE; refused (sitemaps need none)")
    try:
        root = etree.fromstring(content, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ParseError(url, f"malformed sitemap XML: {exc}") from exc
    kind = etree.QName(root).localname
    if kind == "sitemapindex":
        raise ParseError(url, _index_reason(root))
    if kind != "urlset":
        raise ParseError(url, f"not a sitemap: the root element is <{kind}>")
    urls = [child for child in root if _local(child) == "url"]
    entries = []
    feed_title = ""
    for element in urls:
        news = next((child for child in element if _is_news(child, "news")), None)
        if news is None:
            continue
        entry, publication = _entry(element, news, document)
        if entry is not None:
            entries.append(entry)
        feed_title = feed_title or publication
    if not entries:
        which = "its one URL has no" if len(urls) == 1 else f"none of its {len(urls):,} URLs has"
        raise ParseError(
            url,
            f"not a news sitemap: {which} <news:news> tags "
            f'(xmlns:news="{NEWS_NS}"); a plain sitemap lists pages, not news',
        )
    skipped = len(urls) - len(entries)
    warning = (
        f"{skipped:,} of {len(urls):,} URLs skipped (no news tags, or no <loc>)"
        if skipped
        else None
    )
    return bounded(url, feed_title, entries, limits, warning)


def _entry(element: Any, news: Any, document: Document) -> tuple[Entry | None, str]:
    loc = _child_text(element, "loc", news=False)
    publication = next((child for child in news if _is_news(child, "publication")), None)
    publication_name = _child_text(publication, "name") if publication is not None else ""
    language = _child_text(news, "language") or (
        _child_text(publication, "language") if publication is not None else ""
    )
    if not loc:
        return None, publication_name
    keywords = _child_text(news, "keywords")
    return Entry(
        feed_url=document.url,
        feed_name=document.name,
        title=plain_text(_child_text(news, "title")),
        link=loc,
        canonical_link=canonical_url(loc),
        guid=loc,
        summary="",
        published=_w3c_date(_child_text(news, "publication_date")),
        language=language_tag(language),
        tags=tuple(dict.fromkeys(k.strip() for k in keywords.split(",") if k.strip())),
    ), plain_text(publication_name)


def _index_reason(root: Any) -> str:
    listed = [_child_text(child, "loc", news=False) for child in root if _local(child) == "sitemap"]
    named = ", ".join(loc for loc in listed[:_NAMED] if loc)
    more = f" and {len(listed) - _NAMED:,} more" if len(listed) > _NAMED else ""
    return (
        f"a sitemap index (it lists {len(listed):,} {noun(len(listed), 'sitemap')}: "
        f"{named or 'none'}{more}), "
        "not a news sitemap: configure its news sitemap instead"
    )


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _is_news(element: Any, name: str) -> bool:
    return isinstance(element.tag, str) and element.tag == f"{{{NEWS_NS}}}{name}"


def _child_text(parent: Any, name: str, news: bool = True) -> str:
    for child in parent:
        if (_is_news(child, name) if news else _local(child) == name) and child.text:
            return str(child.text).strip()
    return ""


def _w3c_date(value: str) -> datetime | None:
    """A W3C datetime (``2026-11-20``, ``2026-11-20T19:30Z``, with seconds and fractions)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if len(value) == 10:  # a date alone
        return parsed.replace(tzinfo=UTC)
    return utc(parsed)


SOURCE = SourceType("sitemap", _looks_like, _parse)
