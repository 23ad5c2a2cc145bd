"""full_text's pure parts and its seam with fake I/O: which entries want their article,
the extractor's bounds, the per-feed cap, the cache, and failures that cost no entry."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from monitor.config import parse_config
from monitor.dedup.scheme import SignatureScheme
from monitor.enrich import ArticleIO, add_article_text
from monitor.errors import ConfigError
from monitor.fetch.article import FetchedPage
from monitor.fulltext import (
    ArticlePage,
    FullTextSettings,
    TeaserFilter,
    article_key,
    article_spans,
    article_url,
    wants_article,
)
from monitor.parse.extract import extract_text
from monitor.parse.urls import canonical_url
from monitor.prepare import PreparedEntry, prepare
from monitor.rules import WatchSpec, compile_watches
from monitor.types import Entry, Match, Span
from tests.conftest import FROZEN_NOW as NOW

WATCHES = {
    "usmca": "USMCA OR CUSMA",
    "canada-mexico": "(Canada OR Ottawa) AND (Mexico OR Sheinbaum)",
    "tariffs": "tariff* NEAR/5 steel",
    "group": "@partners",
}
ALIASES = {"partners": ("Mexico City", "Washington")}


def teaser(title: str, summary: str = "", link: str | None = "https://news.example/a") -> Entry:
    return Entry(
        "https://news.example/feed",
        "News",
        title,
        link,
        canonical_url(link) if link else None,
        None,
        summary,
    )


@pytest.fixture(scope="module")
def teasers() -> TeaserFilter:
    return TeaserFilter(list(WATCHES.values()), ALIASES)


def test_full_text_reads_yaml_booleans_as_the_two_plain_choices() -> None:
    config = parse_config(
        """
feeds:
  - {url: "https://a.example/rss", full_text: true}
  - {url: "https://b.example/rss", full_text: always}
  - {url: "https://c.example/rss", full_text: false}
  - {url: "https://d.example/rss", full_text: off}
  - {url: "https://e.example/rss"}
full_text: {max_articles_per_feed: 5, timeout: 3s}
"""
    )
    assert [feed.full_text for feed in config.feeds] == [
        "matching",
        "always",
        "off",
        "off",
        "off",
    ]
    assert config.full_text.max_articles_per_feed == 5
    assert config.full_text.timeout.total_seconds() == 3
    with pytest.raises(ConfigError, match="full_text"):
        parse_config('feeds: [{url: "https://a.example/rss", full_text: sometimes}]')


@pytest.mark.parametrize(
    ("title", "summary", "wanted"),
    [
        ("Ottawa officials meet", "", True),  # one word of canada-mexico's query, in the title
        ("Trade day", "Officials gathered in Ottawa.", True),  # ... in the summary
        ("Tariffs rise again", "", True),  # a prefix term (tariff*)
        ("Talks in Mexico City", "", True),  # an alias group's member
        ("Bakery wins a prize", "A sweet day.", False),  # nothing any watch needs
        ("Washingtonian recipes", "", False),  # a word only shares letters with a member
    ],
)
def test_a_teaser_is_read_when_it_shows_a_word_some_watch_needs(
    teasers: TeaserFilter, title: str, summary: str, wanted: bool
) -> None:
    assert teasers.may_match(teaser(title, summary)) is wanted
    assert wants_article(teaser(title, summary), "matching", teasers) is wanted


def test_what_is_never_read(teasers: TeaserFilter) -> None:
    matching = teaser("USMCA talks")
    assert wants_article(matching, "always", None)
    assert not wants_article(matching, "off", teasers)
    # The feed carries the text already.
    assert not wants_article(replace(matching, content="The whole story."), "always", None)
    # No page of its own to read.
    assert not wants_article(replace(matching, link=None, canonical_link=None), "always", None)
    assert not wants_article(teaser("USMCA", link="mailto:desk@news.example"), "always", None)
    assert not wants_article(
        teaser("USMCA", link="https://n.example/" + "a" * 3000), "always", None
    )


def test_the_page_read_is_the_published_link_cached_under_its_canonical_form() -> None:
    entry = teaser("USMCA", link="http://news.example/a?utm_source=rss")
    assert article_url(entry) == "http://news.example/a?utm_source=rss"
    assert article_key(entry) == canonical_url("http://news.example/a?utm_source=rss")
    assert "utm_source" not in (article_key(entry) or "")


def test_hits_in_the_article_text_are_named_article() -> None:
    match = Match(
        "usmca",
        1.0,
        (Span("title", 0, 5, "USMCA"), Span("content", 10, 15, "USMCA")),
    )
    (renamed,) = article_spans([match])
    assert [span.field for span in renamed.spans] == ["title", "article"]
    assert renamed.spans[1].start == 10


PAGE = (
    b"<html><body><nav>Home | World</nav><article><h1>Trade</h1>"
    + b"<p>"
    + b"The USMCA review opened in Ottawa with a long list of grievances. " * 40
    + b"</p></article><footer>Copyright</footer></body></html>"
)


def test_extracted_text_is_bounded_and_empty_pages_give_none() -> None:
    text = extract_text(PAGE, "https://news.example/a", 300)
    assert 0 < len(text) <= 300
    assert text.endswith("…")
    assert "Home | World" not in text
    assert extract_text(b"", "https://news.example/a", 300) == ""
    assert extract_text(b"<html><body></body></html>", "https://news.example/a", 300) == ""


class FakeIO:
    """Every I/O of the seam, in memory, counting what was asked."""

    def __init__(self, pages: dict[str, FetchedPage], known: frozenset[str] = frozenset()) -> None:
        self.pages = pages
        self.stored_keys = set(known)
        self.cache: dict[str, ArticlePage] = {}
        self.downloads: list[str] = []
        rules = compile_watches([WatchSpec(name, q) for name, q in WATCHES.items()], ALIASES)
        self.rules = rules

    def io(self) -> ArticleIO:
        async def known(keys: list[str]) -> set[str]:
            return self.stored_keys.intersection(keys)

        async def cached(urls: list[str]) -> dict[str, ArticlePage]:
            return {url: self.cache[url] for url in urls if url in self.cache}

        async def download(url: str) -> FetchedPage:
            self.downloads.append(url)
            return self.pages.get(url, FetchedPage(url, error="HTTP 404 Not Found"))

        async def save(pages: list[ArticlePage]) -> None:
            for page in pages:  # as the store: only a temporary failure is replaced
                if page.url not in self.cache or self.cache[page.url].temporary:
                    self.cache[page.url] = page

        async def again(entries: list[Entry]) -> tuple[PreparedEntry, ...]:
            return prepare(entries, self.rules, SignatureScheme())

        async def extract(body: bytes, url: str, limit: int) -> str:
            return extract_text(body, url, limit)

        return ArticleIO(known, cached, download, save, again, extract)

    def prepared(self, entries: list[Entry]) -> tuple[PreparedEntry, ...]:
        return prepare(entries, self.rules, SignatureScheme())


def links(n: int) -> list[Entry]:
    return [teaser(f"USMCA item {i}", "Short.", link=f"https://news.example/{i}") for i in range(n)]


def test_the_per_feed_cap_leaves_the_rest_on_their_summary() -> None:
    fake = FakeIO({f"https://news.example/{i}": FetchedPage("", PAGE) for i in range(3)})
    prepared = fake.prepared(links(3))
    settings = FullTextSettings(max_articles_per_feed=1)
    done = asyncio.run(add_article_text(prepared, "always", None, settings, fake.io(), now=NOW))
    assert fake.downloads == ["https://news.example/0"]
    assert (done.wanted, done.fetched, done.over_cap, done.with_text) == (3, 1, 2, 1)
    assert "grievances" in done.prepared[0].entry.content
    assert done.prepared[1:] == prepared[1:]  # untouched: judged on their summary


def test_a_page_that_fails_is_remembered_and_its_entry_kept_as_it_was() -> None:
    fake = FakeIO({})
    prepared = fake.prepared(links(1))
    settings = FullTextSettings()
    done = asyncio.run(add_article_text(prepared, "always", None, settings, fake.io(), now=NOW))
    assert done.prepared == prepared
    assert done.failed == 1
    assert fake.cache["https://news.example/0"].error == "HTTP 404 Not Found"
    # Never asked for again, even for an entry not yet stored.
    again = asyncio.run(add_article_text(prepared, "always", None, settings, fake.io(), now=NOW))
    assert fake.downloads == ["https://news.example/0"]
    assert again.cached == 1


def test_a_temporary_failure_is_read_again_after_retry_after_up_to_max_attempts() -> None:
    url = "https://news.example/0"
    down = FetchedPage(url, error="HTTP 503 Service Unavailable", temporary=True)
    fake = FakeIO({url: down})
    prepared = fake.prepared(links(1))
    settings = FullTextSettings(retry_after=timedelta(hours=1), max_attempts=3)

    def run(at: timedelta) -> int:
        done = asyncio.run(
            add_article_text(prepared, "always", None, settings, fake.io(), now=NOW + at)
        )
        assert done.prepared == prepared  # still on its summary
        return done.retried

    assert run(timedelta(0)) == 0
    assert (fake.cache[url].temporary, fake.cache[url].attempts) == (True, 1)
    assert run(timedelta(minutes=59)) == 0  # not yet due
    assert run(timedelta(hours=1)) == 1
    assert fake.cache[url].attempts == 2
    assert fake.cache[url].tried_at == NOW + timedelta(hours=1)
    assert run(timedelta(hours=2)) == 1
    assert run(timedelta(hours=9)) == 0  # max_attempts reached: final
    assert fake.downloads == [url] * 3

    # Back up: a new entry linking to the page gets its text on a retry.
    fake = FakeIO({url: down})
    asyncio.run(add_article_text(prepared, "always", None, settings, fake.io(), now=NOW))
    fake.pages[url] = FetchedPage(url, PAGE)
    done = asyncio.run(
        add_article_text(
            prepared, "always", None, settings, fake.io(), now=NOW + settings.retry_after
        )
    )
    assert (done.retried, done.with_text) == (1, 1)
    assert fake.cache[url].ok
    assert "grievances" in done.prepared[0].entry.content


def test_a_permanent_failure_is_never_read_again() -> None:
    fake = FakeIO({})  # 404, not temporary
    prepared = fake.prepared(links(1))
    settings = FullTextSettings(retry_after=timedelta(minutes=1))
    for hours in (0, 2, 48):
        asyncio.run(
            add_article_text(
                prepared, "always", None, settings, fake.io(), now=NOW + timedelta(hours=hours)
            )
        )
    assert fake.downloads == ["https://news.example/0"]
    assert not fake.cache["https://news.example/0"].temporary


def test_stored_entries_and_shared_links_read_no_page() -> None:
    prepared = FakeIO({}).prepared(links(2))
    fake = FakeIO({}, known=frozenset({prepared[0].key}))
    home = [
        teaser("USMCA one", "First.", link="https://news.example/home"),
        teaser("USMCA two", "Second.", link="https://news.example/home"),
    ]
    done = asyncio.run(
        add_article_text(
            (*prepared, *fake.prepared(home)),
            "always",
            None,
            FullTextSettings(),
            fake.io(),
            now=NOW,
        )
    )
    # The stored entry is not new; the home page two items share is nobody's article.
    assert fake.downloads == ["https://news.example/1"]
    assert done.wanted == 1


def test_an_article_match_is_made_on_the_text_and_names_it() -> None:
    body = b"<html><body><article><p>" + b"Canada and Mexico met on steel tariffs. " * 20
    fake = FakeIO(
        {"https://news.example/0": FetchedPage("", body + b"</p></article></body></html>")}
    )
    entry = teaser("Ottawa officials meet", "Short.", link="https://news.example/0")
    prepared = fake.prepared([entry])
    assert prepared[0].matches == ()
    done = asyncio.run(
        add_article_text(
            prepared,
            "matching",
            TeaserFilter(list(WATCHES.values()), ALIASES),
            FullTextSettings(),
            fake.io(),
            now=NOW,
        )
    )
    (item,) = done.prepared
    assert item.key == prepared[0].key
    assert item.entry.summary == "Short."
    assert {m.watch for m in item.matches} == {"canada-mexico", "tariffs"}
    fields = {s.field for m in item.matches for s in m.spans}
    assert "article" in fields
    assert "content" not in fields
    assert item.features != prepared[0].features  # dedup fingerprints the article too


def test_a_match_from_the_article_is_shown_and_published_as_such() -> None:
    import jsonschema

    from monitor.deliver.formats import standard
    from monitor.digest.build import build_digest
    from monitor.digest.render import render_digest
    from monitor.types import StoredEntry
    from tests.conftest import FROZEN_NOW

    article = "Long preamble. " * 30 + "The USMCA review opened."
    at = article.index("USMCA")
    entry = replace(teaser("Trade officials meet", "Talks went on."), content=article)
    match = Match("usmca", 1.0, (Span("article", at, at + 5, "USMCA"),))
    digest = build_digest(
        "d1", "desk", ("usmca",), [StoredEntry(1, entry, FROZEN_NOW, (match,))], FROZEN_NOW
    )
    (item,) = digest.sections[0].items
    assert item.summary == "Talks went on."
    assert item.snippet_field == "article"
    assert "From the article: " in render_digest(digest).text
    body = standard.body(digest, "UTC")
    jsonschema.validate(body, standard.schema())
