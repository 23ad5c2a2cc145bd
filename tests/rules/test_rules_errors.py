"""Queries that must not compile, and what their errors say."""

from __future__ import annotations

import pytest

from monitor.errors import RuleError, RuleSyntaxError
from monitor.rules import WatchSpec, compile_query, compile_watches
from tests.rules.helpers import ALIASES

SYNTAX = [
    # (query, position, words the message must contain, words "expected" must contain)
    ("canada AND", 10, "unexpected end of query", "a term"),
    ("(canada OR mexico", 17, "unexpected end of query", "')'"),
    ("canada)", 6, "unexpected ')'", "the end of the query"),
    ("canada OR OR mexico", 10, "unexpected 'OR'", "a term"),
    ('"trade war', 0, "unclosed quote", '"'),
    ("canada ~2", 7, "unexpected '~2'", ""),
    ("canada NEAR mexico", 7, "NEAR needs", "NEAR/n"),
    ("canada NEAR/x mexico", 7, "NEAR needs a distance", "NEAR/n"),
    ("NEAR/5 mexico", 0, "unexpected 'NEAR/5'", "a term"),
    ("canada NEAR/5", 13, "unexpected end of query", "a term"),
    ("canada NEAR/5000 mexico", 7, "larger than", ""),
    ("author:smith", 0, "unknown field 'author'", "title:"),
    ("canada @", 8, "alias name missing", "an alias name"),
    ("canada @nope", 7, "unknown alias '@nope'", "@usmca"),
    ("ta*iff", 2, "wildcard", ""),
    ("t*", 0, "at least 2", ""),
    ("*", 0, "no letters or digits", ""),
    ("canada &", 7, "no letters or digits", ""),
    ('canada ""', 7, "no letters or digits", ""),
    ("- canada", 0, "unexpected character '-'", "a term"),
    ("NOT", 3, "unexpected end of query", "a term"),
    ("()", 1, "unexpected ')'", "a term"),
    ("(NOT canada) NEAR/3 mexico", 1, "each side of NEAR", ""),
    ("canada NEAR/3 -mexico", 14, "unexpected '-'", "a term"),
    ('"a b"~5000', 5, "larger than", ""),
    ("AND canada", 0, "unexpected 'AND'", "a term"),
    ("canada OR", 9, "unexpected end of query", "a term"),
]


@pytest.mark.parametrize(("query", "position", "message", "expected"), SYNTAX)
def test_syntax_errors_name_position_and_expectation(
    query: str, position: int, message: str, expected: str
) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_query(query, ALIASES)
    error = caught.value
    assert error.position == position
    assert error.query == query
    assert message in str(error)
    assert expected in error.expected
    assert f"at position {position}" in str(error)


WHOLE_QUERY = [
    ("", "empty query"),
    ("   \n\t", "empty query"),
    ("NOT canada", "needs a term that must be present"),
    ("-canada", "needs a term that must be present"),
    ("-canada -mexico", "needs a term that must be present"),
    ("canada OR NOT mexico", "needs a term that must be present"),
    ("NOT (canada AND mexico)", "needs a term that must be present"),
    ("x" * 10_001, "longer than"),
]


@pytest.mark.parametrize(("query", "message"), WHOLE_QUERY)
def test_queries_that_would_match_everything_or_nothing_are_rejected(
    query: str, message: str
) -> None:
    with pytest.raises(RuleError, match=message):
        compile_query(query)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    for query in ("NOT " * 2_000 + "a", "title:" * 1_500 + "a", "a NEAR/1 " * 1_000 + "b"):
        with pytest.raises(RuleSyntaxError, match="nested"):
            compile_query(query)


def test_redundant_parentheses_are_fine() -> None:
    assert compile_query("(" * 2_000 + "canada" + ")" * 2_000).query.startswith("(")


def test_unknown_alias_error_names_alias_and_position() -> None:
    with pytest.raises(RuleError) as caught:
        compile_query("canada OR @cusma", ALIASES)
    assert "@cusma" in str(caught.value)
    assert "position 10" in str(caught.value)


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ({"bad": []}, "has no members"),
        ({"bad": "USMCA"}, "has no members"),
        ({"bad": ["USMCA", "--"]}, "member '--'"),
        ({"bad": ["ta*iff"]}, r"member 'ta\*iff'"),
    ],
)
def test_bad_alias_groups_are_errors(aliases: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        compile_query("@bad", aliases)  # type: ignore[arg-type]


WATCH_ERRORS = [
    ([WatchSpec("w1", "canada"), WatchSpec("w2", "canada AND")], "watch 'w2', query"),
    ([WatchSpec("w1", "canada", exclude="(")], "watch 'w1', exclude"),
    ([WatchSpec("w1", "NOT canada")], "watch 'w1', query"),
    ([WatchSpec("w1", "canada", exclude="NOT mexico")], "watch 'w1', exclude"),
    ([WatchSpec("w1", "@nope")], "watch 'w1', query: unknown alias '@nope'"),
    ([WatchSpec("w1", "a"), WatchSpec("w1", "b")], "watch 'w1' is defined more than once"),
    ([WatchSpec("", "a")], "needs a name"),
    ([WatchSpec("w1", "a", min_score=float("nan"))], "watch 'w1': min_score"),
]


@pytest.mark.parametrize(("watches", "message"), WATCH_ERRORS)
def test_compile_watches_errors_name_the_watch(watches: list[WatchSpec], message: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_watches(watches, ALIASES)
    assert message in str(caught.value)


def test_compile_watches_keeps_syntax_error_details() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_watches([WatchSpec("trade", "canada AND (mexico")])
    assert caught.value.position == 18
    assert caught.value.query == "canada AND (mexico"
    assert "')'" in caught.value.expected
    assert str(caught.value).startswith("watch 'trade', query: unexpected end of query")
