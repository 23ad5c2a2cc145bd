"""The compiled evaluators that RuleSet.match runs give exactly what the reference evaluate gives."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules import compile_query
from monitor.rules.document import FoldedEntry
from monitor.rules.evaluate import Context, compile_evaluator, evaluate
from monitor.rules.fold import FoldedField, _offsets, _scan
from monitor.rules.index import RuleIndex
from monitor.rules.nodes import And, Near, Node, Not, Or
from monitor.types import Entry
from tests.rules.helpers import ALIASES
from tests.rules.test_rules_index import _random_entry, _random_query
from tests.rules.test_rules_properties import PROPERTY_SETTINGS, QUERIES, entries


def _nodes(node: Node) -> list[Node]:
    """``node`` and every node under it."""
    found = [node]
    if isinstance(node, And | Or):
        for child in node.children:
            found += _nodes(child)
    elif isinstance(node, Not):
        found += _nodes(node.child)
    elif isinstance(node, Near):
        found += _nodes(node.left) + _nodes(node.right)
    return found


def _assert_same(node: Node, item: Entry) -> None:
    # Separate contexts: neither side may lean on hits the other cached.
    reference = evaluate(node, Context(FoldedEntry(item)))
    compiled = compile_evaluator(node)(Context(FoldedEntry(item)))
    assert compiled == reference
    # And within one shared context, in either order, as match() and judge() share it.
    context = Context(FoldedEntry(item))
    assert compile_evaluator(node)(context) == reference
    assert evaluate(node, context) == reference


@PROPERTY_SETTINGS
@given(QUERIES, entries())
def test_compiled_evaluator_equals_evaluate(query: str, item: Entry) -> None:
    for node in _nodes(compile_query(query, ALIASES).node):
        _assert_same(node, item)


def test_compiled_evaluators_equal_evaluate_on_a_generated_corpus() -> None:
    # Every feature and field, accents, punctuation and lang: included.
    rng = random.Random(20261205)
    queries = [compile_query(_random_query(rng), ALIASES).node for _ in range(300)]
    queries += [
        compile_query(text, ALIASES).node
        for text in ("lang:fr-ca trade", "lang:fr", "source:reuters", "url:news", '"New York"')
    ]
    matched = 0
    for _ in range(150):
        item = _random_entry(rng)
        for node in queries:
            _assert_same(node, item)
            matched += evaluate(node, Context(FoldedEntry(item))) is not None
    assert matched > 1000


WORDS = ["canada", "mexico", "tariffs", "tariff", "trade", "tmec", "t", "mec", "us", "u", "s"]
KEYS = [" canada ", " mexico ", " tariff", " tar", " trade ", " tmec ", " mec ", " us ", " t"]
# Rules as their requirements: up to 3 clauses of keys each.
REQUIREMENTS = st.lists(
    st.lists(st.frozensets(st.sampled_from(KEYS), min_size=1), max_size=3).map(tuple),
    max_size=12,
)


@PROPERTY_SETTINGS
@given(REQUIREMENTS, st.lists(st.frozensets(st.sampled_from(WORDS)), min_size=1, max_size=4))
def test_word_masks_find_what_the_haystack_pass_finds(
    requirements: list[tuple[frozenset[str], ...]], entry_words: list[frozenset[str]]
) -> None:
    # Candidates from words met before (the memo) are those of a fresh index, which
    # works every word out anew; and a key is found exactly when the haystack holds it.
    index = RuleIndex(requirements)
    for words in entry_words:
        fresh = RuleIndex(requirements).candidates_of(words)
        assert index.candidates_of(words) == fresh
        haystack = " " + " ".join(sorted(words)) + " "
        for rule, clauses in enumerate(requirements):
            if all(any(key in haystack for key in clause) for clause in clauses):
                assert rule in fresh  # never under-approximates


@settings(max_examples=100, deadline=None)
@given(REQUIREMENTS, st.lists(st.frozensets(st.sampled_from(WORDS)), min_size=1, max_size=6))
def test_a_full_word_mask_memo_is_emptied_and_candidates_do_not_change(
    requirements: list[tuple[frozenset[str], ...]], entry_words: list[frozenset[str]]
) -> None:
    index = RuleIndex(requirements, masks_limit=2)
    for words in entry_words:
        assert index.candidates_of(words) == RuleIndex(requirements).candidates_of(words)
        assert len(index._masks) <= 2


# What real news text is made of beyond ASCII: typographic quotes and dashes,
# accented names, non-breaking and other spaces, a combining accent now and then.
NEWS_TEXT = st.text(
    alphabet=st.sampled_from(list("aZ9 .-_',\n’“”—–…\xa0\u2009éÉüßøİ\u0301ﬁ２Ⅻ·«»"))
)


@settings(max_examples=500, deadline=None)
@given(NEWS_TEXT)
def test_ascii_token_scan_finds_the_tokens_joins_and_offsets_of_the_general_scan(text: str) -> None:
    field = FoldedField("summary", text)
    words, joins = _scan(text)
    assert field.words == words
    assert {first for _, first, _ in field.joined} == set(joins)
    assert field.offsets() == _offsets(text)
    for size in (1, 2, 3):
        for at in range(len(words) - size + 1):
            alternatives = (tuple(words[at : at + size]), ("".join(words[at : at + size]),))
            runs = FoldedField("summary", text).token_runs(alternatives)
            if runs is not None and all(alternatives[0]):  # only an ASCII field answers
                ranges = sorted(
                    {edge for option in alternatives for edge in field.find(option, False)}
                )
                offsets = field.offsets()
                expected = [(a, b, offsets[a][0], offsets[b][1]) for a, b in ranges]
                assert runs == expected
    for word in set(words):
        places = field.token_places(word)
        if places is not None:  # tokens only, each as long as its word
            positions, starts = places
            assert [(position, position) for position in positions] == field.edges(word)
            assert starts == [field.starts()[first] for first in positions]
            assert positions == [at for at, token in enumerate(words) if token == word]
        for prefix in {word[:1], word[:3], word} - {""}:  # a query prefix is never empty
            expected = sorted(edge for edge in field.vocabulary if edge.startswith(prefix))
            assert field.completions(prefix) == expected
