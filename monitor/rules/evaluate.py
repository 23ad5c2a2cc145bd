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
from collections.abc import Callable
from typing import Final

from monitor.rules.document import FoldedEntry
from monitor.rules.fields import FIELD_ORDER
from monitor.rules.fold import FoldedField
from monitor.rules.frozen import blank, slot_setters
from monitor.rules.nodes import And, LoosePhrase, Near, Node, Not, Or, Term
from monitor.types import Span

Hit = tuple[int, int, int, str, int, int]
Hits = list[Hit] | None
Evaluator = Callable[["Context"], Hits]
"""A node compiled by :func:`compile_evaluator`: the context in, the node's hits out."""

_MISSING: Final[Hits] = [(-1, -1, -1, "", -1, -1)]
"""Marks a leaf not evaluated yet in a context (``None`` is a leaf that did not match)."""


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


def compile_evaluator(node: Node) -> Evaluator:
    """``node`` as a function of the context giving exactly :func:`evaluate` ``(node, context)``.

    Built once per rule when the watches are compiled, so that matching does
    no type dispatch, and single words - most terms - take a path of their own.
    :func:`evaluate` stays the reference (``RuleSet.judge`` and
    ``match_unindexed`` use it; tests hold the two equal). Leaves share the
    context's cache with :func:`evaluate`: both store the same hits.
    """
    if type(node) is Term:
        return _term_evaluator(node)
    if type(node) is LoosePhrase:
        phrase = node

        def loose(context: Context) -> Hits:
            leaves = context.leaves
            found = leaves.get(phrase, _MISSING)
            if found is _MISSING:
                found = leaves[phrase] = _loose_hits(phrase, context)
            return found

        return loose
    if type(node) is And:
        return all_of(tuple(compile_evaluator(child) for child in node.children))
    if type(node) is Or:
        return _or_evaluator(tuple(compile_evaluator(child) for child in node.children))
    if type(node) is Not:
        inner = compile_evaluator(node.child)

        def negation(context: Context) -> Hits:
            return [] if inner(context) is None else None

        return negation
    if type(node) is Near:
        return _near_evaluator(node, compile_evaluator(node.left), compile_evaluator(node.right))
    raise TypeError(f"not a query node: {node!r}")


_SHARED_SCOPES: Final = frozenset(("source", "lang"))
"""Scopes that cover one field shared between entries (see :mod:`~monitor.rules.document`)."""

_SHARED_HITS_LIMIT: Final = 4096
"""Terms whose hits a shared field keeps (emptied when full)."""


def _term_evaluator(term: Term) -> Evaluator:
    if term.scope in _SHARED_SCOPES:
        return _shared_evaluator(term, _field_term_evaluator(term))
    return _field_term_evaluator(term)


def _shared_evaluator(term: Term, inner: Evaluator) -> Evaluator:
    """``inner``, a term searching one shared field (``lang:fr``, ``source:reuters``),
    that looks its hits up in the field's own memo before working them out: they are a
    function of the field's text, which every entry of a feed shares."""
    scope = term.scope

    def shared(context: Context) -> Hits:
        leaves = context.leaves
        found = leaves.get(term, _MISSING)
        if found is not _MISSING:
            return found
        fields = context.doc.scope(scope)
        memo = fields[0].hits if fields else None
        if memo is None:
            return inner(context)
        found = memo.get(term, _MISSING)
        if found is _MISSING:
            found = inner(context)
            if len(memo) >= _SHARED_HITS_LIMIT:
                memo.clear()
            memo[term] = found
        else:
            leaves[term] = found
        return found

    return shared


def _field_term_evaluator(term: Term) -> Evaluator:
    single, scope = term.single, term.scope
    if term.prefix and scope != "lang" and len(term.alternatives) == 1:
        (words,) = term.alternatives
        if len(words) == 1:
            return _prefix_evaluator(term, words[0])
    if term.prefix:

        def general(context: Context) -> Hits:
            leaves = context.leaves
            found = leaves.get(term, _MISSING)
            if found is _MISSING:
                found = leaves[term] = _term_hits(term, context.doc)
            return found

        return general
    if single is None or scope == "lang":
        return _phrase_evaluator(term)
    text = term.text

    def word(context: Context) -> Hits:
        # _term_hits for one plain word outside lang:, the common case, inlined.
        leaves = context.leaves
        found = leaves.get(term, _MISSING)
        if found is not _MISSING:
            return found
        hits: list[Hit] = []
        for field in context.doc.scope(scope):
            if single in field.vocabulary:
                hits += _word_hits(field, single, text)
        found = leaves[term] = hits or None
        return found

    return word


def _word_hits(field: FoldedField, word: str, text: str) -> list[Hit]:
    """The hits of ``text`` at the edges of ``field`` whose word is ``word``."""
    places = field.token_places(word)
    if places is None:
        return _hits_at(field, field.edges(word), text)
    # Only tokens, each as long as the word: no offsets list needed.
    rank, size = field.rank, len(word)
    return [
        (rank, start, start + size, text, position, position)
        for position, start in zip(*places, strict=True)
    ]


def _prefix_evaluator(term: Term, prefix: str) -> Evaluator:
    """_term_hits for one word with a ``*`` outside ``lang:`` (``tariff*``): the hits of
    every edge word the prefix begins, as :meth:`FoldedField.find` lists them."""
    scope, text = term.scope, term.text

    def begins(context: Context) -> Hits:
        leaves = context.leaves
        found = leaves.get(term, _MISSING)
        if found is not _MISSING:
            return found
        hits: list[Hit] = []
        for field in context.doc.scope(scope):
            for word in field.completions(prefix):
                hits += _word_hits(field, word, text)
        found = leaves[term] = hits or None
        return found

    return begins


def _phrase_evaluator(term: Term) -> Evaluator:
    """_term_hits for a term of exact words that is not one plain word outside ``lang:``
    (a phrase, a compound, a language tag): a field can only hold it if it holds every
    word of one of its alternatives, which one subset test per alternative tells, in C."""
    scope, text = term.scope, term.text
    anchored = scope == "lang"
    alternatives = term.alternatives
    needed = tuple(frozenset(words) for words in alternatives)

    def phrase(context: Context) -> Hits:
        leaves = context.leaves
        found = leaves.get(term, _MISSING)
        if found is not _MISSING:
            return found
        hits: list[Hit] = []
        for field in context.doc.scope(scope):
            if any(map(field.vocabulary.issuperset, needed)):
                runs = None if anchored else field.token_runs(alternatives)
                if runs is not None:
                    rank = field.rank
                    hits += [
                        (rank, start, end, text, first, last) for first, last, start, end in runs
                    ]
                    continue
                ranges = _ranges(field, term)
                if anchored:
                    ranges = [(first, last) for first, last in ranges if first == 0]
                if ranges:
                    hits += _hits_at(field, ranges, text)
        found = leaves[term] = hits or None
        return found

    return phrase


def all_of(parts: tuple[Evaluator, ...]) -> Evaluator:
    """The evaluator of an :class:`And` of these compiled children."""
    if len(parts) == 2:
        first, second = parts

        def both(context: Context) -> Hits:
            left = first(context)
            if left is None:
                return None
            right = second(context)
            if right is None:
                return None
            return left + right

        return both

    def every(context: Context) -> Hits:
        collected: list[Hit] = []
        for part in parts:
            hits = part(context)
            if hits is None:
                return None
            collected += hits
        return collected

    return every


def _or_evaluator(parts: tuple[Evaluator, ...]) -> Evaluator:
    # A child's hits may be returned as they are (no copy, unlike evaluate): callers
    # never mutate hits, and joining two lists makes a new one.
    if len(parts) == 2:
        first, second = parts

        def either(context: Context) -> Hits:
            left = first(context)
            right = second(context)
            if left is None:
                return right
            return left if right is None else left + right

        return either

    def any_of(context: Context) -> Hits:
        matched: list[Hit] | None = None
        for part in parts:
            hits = part(context)
            if hits is not None:
                matched = hits if matched is None else matched + hits
        return matched

    return any_of


def _near_evaluator(node: Near, left: Evaluator, right: Evaluator) -> Evaluator:
    def near(context: Context) -> Hits:
        found = left(context)
        if not found:
            return None
        other = right(context)
        if not other:
            return None
        return _near_pairs(node, found, other)

    return near


def _hits_at(field: FoldedField, ranges: list[tuple[int, int]], text: str) -> list[Hit]:
    """The hits of ``text`` at these ``(first, last)`` position ranges of ``field``."""
    starts, rank = field.starts(), field.rank
    if field.ascii:
        # An ASCII token ends its folded word's length after its start: no
        # need for the whole ends() list.
        words = field.words
        return [
            (rank, starts[first], starts[last] + len(words[last]), text, first, last)
            for first, last in ranges
        ]
    ends = field.ends()
    return [(rank, starts[first], ends[last], text, first, last) for first, last in ranges]


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
    return _near_pairs(node, left, right)


def _near_pairs(node: Near, left: list[Hit], right: list[Hit]) -> Hits:
    """The hits of ``node`` given the (non-empty) hits of its two sides."""
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


def settle(hits: list[Hit]) -> list[Hit]:
    """The distinct hits of ``hits`` that :func:`to_spans` makes spans of, in its order.

    Hits sort by place as plain tuples (in C); only the rare hits sharing a
    place need the term order of :func:`_span_order`, to keep the longest term.
    The hit chosen for the place being read is always the last one kept.
    """
    settled: list[Hit] = []
    for hit in sorted(set(hits)):
        if settled:
            last = settled[-1]
            if last[1] == hit[1] and last[2] == hit[2] and last[0] == hit[0]:
                if _span_order(hit) < _span_order(last):
                    settled[-1] = hit
                continue
        settled.append(hit)
    return settled


# Final: compiled, a module's Final names are C statics, read without a lookup in the
# module's dict (a span is made for every hit shown).
_SPAN_SETTERS: Final = slot_setters(Span)
_set_field: Final = _SPAN_SETTERS[0]
_set_start: Final = _SPAN_SETTERS[1]
_set_end: Final = _SPAN_SETTERS[2]
_set_term: Final = _SPAN_SETTERS[3]
_blank_span: Final = blank(Span)


def _span(hit: Hit) -> Span:
    """``Span(FIELD_ORDER[hit[0]], hit[1], hit[2], hit[3])``, the same frozen value, filled
    through its slots directly: a frozen dataclass's ``__init__`` goes through
    ``object.__setattr__`` for each field, which costs more than the rest of a span."""
    span = _blank_span()
    _set_field(span, FIELD_ORDER[hit[0]])
    _set_start(span, hit[1])
    _set_end(span, hit[2])
    _set_term(span, hit[3])
    return span


def spans_of(settled: list[Hit], context: Context) -> list[Span]:
    """The spans of hits :func:`settle` gave, one per hit (made once per context)."""
    made = context.spans
    spans: list[Span] = []
    for hit in settled:
        span = made.get(hit)
        if span is None:
            span = made[hit] = _span(hit)
        spans.append(span)
    return spans


def to_spans(hits: list[Hit], context: Context) -> list[Span]:
    """Distinct spans of ``hits``, ordered by field, then position, then term.

    Two terms that hit exactly the same characters (``tariff*`` and ``tarif*``
    on "tariffs") make one span: it is one
    mention, listed and scored once, under the longest of the terms (the most
    specific as written).
    """
    return spans_of(settle(hits), context)
