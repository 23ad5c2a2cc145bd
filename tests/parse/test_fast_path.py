"""The fast path gives exactly feedparser's entries, or steps aside.

Differential: every real-world feed in ../shared/realfeeds is parsed by both
paths and compared entry by entry, on every Entry field (title, link, guid,
published, summary, and content, language, author too). No normalisation is
applied: the fast path reproduces feedparser's own text handling (see
monitor/parse/fast.py), and where it cannot be sure to, it returns None and
feedparser parses the feed. So an equality failure here is a fast-path bug.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.parse.fast import parse_raw, simple_html
from monitor.parse.feed import parse_fast, parse_feed, parse_with_feedparser
from monitor.parse.html import html_to_text
from monitor.parse.pool import ParserPool
from monitor.types import ParsedFeed
from tests.conftest import SHARED

REALFEEDS = SHARED / "realfeeds"
FEEDS = Path(__file__).parents[1] / "data" / "feeds"


def corpus() -> list[Path]:
    return sorted(p for p in REALFEEDS.iterdir() if p.is_file() and p.name != "README.md")


async def _reference(paths: list[Path]) -> list[ParsedFeed | ParseError]:
    async with ParserPool(fast=False) as pool:

        async def one(path: Path) -> ParsedFeed | ParseError:
            try:
                return await pool.parse(path.read_bytes(), _url(path), path.stem)
            except ParseError as exc:
                return exc

        return list(await asyncio.gather(*(one(path) for path in paths)))


def _url(path: Path) -> str:
    return f"https://realfeeds.test/{path.name}"


def _differences(fast: ParsedFeed, slow: ParsedFeed) -> list[str]:
    problems = []
    if fast.title != slow.title:
        problems.append(f"feed title {fast.title!r} != {slow.title!r}")
    if len(fast.entries) != len(slow.entries):
        return [*problems, f"{len(fast.entries)} entries != {len(slow.entries)}"]
    for number, (a, b) in enumerate(zip(fast.entries, slow.entries, strict=True)):
        left, right = asdict(a), asdict(b)
        problems += [
            f"entry {number} {key}: {left[key]!r:.80} != {right[key]!r:.80}"
            for key in left
            if left[key] != right[key]
        ]
    return problems


@pytest.mark.skipif(
    not REALFEEDS.is_dir(), reason="../shared/realfeeds is absent (CI always has it)"
)
def test_fast_path_equals_feedparser_on_real_world_feeds() -> None:
    paths = corpus()
    assert len(paths) >= 200
    references = asyncio.run(_reference(paths))
    taken, entries, problems = 0, 0, {}
    for path, reference in zip(paths, references, strict=True):
        fast = parse_fast(path.read_bytes(), _url(path), path.stem)
        if fast is None:
            continue
        taken += 1
        entries += len(fast.entries)
        if isinstance(reference, ParseError):
            problems[path.name] = [f"feedparser refused it: {reference.reason}"]
        elif found := _differences(fast, reference):
            problems[path.name] = found[:5]
    assert not problems, problems
    assert taken >= 150, f"the fast path took only {taken} of {len(paths)} feeds"
    assert entries > 4000


GOOD_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>Caf\xc3\xa9 &amp; news</title><language>fr-CA</language>
<item><title>One &lt;b&gt;bold&lt;/b&gt; move</title><link>/relative/one</link>
<guid>https://x.test/one</guid><pubDate>Sat, 21 Nov 2026 08:00:00 GMT</pubDate>
<description><![CDATA[<p>First <a href="/a">para</a></p><p>Second &amp; last</p>]]></description>
<content:encoded><![CDATA[<p>Full text <!-- note --> here</p><script>alert(1)</script>]]></content:encoded>
<dc:creator>Ana</dc:creator></item>
<item><guid isPermaLink="false">two</guid><title>Two</title><dc:date>2026-11-20T10:00:00+02:00</dc:date>
<atom:link rel="alternate" href="https://x.test/two"/></item>
</channel></rss>"""

GOOD_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en" xml:base="https://x.test/base/">
<title type="html">A &amp;lt;i&amp;gt;feed&amp;lt;/i&amp;gt;</title>
<entry><id>tag:x.test,2026:1</id><title>Entry</title><link href="e1"/>
<updated>2026-11-21T08:00:00Z</updated><author><name>Bo</name><email>bo@x.test</email></author>
<content type="html">&lt;p&gt;Hello&lt;/p&gt;</content></entry>
<entry xml:lang="fr"><id>tag:x.test,2026:2</id><title>Sans lien</title>
<summary>Plain &amp; simple</summary><published>2026-11-20T08:00:00Z</published></entry>
</feed>"""


# Links written as text, with and without entity references (feedparser takes "&amp;"
# back to "&", then an "&name;" left over to "&name"), and one with no "&" at all.
LINKS_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Links</title>
<item><title>A</title><link>https://x.test/a?b=1&amp;c=2</link></item>
<item><title>B</title><link>https://x.test/b?x=1&amp;amp;y=2&amp;z;</link></item>
<item><title>C</title><link>https://x.test/c?q=&amp;copy;&amp;#38;d</link></item>
<item><title>D</title><link>https://x.test/d/plain</link></item>
</channel></rss>"""


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (GOOD_RSS, None),
        (LINKS_RSS, None),
        (GOOD_RSS, "application/rss+xml; charset=utf-8"),
        (GOOD_ATOM, "application/atom+xml"),
        (GOOD_RSS, "text/xml"),  # no charset: feedparser reads US-ASCII, then corrects to UTF-8
        ((FEEDS / "rss2_basic.xml").read_bytes(), None),
        ((FEEDS / "atom_basic.xml").read_bytes(), None),
    ],
)
def test_fast_path_takes_clean_feeds_and_agrees(content: bytes, content_type: str | None) -> None:
    fast = parse_fast(content, "https://x.test/feed", "X", content_type)
    assert fast is not None
    assert (
        _differences(fast, parse_with_feedparser(content, "https://x.test/feed", "X", content_type))
        == []
    )
    assert parse_feed(content, "https://x.test/feed", "X", content_type) == fast


@pytest.mark.parametrize(
    ("label", "content", "content_type"),
    [
        (
            "DOCTYPE",
            GOOD_RSS.replace(b"<rss ", b'<!DOCTYPE rss [<!ENTITY c "x">]>\n<rss ', 1),
            None,
        ),
        (
            "legacy encoding",
            GOOD_RSS.replace(b"utf-8", b"iso-8859-1").replace(b"\xc3\xa9", b"\xe9"),
            None,
        ),
        ("non-XML content type", GOOD_RSS, "text/html; charset=utf-8"),
        ("not well-formed", GOOD_RSS.replace(b"</channel>", b""), None),
        (
            "xhtml content",
            GOOD_ATOM.replace(
                b'<content type="html">&lt;p&gt;Hello&lt;/p&gt;',
                b'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Hi</div>',
            ),
            None,
        ),
        (
            "two titles",
            GOOD_RSS.replace(b"<title>Two</title>", b"<title>Two</title><dc:title>2</dc:title>"),
            None,
        ),
        (
            "special element",
            GOOD_RSS.replace(
                b"<title>Two</title>",
                b'<title>Two</title><itunes:summary xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">s</itunes:summary>',
            ),
            None,
        ),
        (
            "no entries",
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
            None,
        ),
        ("not a feed", b"<html><body>hi</body></html>", None),
    ],
)
def test_fast_path_steps_aside_when_unsure(
    label: str, content: bytes, content_type: str | None
) -> None:
    assert parse_raw(content, "https://x.test/feed", content_type) is None, label


@pytest.mark.parametrize(
    "fragment",
    [
        "plain text",
        "<p>a</p><p>b &amp; c</p>",
        '<a href="x?a=1&b=2">link</a> &copy; 2026',
        "before<!-- a comment -->after",
        "<span>x</span><mark>y</mark>",
        "x<script>var a = 1;</script>y",
        "<p>a<br/>b<br>c</p>",
        "fish & chips",
        "&#8217;quoted&#x2019; &nbsp;",
    ],
)
def test_simple_fragments_keep_their_text_through_the_sanitizer(fragment: str) -> None:
    from feedparser.sanitizer import _sanitize_html

    assert simple_html(fragment)
    assert html_to_text(fragment) == html_to_text(_sanitize_html(fragment, "utf-8", "text/html"))


@pytest.mark.parametrize(
    "fragment",
    [
        "a < b",
        "<noscript>kept by the sanitizer</noscript>",
        "<iframe> </iframe>",
        "<svg><text>x</text></svg>",
        "&notit; &madeup;",
        "AT&T",
        "<![CDATA[x]]>",
        "<a href='x>y'>",
        "<!-- a -- b -->",
        "<script>if (a<b) {}</script>",
    ],
)
def test_risky_fragments_go_through_the_sanitizer(fragment: str) -> None:
    assert not simple_html(fragment)


def test_relative_links_resolve_against_the_served_url() -> None:
    moved = "https://new.example/feeds/main.xml"
    for fast in (True, False):
        parsed = parse_feed(GOOD_RSS, "https://x.test/feed", "X", fast=fast, base=moved)
        assert parsed.entries[0].link == "https://new.example/relative/one"
        assert parsed.entries[0].feed_url == "https://x.test/feed"


TAGGED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Tags</title><category>Feed-level, not an item's</category>
<item><title>One</title><link>https://x.test/one</link>
<category>Trade</category><category domain="https://x.test/t">Canada</category>
<category domain="https://x.test/t">Trade</category><dc:subject>Mexico</dc:subject>
<media:keywords>tariffs, steel,,</media:keywords><category></category></item>
</channel></rss>"""

TAGGED_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Tags</title>
<entry><id>tag:x.test,2026:1</id><title>One</title><updated>2026-11-21T08:00:00Z</updated>
<category term="trade" label="Trade"/><category scheme="s" term="usmca"/><category term="trade"/>
</entry></feed>"""


@pytest.mark.parametrize(
    ("content", "tags"),
    [
        (TAGGED, ("Trade", "Canada", "Mexico", "tariffs", "steel")),
        (TAGGED_ATOM, ("trade", "usmca")),
    ],
)
def test_categories_are_tags_on_both_paths(content: bytes, tags: tuple[str, ...]) -> None:
    fast = parse_fast(content, "https://x.test/feed", "X")
    assert fast is not None
    slow = parse_with_feedparser(content, "https://x.test/feed", "X")
    assert [entry.tags for entry in fast.entries] == [tags]
    assert _differences(fast, slow) == []
