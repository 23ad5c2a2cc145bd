"""How a match is scored, for :attr:`WatchSpec.min_score <monitor.rules.engine.WatchSpec>`.

The score counts the distinct query terms that matched, with a term found in
the title worth :data:`TITLE_WEIGHT` and one found anywhere else worth
:data:`OTHER_WEIGHT`; a term found in both counts once, at its best weight.
Repeated mentions of one term add nothing, so a score reads as "how many of
my terms does this story mention, headlines counting double": ``min_score: 3``
asks for three distinct terms in the body, or a title term plus a body term.

Terms are compared as written in the query (each alias member and each loose
phrase counts as one term), and one mention counts once: terms that hit
overlapping words anywhere ("free trade" and "trade" on "free trade";
``tariff*`` and ``tarif*`` on "tariffs") are one term, and alias members that
fold to the same word (``Mexico``, ``México``) are merged when the query is
compiled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from monitor.types import Span

TITLE_WEIGHT: Final = 2.0
OTHER_WEIGHT: Final = 1.0


def score(spans: Iterable[Span]) -> float:
    """The score of a match with these spans."""
    return score_listed(sorted(spans, key=lambda span: (span.field, span.start, span.end)))


def score_listed(spans: Iterable[Span]) -> float:
    """:func:`score` of spans already grouped by field and, within a field, ordered by start
    then end - as :func:`~monitor.rules.evaluate.to_spans` lists them.

    The order of the fields does not matter: overlaps are only looked for within
    a field, and the result is a sum of whole weights.
    """
    best: dict[str, float] = {}
    overlaps: list[tuple[str, str]] = []
    field, reach, reaching = "", 0, ""  # the span reaching furthest in the field being read
    for span in spans:
        term = span.term
        weight = TITLE_WEIGHT if span.field == "title" else OTHER_WEIGHT
        if best.get(term, 0.0) < weight:
            best[term] = weight
        if span.field != field:
            field, reach, reaching = span.field, span.end, term
            continue
        if span.start < reach:
            overlaps.append((term, reaching))
        if span.end > reach:
            reach, reaching = span.end, term
    if not overlaps:  # the common case: every term is its own unit
        return sum(best.values())
    return _united(best, overlaps)


def _united(best: dict[str, float], overlaps: list[tuple[str, str]]) -> float:
    """The sum of ``best`` weights with terms that overlap counted once, at their best."""
    parent = {term: term for term in best}

    def root(term: str) -> str:
        while parent[term] != term:
            parent[term] = parent[parent[term]]
            term = parent[term]
        return term

    for term, other in overlaps:
        parent[root(term)] = root(other)
    units: dict[str, float] = {}
    for term, weight in best.items():
        unit = root(term)
        units[unit] = max(units.get(unit, 0.0), weight)
    return sum(units.values())


def score_hits(hits: Iterable[tuple[int, int, int, str, int, int]]) -> float:
    """:func:`score_listed` of the spans of these hits, listed as
    :func:`~monitor.rules.evaluate.settle` lists them, without making the spans:
    a hit is ``(field_rank, start, end, term, first, last)`` and the title's rank is 0.

    The same sums in the same order as :func:`score_listed` (a test holds them equal),
    so that a match whose score stops it never needs its spans made.
    """
    best: dict[str, float] = {}
    overlaps: list[tuple[str, str]] = []
    field, reach, reaching = -1, 0, ""
    for rank, start, end, term, _, _ in hits:
        weight = TITLE_WEIGHT if rank == 0 else OTHER_WEIGHT
        if best.get(term, 0.0) < weight:
            best[term] = weight
        if rank != field:
            field, reach, reaching = rank, end, term
            continue
        if start < reach:
            overlaps.append((term, reaching))
        if end > reach:
            reach, reaching = end, term
    if not overlaps:
        return sum(best.values())
    return _united(best, overlaps)
