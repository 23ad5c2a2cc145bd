"""Hostile and broken feed bodies: encodings, entity attacks, malformed XML."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.parse.encoding import settle_encoding
from monitor.parse.feed import parse_feed
from testbed.farm import _billion_laughs, rss_body

URL = "https://x.test/feed"


def rss(title: str, encoding: str, declared: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="{declared}"?>\n<rss version="2.0"><channel>'
        f"<title>T</title><item><title>{title}</title><guid>g1</guid>"
        f"<description>{title}</description></item></channel></rss>"
    ).encode(encoding)


TEXT = "Café “résumé” — Zürich’s naïve façade"


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    ("encoding", "declared", "content_type"),
    [
        ("windows-1252", "utf-8", None),  # declared UTF-8, bytes are windows-1252
        ("windows-1252", "utf-8", "application/rss+xml; charset=utf-8"),
        ("utf-8", "windows-1252", None),  # declared windows-1252, bytes are UTF-8
        ("utf-8", "utf-8", "text/xml; charset=iso-8859-1"),  # the header lies
        ("utf-8", "iso-8859-1", None),
        ("windows-1252", "windows-1252", None),  # honest legacy feed
        ("iso-8859-15", "iso-8859-15", None),
    ],
)
def test_wrong_encodings_decode_correctly(
    encoding: str, declared: str, content_type: str | None, fast: bool
) -> None:
    text = TEXT if encoding != "iso-8859-15" else "Café résumé Zürich naïve façade €"
    parsed = parse_feed(rss(text, encoding, declared), URL, "X", content_type, fast=fast)
    (entry,) = parsed.entries
    assert entry.title == text  # never mojibake such as "CafÃ©" or "â€™"
    assert entry.summary == text


def test_an_encoding_correction_is_reported() -> None:
    parsed = parse_feed(rss(TEXT, "utf-8", "windows-1252"), URL, "X")
    assert parsed.warning == "encoding corrected (declared windows-1252, but is UTF-8)"


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        (
            rss("x", "utf-8", "utf-8").replace(b"<title>x", b"<title>\x81\x8d\x90x"),
            None,
            "not valid UTF-8 as declared, nor windows-1252",
        ),
        (
            rss("x", "utf-8", "shift_jis").replace(b"<title>x", b"<title>\x82\xa0\xff\xff"),
            None,
            "not valid shift_jis as declared",
        ),
        (
            rss("x", "utf-8", "no-such-charset").replace(b"<title>x", b"<title>\xe9"),
            None,
            "unknown encoding 'no-such-charset'",
        ),
    ],
)
def test_undecodable_bytes_fail_with_a_reason(
    content: bytes, content_type: str | None, reason: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(content, URL, "X", content_type)
    assert caught.value.url == URL
    assert reason in caught.value.reason


def test_settle_leaves_ascii_and_bom_alone() -> None:
    ascii_feed = rss("plain", "ascii", "iso-8859-1")
    assert settle_encoding(ascii_feed, None).content == ascii_feed
    bom = b"\xef\xbb\xbf" + rss(TEXT, "utf-8", "utf-8")
    assert settle_encoding(bom, None).content == bom


@pytest.mark.parametrize("fast", [True, False])
def test_billion_laughs_is_harmless(fast: bool) -> None:
    started = time.monotonic()
    parsed = parse_feed(_billion_laughs(), URL, "X", fast=fast)
    assert time.monotonic() - started < 2
    # feedparser drops entity declarations that nest entities: the title stays short
    assert [len(entry.title) < 100 for entry in parsed.entries] == [True]


@pytest.mark.parametrize("fast", [True, False])
def test_external_entities_are_never_read(tmp_path: Path, fast: bool) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER", encoding="utf-8")
    for target in (secret.as_uri(), "file:///etc/passwd"):
        document = (
            f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{target}">]>\n'
            '<rss version="2.0"><channel><title>XXE &xxe;</title>'
            "<item><title>Leak: &xxe;</title><guid>xxe-1</guid>"
            "<description>&xxe;</description></item></channel></rss>"
        ).encode()
        try:
            parsed = parse_feed(document, URL, "X", fast=fast)
        except ParseError:
            continue
        seen = parsed.title + "".join(e.title + e.summary + e.content for e in parsed.entries)
        assert "TOP-SECRET-MARKER" not in seen
        assert "root:" not in seen


def test_malformed_xml_keeps_the_readable_entries() -> None:
    full = rss_body(3, 5)
    cut = full[: full.rfind(b"<item>") + 40]  # the last item is cut off mid-element
    parsed = parse_feed(cut, URL, "X")
    assert [e.guid for e in parsed.entries][:4] == [f"farm-3-{n}" for n in range(4)]
    assert parsed.warning is not None
    assert parsed.warning.startswith("malformed feed")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>',
            "malformed feed",
        ),
        (
            b"<html><head><title>Error 500</title></head><body><p>oops</body></html>",
            "not an RSS or Atom feed",
        ),
        (b"", "not an RSS or Atom feed"),
    ],
)
def test_bozo_without_entries_is_an_error_with_a_readable_reason(
    content: bytes, reason: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(content, URL, "X")
    assert reason in caught.value.reason
