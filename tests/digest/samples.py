"""Digests for presentation tests: built by the real build step from invented entries.

Times are frozen (``tests.conftest.FROZEN_NOW``) so rendered output is stable.
Spans are placed by searching the text, as the rule engine would report them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from monitor.digest.build import build_digest
from monitor.types import Digest, Entry, Match, Span, StoredEntry
from tests.conftest import FROZEN_NOW

WATCHES = ("usmca", "canada-mexico")
TIMEZONE = "America/Toronto"


def spans_for(field: str, text: str, terms: Iterable[str]) -> list[Span]:
    """A span for every occurrence of every term in ``text``."""
    found = []
    for term in terms:
        start = text.find(term)
        while start >= 0:
            found.append(Span(field, start, start + len(term), term))
            start = text.find(term, start + 1)
    return found


def stored(
    entry_id: int,
    title: str,
    summary: str = "",
    *,
    hours_ago: float | None = 1.0,
    link: str | None = "https://news.example/story",
    source: str = "Example Wire",
    content: str = "",
    matches: Sequence[tuple[str, Sequence[str]]] = (("usmca", ("USMCA",)),),
) -> StoredEntry:
    """A stored entry whose matches hit every occurrence of their terms in each field."""
    published = None if hours_ago is None else FROZEN_NOW - timedelta(hours=hours_ago)
    entry = Entry(
        feed_url="https://news.example/feed.xml",
        feed_name=source,
        title=title,
        link=link,
        canonical_link=link,
        guid=f"guid-{entry_id}",
        summary=summary,
        content=content,
        published=published,
    )
    found = tuple(
        Match(
            watch,
            1.0,
            tuple(
                spans_for("title", title, terms)
                + spans_for("summary", summary, terms)
                + spans_for("content", content, terms)
            ),
        )
        for watch, terms in matches
    )
    return StoredEntry(entry_id, entry, FROZEN_NOW - timedelta(minutes=5), found)


SAMPLE_ENTRIES = (
    stored(
        1,
        "USMCA review: <script>alert('x')</script> ministers meet",
        "Canada & Mexico compare notes <b>before</b> the review of the USMCA, due next July. "
        "Officials in Ottawa said the talks would cover autos, dairy and steel, and that they "
        "expected a difficult negotiation over rules of origin.",
        hours_ago=3,
        link="https://news.example/usmca?utm_campaign=feed&id=7",
        source="CBC Business",
        matches=(("usmca", ("USMCA",)),),
    ),
    stored(
        2,
        "Carney and Sheinbaum talk trade",
        "The leaders of Canada and Mexico met in Mexico City to discuss the T-MEC.",
        hours_ago=1,
        link="https://news.example/leaders",
        source="La Jornada",
        matches=(("canada-mexico", ("Canada", "Mexico", "Sheinbaum")), ("usmca", ("T-MEC",))),
    ),
    stored(
        3,
        "Ottawa y México: sin enlace",
        "",
        hours_ago=None,
        link="javascript:alert(1)",
        source="Reforma",
        matches=(("canada-mexico", ("Ottawa", "México")),),
    ),
)


def sample_digest(**options: int) -> Digest:
    """Three stories over two watches: a hostile title, a story in both, one undated."""
    digest = build_digest(
        "20261121T090000-0123456789abcdef", "desk", WATCHES, SAMPLE_ENTRIES, FROZEN_NOW, **options
    )
    # "also" is filled by the dedup stage in production; set here so it is rendered.
    first = digest.sections[0]
    items = (first.items[0].model_copy(update={"also": ("Globe and Mail", "Reuters")}),)
    first = first.model_copy(update={"items": items + first.items[1:]})
    return digest.model_copy(update={"sections": (first, *digest.sections[1:])})


def big_digest(count: int = 500, **options: int) -> Digest:
    """``count`` stories spread over the two watches, hour by hour."""
    entries = [
        stored(
            n,
            f"Story {n}: USMCA & tariffs <update> on autos" if n % 2 else f"Canada story {n}",
            f"Paragraph {n} about the USMCA and Canada, with Mexico mentioned too. " * 3,
            hours_ago=n / 10,
            link=f"https://news.example/story/{n}?ref=feed&n={n}",
            matches=(("usmca", ("USMCA",)),)
            if n % 2
            else (("canada-mexico", ("Canada", "Mexico")),),
        )
        for n in range(1, count + 1)
    ]
    return build_digest(f"big-{count}", "desk", WATCHES, entries, FROZEN_NOW, **options)
