"""Parsing: golden feed files with their expected entries beside them."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.parse.feed import parse_feed
from monitor.parse.html import html_to_text
from monitor.sources import parse_document
from tests.conftest import SHARED

FEEDS = Path(__file__).parent / "data" / "feeds"
GOLDEN = sorted(p.stem.removesuffix(".expected") for p in FEEDS.glob("*.expected.json"))


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_feed(name: str) -> None:
    """Every source type (RSS, Atom, JSON Feed, news sitemap), chosen by sniffing the body."""
    source = next(
        p for p in FEEDS.iterdir() if p.stem == name and not p.name.endswith(".expected.json")
    )
    parsed = parse_document(source.read_bytes(), "https://feeds.example/" + name, "Golden")
    expected = json.loads((FEEDS / f"{name}.expected.json").read_text(encoding="utf-8"))
    assert parsed.title == expected["title"]
    assert parsed.warning == expected["warning"]
    got = []
    for entry in parsed.entries:
        fields = asdict(entry)
        fields["published"] = entry.published.isoformat() if entry.published else None
        fields["tags"] = list(entry.tags)
        got.append({key: fields[key] for key in expected["entries"][0]})
    assert got == expected["entries"]


def test_entries_carry_feed_identity() -> None:
    parsed = parse_feed(
        (FEEDS / "rss2_basic.xml").read_bytes(), "https://feeds.example/a", "Ledger"
    )
    assert {(e.feed_url, e.feed_name) for e in parsed.entries} == {
        ("https://feeds.example/a", "Ledger")
    }


def test_malformed_feed_keeps_readable_items() -> None:
    parsed = parse_feed(
        (FEEDS / "malformed_with_items.xml").read_bytes(), "https://b.example/f", "B"
    )
    assert [e.title for e in parsed.entries] == ["First item survives", "Second item survives"]
    assert parsed.warning is not None
    assert parsed.warning.startswith("malformed feed")


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(
            (FEEDS / "not_a_feed.html").read_bytes(), "https://c.example/page", "C", "text/html"
        )
    assert caught.value.url == "https://c.example/page"
    assert "not an RSS or Atom feed" in caught.value.reason


def test_garbage_bytes_are_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"https://d\.example/x"):
        parse_feed(b"\x00\xff\xfe garbage", "https://d.example/x", "D")


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\nTwo"),
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("x<script>evil()</script>y", "xy"),
        ("  lots   of\t\tspace&nbsp;here ", "lots of space here"),
        ("", ""),
    ],
)
def test_html_to_text(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


REALFEEDS = SHARED / "realfeeds"


@pytest.mark.skipif(
    not REALFEEDS.is_dir(), reason="../shared/realfeeds is absent (CI always has it)"
)
def test_every_real_world_feed_parses_without_crashing() -> None:
    files = sorted(p for p in REALFEEDS.iterdir() if p.is_file() and p.name != "README.md")
    assert len(files) >= 200
    parsed_entries = 0
    rejected = []
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), f"https://realfeeds.test/{path.name}", path.stem)
        except ParseError as exc:
            rejected.append((path.name, exc.reason))
            continue
        for entry in feed.entries:
            assert isinstance(entry.title, str)
            assert entry.published is None or entry.published.tzinfo is not None
        parsed_entries += len(feed.entries)
    # A few files are HTML pages, not feeds: those must be rejected with a reason, not crash.
    assert len(rejected) < 20, rejected
    assert all(reason for _, reason in rejected)
    assert parsed_entries > 5000
