"""The fast path's link joining (``monitor.parse.fast._join``) gives exactly what
feedparser's ``_urljoin`` gives, for any link and base: it only skips the work for plain
absolute links, and everything else goes through feedparser's own function."""

from __future__ import annotations

import pytest
from feedparser.urls import _urljoin
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.parse.fast import _join

BASES = [
    "",
    "http://farm.example/0",
    "https://news.example/feed/rss.xml?x=1#top",
    "HTTPS://News.Example/a/b/",
    "ftp://files.example/",
    "http://[::1]:8080/feed",
    "http://[::1/feed",  # urljoin cannot read it: _urljoin gives ''
    "https://exämple.test/",
    "feed.xml",
]
PREFIXES = [
    "http://",
    "https://",
    "HTTP://",
    "Https://",
    "http:///",
    "https:////",
    "http:",
    "http:/",
    "//",
    "/",
    "",
    "ftp://",
    "mailto:",
    " http://",
    "\thttp://",
]
# Every character the rules above turn on, and some ordinary ones.
TEXT = st.text(alphabet="ab.-_~/?#;:@[]%&=+ \t\r\n\x00é1", max_size=24)

EXAMPLES = [
    "http://farm.example/0/story/1",
    "https://www.reuters.com/article/idUSKBN1?utm_source=rss#x",
    "http://host?#frag",
    "http://host/p?",
    "http://host/p#",
    "http://host/p;params",
    "http://host/p;",
    "http://[::1]/p",
    "http://[::1/p",
    "http://host/p\n",
    "http://ho\tst/",
    "http://exämple.test/",
    "http://host:notaport/",
    "http://host:99999999/",
    "http://",
    "http://?q",
    "http://#f",
    "http://host/a b",
    "http://host/#a#b?c",
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("uri", EXAMPLES)
def test_examples_join_as_feedparser_joins_them(base: str, uri: str) -> None:
    assert _join(base, uri) == _urljoin(base, uri)


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(BASES), st.sampled_from(PREFIXES), TEXT, st.sampled_from(["", "#", "?"]))
def test_any_link_joins_as_feedparser_joins_it(
    base: str, prefix: str, text: str, tail: str
) -> None:
    uri = prefix + text + tail
    assert _join(base, uri) == _urljoin(base, uri)


def test_the_plain_links_of_nearly_every_item_are_the_ones_it_skips() -> None:
    from monitor.parse import fast

    assert fast._PLAIN_LINK.fullmatch("https://www.reuters.com/world/us/idUSKBN1?x=1#top")
    assert not fast._PLAIN_LINK.fullmatch("http://host/p;")  # left to feedparser
