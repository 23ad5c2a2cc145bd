"""Small builders shared by the rule-engine tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.rules import compile_query
from monitor.types import Entry, Span

USMCA = (
    "USMCA",
    "CUSMA",
    "T-MEC",
    "ACEUM",
    "United States-Mexico-Canada Agreement",
    "Canada-U.S.-Mexico Agreement",
)
ALIASES: Mapping[str, Sequence[str]] = {
    "usmca": USMCA,
    "leaders": ("Carney", "Sheinbaum", "tariff*"),
}


def entry(
    title: str = "",
    summary: str = "",
    *,
    content: str = "",
    source: str = "Test Feed",
    link: str | None = None,
    canonical_link: str | None = None,
    language: str | None = None,
) -> Entry:
    """An entry with only the fields a test cares about."""
    return Entry(
        feed_url="https://feed.example/rss",
        feed_name=source,
        title=title,
        link=link,
        canonical_link=canonical_link,
        guid=None,
        summary=summary,
        content=content,
        language=language,
    )


def search(query: str, item: Entry) -> tuple[Span, ...] | None:
    """Spans of ``query`` (compiled with the test aliases) in ``item``, or None."""
    return compile_query(query, ALIASES).search(item)


def matches(query: str, item: Entry) -> bool:
    return search(query, item) is not None


def hit_texts(query: str, item: Entry) -> list[tuple[str, str]]:
    """``(field, original text)`` of every span, in span order."""
    spans = search(query, item) or ()
    texts = {
        "title": item.title,
        "summary": item.summary,
        "content": item.content,
        "source": item.feed_name,
        "url": item.canonical_link or item.link or "",
        "lang": item.language or "",
    }
    return [(span.field, texts[span.field][span.start : span.end]) for span in spans]
