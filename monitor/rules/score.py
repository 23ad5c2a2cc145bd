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

from monitor.types import Span

TITLE_WEIGHT = 2.0
OTHER_WEIGHT = 1.0


def score(spans: Iterable[Span]) -> float:
    """The score of a match with these spans."""
    return score_listed(sorted(spans, key=lambda span: (span.field, span.start, span.end)))


def score_listed(spans: Iterable[Span]) -> float:
    """:func:`score` of spans already grouped by field and, within a field, ordered by start
    then end - as :func:`~monitor.rules.evaluate.to_spans` lists them.

    The order of the fields does not matter: overlaps are only looked for within
    a field, and the result is a sum of whole weights.
    """
    parent: dict[str, str] = {}

    def root(term: str) -> str:
        while parent[term] != term:
            parent[term] = parent[parent[term]]
            term = parent[term]
        return term

    best: dict[str, float] = {}
    reach: tuple[str, int, str] | None = None  # field, end, term of the span reaching furthest
    for span in spans:
        parent.setdefault(span.term, span.term)
        weight = TITLE_WEIGHT if span.field == "title" else OTHER_WEIGHT
        best[span.term] = max(best.get(span.term, 0.0), weight)
        if reach is not None and reach[0] == span.field and span.start < reach[1]:
            parent[root(span.term)] = root(reach[2])
        if reach is None or reach[0] != span.field or span.end > reach[1]:
            reach = (span.field, span.end, span.term)
    units: dict[str, float] = {}
    for term, weight in best.items():
        unit = root(term)
        units[unit] = max(units.get(unit, 0.0), weight)
    return sum(units.values())
