"""How a match is scored, for :attr:`WatchSpec.min_score <monitor.rules.engine.WatchSpec>`.

The score counts the distinct query terms that matched, with a term found in
the title worth :data:`TITLE_WEIGHT` and one found anywhere else worth
:data:`OTHER_WEIGHT`; a term found in both counts once, at its best weight.
Repeated mentions of one term add nothing, so a score reads as "how many of
my terms does this story mention, headlines counting double": ``min_score: 3``
asks for three distinct terms in the body, or a title term plus a body term.

Terms are compared as written in the query (each alias member and each loose
phrase counts as one term).
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.types import Span

TITLE_WEIGHT = 2.0
OTHER_WEIGHT = 1.0


def score(spans: Iterable[Span]) -> float:
    """The score of a match with these spans."""
    best: dict[str, float] = {}
    for span in spans:
        weight = TITLE_WEIGHT if span.field == "title" else OTHER_WEIGHT
        if weight > best.get(span.term, 0.0):
            best[span.term] = weight
    return sum(best.values())
