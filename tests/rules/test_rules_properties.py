"""Property tests: algebraic laws of the language, and a parser that never crashes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import RuleError
from monitor.rules import WatchSpec, compile_query, compile_watches
from monitor.rules.fields import field_text
from monitor.types import Entry, Span
from tests.rules.helpers import ALIASES, entry, search

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Surface forms an entry may use for each word a query may use.
SURFACES = {
    "canada": ["Canada", "CANADA", "canada"],
    "mexico": ["Mexico", "México", "MEXICO"],
    "ottawa": ["Ottawa"],
    "trade": ["trade", "Trade"],
    "tariffs": ["tariffs", "Tariffs", "tariff"],
    "talks": ["talks"],
    "steel": ["steel", "Steel"],
    "usmca": ["USMCA", "CUSMA", "T-MEC"],
}
WORDS = sorted(SURFACES)
FILLER = ["the", "on", "said", "a", "of", "new"]
SEPARATORS = [" ", " ", " ", ", ", ". ", " - ", "-", "'s "]


@st.composite
def texts(draw: st.DrawFn, max_words: int = 14) -> str:
    tokens = draw(
        st.lists(
            st.one_of(
                st.sampled_from(WORDS).flatmap(lambda word: st.sampled_from(SURFACES[word])),
                st.sampled_from(FILLER),
            ),
            max_size=max_words,
        )
    )
    text = ""
    for token in tokens:
        text += token + draw(st.sampled_from(SEPARATORS))
    return text


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    # Every entry says "news" in its title: the tautology the NOT law needs.
    return entry(
        "news " + draw(texts(6)),
        draw(texts()),
        content=draw(st.sampled_from(["", "steel talks"])),
        language=draw(st.sampled_from([None, "en", "fr-ca"])),
    )


LEAVES = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(["tarif*", "can*", "mex*", "@usmca", '"T-MEC"', "U.S."]),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(
        lambda pair: f'"{pair[0]} {pair[1]}"'
    ),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS), st.integers(0, 4)).map(
        lambda triple: f'"{triple[0]} {triple[1]}"~{triple[2]}'
    ),
    st.tuples(st.sampled_from(["title:", "summary:"]), st.sampled_from(WORDS)).map("".join),
)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pairs = st.tuples(inner, inner)
    return st.one_of(
        pairs.map(lambda pair: f"({pair[0]} AND {pair[1]})"),
        pairs.map(lambda pair: f"({pair[0]} {pair[1]})"),
        pairs.map(lambda pair: f"({pair[0]} OR {pair[1]})"),
        pairs.map(lambda pair: f"({pair[0]} AND NOT {pair[1]})"),
        pairs.map(lambda pair: f"({pair[0]} -{pair[1]})"),
        st.tuples(inner, inner, st.integers(0, 6)).map(
            lambda triple: f"({triple[0]} NEAR/{triple[2]} {triple[1]})"
        ),
    )


# Positive by construction: every generated query needs some term to be present.
QUERIES = st.recursive(LEAVES, _combine, max_leaves=6)


def compile_outcome(query: str) -> str:
    """``compiled``, or the RuleError subclass and message compiling ``query`` raised.

    Any other exception propagates and fails the test.
    """
    try:
        compile_query(query, ALIASES)
    except RuleError as error:
        return f"{type(error).__name__}: {error}"
    return "compiled"


def is_expected_outcome(outcome: str) -> bool:
    """Compiled, or a RuleError that says what is wrong."""
    kind, _, message = outcome.partition(": ")
    return outcome == "compiled" or (kind in {"RuleError", "QuerySyntaxError"} and bool(message))


@PROPERTY_SETTINGS
@given(st.text())
def test_parser_never_crashes_on_arbitrary_text(text: str) -> None:
    assert is_expected_outcome(compile_outcome(text))


TOKEN_SOUP = st.lists(
    st.sampled_from(
        [
            "(",
            ")",
            "AND",
            "OR",
            "NOT",
            "-",
            '"',
            "NEAR/3",
            "NEAR",
            "title:",
            "lang:",
            "@usmca",
            "@",
            "canada",
            "~2",
            "*",
            "tariff*",
            '"a b"',
            "é",
        ]
    ),
    max_size=12,
)


@PROPERTY_SETTINGS
@given(TOKEN_SOUP, st.sampled_from(["", " "]))
def test_parser_never_crashes_on_operator_soup(tokens: list[str], glue: str) -> None:
    assert is_expected_outcome(compile_outcome(glue.join(tokens)))


@PROPERTY_SETTINGS
@given(QUERIES)
def test_generated_queries_compile(query: str) -> None:
    assert compile_query(query, ALIASES).query == query


@PROPERTY_SETTINGS
@given(QUERIES, QUERIES, entries())
def test_or_matches_whenever_either_side_does(left: str, right: str, item: Entry) -> None:
    either = search(f"({left}) OR ({right})", item)
    for side in (left, right):
        spans = search(side, item)
        if spans is not None:
            assert either is not None
            # Every place a side found is found by the OR. Its name may differ: terms that
            # hit the same characters make one span under the longest of them (to_spans).
            assert {place(s) for s in spans} <= {place(s) for s in either}
            named = {place(s): s.term for s in either}
            for span in spans:
                assert len(named[place(span)]) >= len(span.term)


def place(span: Span) -> tuple[str, int, int]:
    return span.field, span.start, span.end


def test_or_names_a_shared_place_after_its_longest_term() -> None:
    item = entry("Mexico")
    assert [s.term for s in search("mex*", item) or []] == ["mex*"]
    assert [s.term for s in search("(mexico) OR (mex*)", item) or []] == ["mexico"]


@PROPERTY_SETTINGS
@given(QUERIES, entries())
def test_not_inverts(query: str, item: Entry) -> None:
    assert search("news", item) is not None  # the tautology holds
    assert (search(f"news AND NOT ({query})", item) is None) == (search(query, item) is not None)


@PROPERTY_SETTINGS
@given(QUERIES, QUERIES, entries())
def test_and_needs_both(left: str, right: str, item: Entry) -> None:
    both = search(f"({left}) AND ({right})", item) is not None
    assert both == (search(left, item) is not None and search(right, item) is not None)


@PROPERTY_SETTINGS
@given(QUERIES, QUERIES, st.integers(0, 8), entries())
def test_near_is_symmetric_and_implies_and(
    left: str, right: str, distance: int, item: Entry
) -> None:
    forward = search(f"({left}) NEAR/{distance} ({right})", item)
    backward = search(f"({right}) NEAR/{distance} ({left})", item)
    assert (forward is None) == (backward is None)
    if forward is not None:
        assert backward is not None
        assert set(forward) == set(backward)
        assert search(f"({left}) AND ({right})", item) is not None
        assert search(f"({left}) NEAR/{distance + 1} ({right})", item) is not None


@PROPERTY_SETTINGS
@given(QUERIES, entries())
def test_spans_are_non_empty_slices_of_their_field(query: str, item: Entry) -> None:
    for span in search(query, item) or ():
        text = field_text(item, span.field)
        assert 0 <= span.start < span.end <= len(text)
        assert any(char.isalnum() for char in text[span.start : span.end])


@PROPERTY_SETTINGS
@given(st.lists(QUERIES, min_size=1, max_size=8), st.lists(entries(), min_size=1, max_size=5))
def test_index_agrees_with_evaluating_every_rule(queries: list[str], items: list[Entry]) -> None:
    rules = compile_watches(
        [WatchSpec(f"w{index}", query) for index, query in enumerate(queries)], ALIASES
    )
    for item in items:
        assert rules.match(item) == rules.match_unindexed(item)
