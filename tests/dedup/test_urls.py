"""Canonical URLs: every spelling of one article's address folds to one key."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.parse import urls
from monitor.parse.urls import (
    canonical_url,
    is_amp_param,
    is_tracking_param,
    same_article_url,
    strip_host_variants,
    strip_tracking,
    unwrap_redirect,
    url_fragment,
)
from tests.conftest import SHARED

REALFEEDS = SHARED / "realfeeds"
ARTICLE = "https://globeledger.ca/politics/article-canada-mexico-trade-talks"


@pytest.mark.parametrize(
    "variant",
    [
        ARTICLE,
        "http://globeledger.ca/politics/article-canada-mexico-trade-talks",
        "https://www.globeledger.ca/politics/article-canada-mexico-trade-talks/",
        "https://WWW.GlobeLedger.CA:443/politics/article-canada-mexico-trade-talks#comments",
        "https://globeledger.ca/politics/article-canada-mexico-trade-talks?utm_source=rss&fbclid=x",
        # AMP spellings
        "https://amp.globeledger.ca/politics/article-canada-mexico-trade-talks",
        "https://globeledger.ca/amp/politics/article-canada-mexico-trade-talks",
        "https://globeledger.ca/politics/article-canada-mexico-trade-talks/amp/",
        "https://globeledger.ca/politics/article-canada-mexico-trade-talks.amp",
        "https://globeledger.ca/politics/article-canada-mexico-trade-talks?amp=1",
        "https://globeledger.ca/politics/article-canada-mexico-trade-talks?amp",
        "https://globeledger.ca/politics/article-canada-mexico-trade-talks?outputType=amp",
        "https://globeledger-ca.cdn.ampproject.org/c/s/globeledger.ca/politics/article-canada-mexico-trade-talks",
        "https://www.google.com/amp/s/www.globeledger.ca/politics/article-canada-mexico-trade-talks",
        # mobile hosts
        "https://m.globeledger.ca/politics/article-canada-mexico-trade-talks",
        "https://mobile.globeledger.ca/politics/article-canada-mexico-trade-talks",
        # redirect wrappers
        "https://www.google.com/url?q=" + quote(ARTICLE, safe="") + "&sa=D&usg=AOvVaw",
        "https://www.google.com/url?rct=j&sa=t&url=" + quote(ARTICLE, safe="") + "&ct=ga",
        "https://l.facebook.com/l.php?u=" + quote(ARTICLE + "?fbclid=abc", safe="") + "&h=AT",
        "https://lm.facebook.com/l.php?u=" + quote(ARTICLE, safe=""),
        "https://www.bing.com/news/apiclick.aspx?ref=FexRss&url="
        + quote(ARTICLE, safe="")
        + "&c=9",
        "https://feeds.example-aggregator.com/click?url=" + quote(ARTICLE, safe="") + "&id=4",
        "https://feedproxy.google.com/~r/globe/~3/abc?url=" + quote(ARTICLE, safe=""),
        "https://out.reddit.com/t3_abc?url=" + quote(ARTICLE, safe="") + "&token=x",
        # a wrapper around a wrapper
        "https://www.google.com/url?q="
        + quote("https://l.facebook.com/l.php?u=" + quote(ARTICLE, safe=""), safe=""),
    ],
)
def test_variants_of_one_article_share_a_canonical_url(variant: str) -> None:
    assert canonical_url(variant) == ARTICLE


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # different query ids are different pages
        ("https://site.ca/article.php?id=58121", "https://site.ca/article.php?id=58122"),
        # "amp" inside a word is not an AMP marker
        ("https://site.ca/news/amp-up-production", "https://site.ca/news/up-production"),
        ("https://site.ca/news/champions", "https://site.ca/news/chions"),
        # a Google search is not a redirect
        ("https://www.google.com/search?q=https://site.ca/a", "https://site.ca/a"),
        # a share page is not a redirect
        ("https://site.ca/share?url=https://other.ca/a", "https://other.ca/a"),
        # a different day's article with the same slug
        ("https://site.ca/2025/09/16/review-update", "https://site.ca/2025/09/17/review-update"),
        # a one-label host keeps its m. prefix
        ("https://m.tv/a", "https://tv/a"),
    ],
)
def test_different_articles_keep_different_canonical_urls(first: str, second: str) -> None:
    assert canonical_url(first) != canonical_url(second)


def test_google_news_links_are_not_decoded_but_fold_editions() -> None:
    rss = "https://news.google.com/rss/articles/CBMiWkFVX3lxTE5h?oc=5"
    web = "https://news.google.com/articles/CBMiWkFVX3lxTE5h?hl=en-CA&gl=CA&ceid=CA:en"
    assert unwrap_redirect(rss) == rss
    assert (
        canonical_url(rss)
        == canonical_url(web)
        == "https://news.google.com/articles/CBMiWkFVX3lxTE5h"
    )
    assert canonical_url(rss) != canonical_url("https://news.google.com/rss/articles/OTHER?oc=5")


def test_remaining_parameters_are_sorted_and_kept() -> None:
    assert canonical_url("https://site.ca/a?b=2&a=1&utm_medium=x") == "https://site.ca/a?a=1&b=2"


def test_non_http_urls_and_protocol_relative_links() -> None:
    assert canonical_url(" mailto:desk@site.ca ") == "mailto:desk@site.ca"
    assert canonical_url("//www.site.ca/a/") == "https://site.ca/a"
    assert canonical_url("https://site.ca") == "https://site.ca/"


def test_amp_suffix_before_an_extension() -> None:
    assert canonical_url("https://site.ca/2025/story.amp.html") == "https://site.ca/2025/story.html"


def test_non_default_port_is_kept() -> None:
    assert canonical_url("http://site.ca:8080/a") == "https://site.ca:8080/a"


def test_strip_tracking_keeps_everything_else() -> None:
    url = "http://www.site.ca/a/?utm_source=x&id=3#frag"
    assert strip_tracking(url) == "http://www.site.ca/a/?id=3"


def test_helpers() -> None:
    assert strip_host_variants("www.m.site.ca") == "site.ca"
    assert strip_host_variants("amp.site.ca.") == "site.ca"
    assert is_amp_param("outputType", "AMP")
    assert not is_amp_param("outputType", "html")
    assert not is_amp_param("id", "amp")
    assert same_article_url("http://m.site.ca/a?amp=1", "https://site.ca/a/")
    assert url_fragment("https://site.ca/live#post-3") == "post-3"
    assert url_fragment("https://site.ca/live") == ""


def test_href_li_style_wrapper() -> None:
    assert canonical_url("https://href.li/?https://site.ca/a") == "https://site.ca/a"


_segment = st.text(alphabet="abcdefghij-0123456789", min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    host=st.sampled_from(["site.ca", "www.site.ca", "m.news.mx", "amp.site.com"]),
    segments=st.lists(_segment, min_size=0, max_size=4),
    query=st.dictionaries(st.sampled_from(["id", "page", "utm_source", "amp", "q"]), _segment),
    scheme=st.sampled_from(["http", "https"]),
)
def test_canonical_url_is_idempotent(
    host: str, segments: list[str], query: dict[str, str], scheme: str
) -> None:
    path = "/" + "/".join(segments)
    url = f"{scheme}://{host}{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
    once = canonical_url(url)
    assert canonical_url(once) == once


# --- the quick exits of canonical_url against the plain reading ------------------------
# canonical_url skips the host's and the query's parsing where they cannot matter (a link
# with no query on no AMP host, a query on a host that wraps nothing). The reference
# below reads every link in full, in the module's documented order; both must agree.


def _reference_unwrap_once(url: str) -> str | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    key = strip_host_variants(host)
    viewer = re.match(r"^/amp/(?P<secure>s/)?(?P<rest>[^/]+\..+)$", parts.path)
    if key == "google.com" and viewer:
        return ("https://" if viewer["secure"] else "http://") + viewer["rest"]
    cache = re.match(r"^/(?:c|v|i|wp)/(?P<secure>s/)?(?P<rest>[^/]+\..+)$", parts.path)
    if host.endswith(".cdn.ampproject.org") and cache:
        return ("https://" if cache["secure"] else "http://") + cache["rest"]
    if key == "href.li":
        target = unquote(parts.query)
        return target if _absolute(target) else None
    values: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        values.setdefault(name.lower(), value)
    if not values:
        return None
    last = parts.path.rstrip("/").rsplit("/", 1)[-1].lower()
    if key in urls._WRAPPER_HOSTS:
        if key == "google.com" and last != "url":
            return None
        names = urls._WRAPPER_HOSTS[key]
    elif last in urls._REDIRECT_SEGMENTS:
        names = urls._TARGET_PARAMS
    else:
        return None
    found = [values[name] for name in names if _absolute(values.get(name, ""))]
    return found[0].strip() if found else None


def _absolute(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered.startswith(("http://", "https://")) and len(lowered) > len("https://x.y")


def _reference_canonical(url: str) -> str:
    raw = url.strip()
    if raw.startswith("//"):
        raw = "https:" + raw
    current = raw
    for _ in range(4):
        inner = _reference_unwrap_once(current)
        if inner is None:
            break
        current = inner
    parts = urlsplit(current)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return raw
    host = strip_host_variants(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, {"http": 80, "https": 443}[scheme]) else f"{host}:{port}"
    segments = [s for s in (parts.path or "/").split("/") if s.lower() != "amp"]
    if segments and segments[-1].lower().endswith(".amp"):
        segments[-1] = segments[-1][: -len(".amp")]
    elif segments and ".amp." in segments[-1].lower():
        at = segments[-1].lower().rindex(".amp.")
        segments[-1] = segments[-1][:at] + segments[-1][at + len(".amp") :]
    path = "/".join(segments)
    path = path if path.startswith("/") else "/" + path
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if host == "news.google.com" and (found := urls._GOOGLE_NEWS_ARTICLE.match(path)):
        return f"https://news.google.com/articles/{found['id']}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k) and not is_amp_param(k, v)
    )
    return urlunsplit(("https", netloc, path, urlencode(query, doseq=True), ""))


def _reads_alike(url: str) -> None:
    try:
        expected: str | type[Exception] = _reference_canonical(url)
    except ValueError as exc:  # an unreadable address (a broken IPv6 host) fails both ways
        expected = type(exc)
    try:
        got: str | type[Exception] = canonical_url(url)
    except ValueError as exc:
        got = type(exc)
    assert got == expected, url


_PIECES = [
    "http://", "https://", "//", "HTTPS://WWW.", "http://m.", "https://amp.", "example.org",
    "https://www.google.com/", "https://x-y.cdn.ampproject.org/c/s/", "https://href.li/?",
    "https://l.facebook.com/l.php?u=", "/redirect?url=", "/amp/", ".amp.html", "/AMP/",
    "?utm_source=x&b=2&a=1", "?amp=1", "#top", ":443", ":8080", "?q=", "&", "?", "%20",
    "https%3A%2F%2Fsite.ca%2Fa", "/url?q=https://news.site.ca/a", "[::1]", "www.m.", "/c/s/",
    "https://news.google.com/rss/articles/CBMi?oc=5",
]  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6))
def test_canonical_url_reads_as_the_plain_reading_does(pieces: list[str]) -> None:
    _reads_alike("".join(pieces))


def test_canonical_url_of_real_feed_links_reads_as_the_plain_reading_does() -> None:
    if not REALFEEDS.is_dir():
        pytest.skip(f"{REALFEEDS} is absent (CI always has it)")
    links = {
        found.decode("utf-8", "replace")
        for path in REALFEEDS.iterdir()
        for found in re.findall(
            rb'(?:href="|<link>|<guid[^>]*>|url=")([^"<]{4,300})', path.read_bytes()
        )
    }
    assert len(links) > 10_000
    for link in links:
        _reads_alike(link)
