"""Evaluating a compiled node tree against one folded entry.

Evaluation returns the node's *hits*, or ``None`` when the node does not match.
An empty list means "matches, but contributes nothing to show" (a ``NOT`` that
holds). A hit is a plain tuple, because entries times rules makes this the hot
loop, ordered so that sorting hits sorts them the way spans are listed::

    (field_rank, start_char, end_char, term_text, first_position, last_position)

Semantics, where the specification left room:

* ``OR`` evaluates every child, so every alternative that hit is explained.
* ``a NEAR/n b`` holds when some hit of ``a`` and some hit of ``b`` lie in the
  same field, do not overlap, and have at most ``n`` words between them, in
  either order - Elasticsearch's ``span_near`` with ``slop: n, in_order: false``.
  So ``NEAR/0`` means adjacent. Its hits are only the hits that took part in a
  qualifying pair, so nested ``NEAR`` measures from those.
* ``"w1 w2 w3"~n`` holds when some stretch of one field contains a hit of every
  word (as many as the phrase repeats it), in any order, and at most ``n``
  positions of the stretch hold something else. It is simpler than Lucene's
  edit-distance slop: order never costs anything. Its hits are the words of
  every qualifying stretch, each with the whole phrase as its term.
* A ``lang:`` term is anchored at the start of the language tag and matches
  whole subtags, so ``lang:fr`` matches ``fr`` and ``fr-CA`` but not ``frr``.
"""

from __future__ import annotations

from collections import Counter

from monitor.rules.document import FoldedEntry
from monitor.rules.fields import FIELD_ORDER
from monitor.rules.fold import FoldedField
from monitor.rules.nodes import And, LoosePhrase, Near, Node, Not, Or, Term
from monitor.types import Span

Hit = tuple[int, int, int, str, int, int]
Hits = list[Hit] | None


class Context:
    """Everything one match call shares between the rules it evaluates.

    ``leaves`` memoises the hits of each term and loose phrase (interning makes
    a term shared by many watches one node), and ``spans`` the :class:`Span`
    made for each hit, so repeated terms cost one lookup, not a search.
    """

    __slots__ = ("doc", "leaves", "spans")

    def __init__(self, doc: FoldedEntry) -> None:
        self.doc = doc
        self.leaves: dict[Term | LoosePhrase, Hits] = {}
        self.spans: dict[Hit, Span] = {}


def evaluate(node: Node, context: Context) -> Hits:
    """The hits of ``node``, or ``None`` if it does not match.

    Returned lists may be shared with the context's cache: callers never
    mutate them.
    """
    # Exact type tests, most frequent first: this is the innermost loop.
    if type(node) is Term:
        leaves = context.leaves
        if node in leaves:
            return leaves[node]
        found = leaves[node] = _term_hits(node, context.doc)
        return found
    if type(node) is And:
        collected: list[Hit] = []
        for child in node.children:
            hits = evaluate(child, context)
            if hits is None:
                return None
            collected += hits
        return collected
    if type(node) is Or:
        matched: list[Hit] | None = None
        for child in node.children:
            hits = evaluate(child, context)
            if hits is not None:
                matched = list(hits) if matched is None else matched + hits
        return matched
    if type(node) is Not:
        return [] if evaluate(node.child, context) is None else None
    if type(node) is Near:
        return _near_hits(node, context)
    if type(node) is LoosePhrase:
        leaves = context.leaves
        if node not in leaves:
            leaves[node] = _loose_hits(node, context)
        return leaves[node]
    raise TypeError(f"not a query node: {node!r}")


def _ranges(field: FoldedField, term: Term) -> list[tuple[int, int]]:
    alternatives = term.alternatives
    if len(alternatives) == 1:
        return field.find(alternatives[0], term.prefix)
    # Alternatives of one compound often hit the same place ("T-MEC" split and
    # joined): keep each range once.
    ranges: set[tuple[int, int]] = set()
    for words in alternatives:
        ranges.update(field.find(words, term.prefix))
    return sorted(ranges)


def _term_hits(term: Term, doc: FoldedEntry) -> Hits:
    single, heads = term.single, term.heads
    anchored = term.scope == "lang"
    hits: list[Hit] = []
    for field in doc.scope(term.scope):
        if single is not None:
            # Most terms are one plain word: a set lookup rejects most fields.
            if single not in field.vocabulary:
                continue
            ranges = field.edges(single)
        else:
            # A phrase cannot start without its first word: most fields lack it.
            if heads is not None and heads.isdisjoint(field.vocabulary):
                continue
            ranges = _ranges(field, term)
        if not ranges:
            continue
        starts, ends = field.starts(), field.ends()
        rank, text = field.rank, term.text
        hits += [
            (rank, starts[first], ends[last], text, first, last)
            for first, last in ranges
            if not anchored or first == 0
        ]
    return hits or None


def _near_hits(node: Near, context: Context) -> Hits:
    left = evaluate(node.left, context)
    if not left:
        return None
    right = evaluate(node.right, context)
    if not right:
        return None
    distance, right_is_condition = node.distance, node.context
    kept: dict[Hit, None] = {}
    for one in left:
        field, first, last = one[0], one[4], one[5]
        for other in right:
            if other[0] != field:
                continue
            if other[4] > last:
                gap = other[4] - last - 1
            elif first > other[5]:
                gap = first - other[5] - 1
            else:
                continue  # overlapping hits are one mention, not two near each other
            if gap <= distance:
                kept[one] = None
                if not right_is_condition:
                    kept[other] = None
    return list(kept) if kept else None


def _loose_hits(node: LoosePhrase, context: Context) -> Hits:
    # Interning makes repeated words of the phrase the very same Term, so a
    # Counter over the parts gives each distinct word and how often it must occur.
    needed = Counter(node.parts)
    groups = list(needed)
    per_group: list[list[Hit]] = []
    for part in groups:
        hits = evaluate(part, context)
        if not hits:
            return None
        per_group.append(hits)
    need = [needed[part] for part in groups]
    found: list[Hit] = []
    for field in context.doc.scope(node.scope):
        events = sorted(
            {
                (hit[4], hit[5], group, hit[1], hit[2])
                for group, hits in enumerate(per_group)
                for hit in hits
                if hit[0] == field.rank
            }
        )
        found.extend(_stretches(field.rank, node, events, need))
    return found or None


def _stretches(
    rank: int,
    node: LoosePhrase,
    events: list[tuple[int, int, int, int, int]],
    need: list[int],
) -> list[Hit]:
    """Hits of every minimal stretch of ``events`` that satisfies the phrase.

    ``events`` are ``(first, last, group, start, end)`` sorted by position. For
    each starting event, the shortest run of events covering every group is
    the best stretch starting there (a longer one only adds positions).
    """
    kept: dict[Hit, None] = {}
    for begin in range(len(events)):
        counts = [0] * len(need)
        missing = len(need)
        stop = begin
        while stop < len(events) and missing:
            group = events[stop][2]
            counts[group] += 1
            if counts[group] == need[group]:
                missing -= 1
            stop += 1
        if missing:
            break  # later starts see a subset of these events: none can succeed
        window = events[begin:stop]
        low = window[0][0]
        high = max(event[1] for event in window)
        covered: set[int] = set()
        for first, last, *_ in window:
            covered.update(range(first, last + 1))
        if high - low + 1 - len(covered) <= node.slop:
            for first, last, _, start, end in window:
                kept[(rank, start, end, node.text, first, last)] = None
    return list(kept)


def _span_order(hit: Hit) -> tuple[int, int, int, int, str]:
    return (hit[0], hit[1], hit[2], -len(hit[3]), hit[3])


def to_spans(hits: list[Hit], context: Context) -> list[Span]:
    """Distinct spans of ``hits``, ordered by field, then position, then term.

    Two terms that hit exactly the same characters (``tariff*`` and ``tarif*``
    on "tariffs") make one span: it is one
    mention, listed and scored once, under the longest of the terms (the most
    specific as written).
    """
    made = context.spans
    spans: list[Span] = []
    # Hits sort by place as plain tuples (in C); only the rare hits sharing a
    # place need the term order of _span_order, to keep the longest term.
    previous: tuple[int, int, int] | None = None
    chosen: Hit | None = None
    for hit in sorted(set(hits)):
        place = hit[:3]
        if place == previous:
            if chosen is None or _span_order(hit) >= _span_order(chosen):
                continue
            spans.pop()
        previous, chosen = place, hit
        span = made.get(hit)
        if span is None:
            span = made[hit] = Span(FIELD_ORDER[hit[0]], hit[1], hit[2], hit[3])
        spans.append(span)
    return spans
