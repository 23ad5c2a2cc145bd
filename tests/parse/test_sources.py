"""Source types: sniffing, the ``type:`` override, each type's errors, the shared limits."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.parse.limits import ItemLimits
from monitor.parse.pool import ParserPool
from monitor.sources import parse_document, sniff

FEEDS = Path(__file__).parent.parent / "data" / "feeds"
URL = "https://src.example/feed"
NEWS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def _json_feed(items: int, title: str = "t") -> bytes:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "title": "Many",
            "items": [
                {
                    "id": f"i{n}",
                    "url": f"https://src.example/{n}",
                    "title": title * (n + 1),
                    "content_text": "body",
                    "date_published": datetime(2026, 1, 1 + n, tzinfo=UTC).isoformat(),
                }
                for n in range(items)
            ],
        }
    ).encode()


def _news_sitemap(urls: int) -> bytes:
    rows = "".join(
        f"<url><loc>https://src.example/{n}</loc><news:news><news:title>T{n}</news:title>"
        f"<news:publication_date>2026-01-{n + 1:02d}</news:publication_date></news:news></url>"
        for n in range(urls)
    )
    return f"<urlset {SITEMAP_NS} {NEWS}>{rows}</urlset>".encode()


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ((FEEDS / "rss2_basic.xml").read_bytes(), "application/rss+xml", "rss"),
        ((FEEDS / "atom_basic.xml").read_bytes(), None, "rss"),
        ((FEEDS / "jsonfeed_basic.json").read_bytes(), None, "jsonfeed"),
        (b'\xef\xbb\xbf  {"items": []}', "text/plain", "jsonfeed"),
        (b"[]", "application/feed+json", "jsonfeed"),
        ((FEEDS / "news_sitemap.xml").read_bytes(), "text/html", "sitemap"),
        (b"<?xml version='1.0'?><!-- x --><sitemapindex/>", "application/xml", "sitemap"),
        (b"<html><body>hi</body></html>", "text/html", "rss"),
        (b"<rss/>", "application/json", "rss"),  # a JSON type on XML: mislabelled
    ],
)
def test_sniffing_by_content_type_and_first_bytes(
    body: bytes, content_type: str | None, expected: str
) -> None:
    assert sniff(body, content_type) == expected


def test_configured_type_overrides_sniffing() -> None:
    body = (FEEDS / "jsonfeed_basic.json").read_bytes()
    with pytest.raises(ParseError) as caught:
        parse_document(body, URL, "S", kind="rss")
    assert "not an RSS or Atom feed" in caught.value.reason
    assert parse_document(body, URL, "S", kind="jsonfeed").entries
    assert parse_document((FEEDS / "atom_basic.xml").read_bytes(), URL, "S", kind="atom").entries
    with pytest.raises(ParseError, match="unknown source type 'gopher'"):
        parse_document(body, URL, "S", kind="gopher")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"items": [}', "bad JSON Feed: invalid JSON at line 1, column 12: Expecting value"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1",\n "items": 3}',
            'a number instead of a list as "items"',
        ),
        (
            b'{"title": "x", "entries": []}',
            'not a JSON Feed: no "items" (top-level keys: entries, title)',
        ),
        (b"\xff\xfe{}", "bad JSON Feed: the body is not UTF-8 (byte 0)"),
        (b'["a"]', "not a JSON Feed: the JSON is a list, not an object"),
        (b"{" * 100_000, "bad JSON Feed:"),
    ],
)
def test_bad_json_feeds_say_what_is_wrong(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_document(body, URL, "S", "application/feed+json")
    assert caught.value.url == URL
    assert reason in caught.value.reason
    assert str(caught.value).startswith(URL)


def test_json_feed_without_a_version_is_read_with_a_warning() -> None:
    parsed = parse_document(b'{"items": [{"id": "1", "title": "Only"}]}', URL, "S")
    assert [e.title for e in parsed.entries] == ["Only"]
    assert parsed.warning == "version None is not a JSON Feed version; read as 1.1"


def test_plain_sitemap_is_not_a_news_sitemap() -> None:
    body = f"<urlset {SITEMAP_NS}><url><loc>https://src.example/a</loc></url></urlset>".encode()
    with pytest.raises(ParseError) as caught:
        parse_document(body, URL, "S")
    assert caught.value.reason.startswith("not a news sitemap: its one URL has no <news:news> tags")


def test_sitemap_index_names_its_sitemaps() -> None:
    children = "".join(
        f"<sitemap><loc>https://src.example/s{n}.xml</loc></sitemap>" for n in range(5)
    )
    body = f"<sitemapindex {SITEMAP_NS}>{children}</sitemapindex>".encode()
    with pytest.raises(ParseError) as caught:
        parse_document(body, URL, "S")
    assert caught.value.reason == (
        "a sitemap index (it lists 5 sitemaps: https://src.example/s0.xml, "
        "https://src.example/s1.xml, https://src.example/s2.xml and 2 more), "
        "not a news sitemap: configure its news sitemap instead"
    )


def test_malformed_and_entity_laden_sitemaps_fail_safely() -> None:
    with pytest.raises(ParseError, match="malformed sitemap XML"):
        parse_document(b"<urlset><url><loc>x</url></urlset>", URL, "S")
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<urlset " + NEWS.encode() + b"><url><loc>https://src.example/&b;</loc>"
        b"<news:news><news:title>&b;</news:title></news:news></url></urlset>"
    )
    with pytest.raises(ParseError, match="the sitemap declares a DOCTYPE; refused"):
        parse_document(laughs, URL, "S")


@pytest.mark.parametrize("body", [_json_feed(12, "long title "), _news_sitemap(12)])
def test_every_type_keeps_the_newest_items_and_clips_fields(body: bytes) -> None:
    limits = ItemLimits(max_items=5, title_chars=20)
    parsed = parse_document(body, URL, "S", limits=limits)
    assert [e.link for e in parsed.entries] == [f"https://src.example/{n}" for n in range(7, 12)]
    assert parsed.cut is not None
    assert "kept the newest 5 of 12 items (fetch.max_items_per_feed 5)" in parsed.cut
    assert all(len(e.title) <= 20 for e in parsed.entries)


def test_pool_workers_parse_every_type_and_pass_the_override() -> None:
    async def run() -> None:
        async with ParserPool(workers=1) as pool:
            jf = await pool.parse(_json_feed(3), URL, "J", "application/feed+json")
            assert [e.guid for e in jf.entries] == ["i0", "i1", "i2"]
            sm = await pool.parse(_news_sitemap(2), URL, "N", "application/xml")
            assert [e.title for e in sm.entries] == ["T0", "T1"]
            with pytest.raises(ParseError, match="not an RSS or Atom feed"):
                await pool.parse(_json_feed(1), URL, "J", None, kind="rss")

    asyncio.run(run())
