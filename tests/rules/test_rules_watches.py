"""Watches: exclude queries, scores, min_score and what RuleSet.match returns."""

from __future__ import annotations

import pytest

from monitor.rules import RuleSet, WatchSpec, compile_watches
from monitor.rules.score import score
from monitor.types import Entry, Match, Span
from tests.rules.helpers import ALIASES, entry

MEXICO = WatchSpec("mexico", "Mexico", exclude='"New Mexico"')

EXCLUDE = [
    (entry("Mexico City braces for storm"), True),
    (entry("New Mexico wildfire spreads"), False),
    (entry("Mexico City and New Mexico sign pact"), False),  # the whole entry is dropped
    (entry("New Mexico", "Mexico City"), False),  # exclude searches every default field
    (entry("New: Mexico City"), False),  # punctuation-insensitive, like every phrase
    (entry("Mexico's new president"), True),
]


@pytest.mark.parametrize(("item", "expected"), EXCLUDE)
def test_exclude_drops_the_entry_for_that_watch(item: Entry, expected: bool) -> None:
    rules = compile_watches([MEXICO, WatchSpec("any-mexico", "Mexico")])
    fired = [match.watch for match in rules.match(item)]
    assert fired == (["mexico", "any-mexico"] if expected else ["any-mexico"])


SCORES = [
    # (query, entry, score): distinct terms, 2 in the title, 1 elsewhere
    ("canada", entry("", "Canada"), 1.0),
    ("canada", entry("Canada", "Canada and Canada"), 2.0),
    ("canada mexico", entry("", "Canada, Mexico"), 2.0),
    ("canada mexico", entry("Canada", "Mexico"), 3.0),
    ("canada OR mexico OR ottawa", entry("Ottawa", "Ottawa"), 2.0),
    ("@usmca", entry("CUSMA", "USMCA T-MEC"), 4.0),
    ("canada source:reuters", entry("", "Canada", source="Reuters"), 2.0),
    ('"talks resume"~3 tariffs', entry("", "talks to resume on tariffs"), 2.0),
]


@pytest.mark.parametrize(("query", "item", "expected"), SCORES)
def test_score(query: str, item: Entry, expected: float) -> None:
    matches = compile_watches([WatchSpec("w", query)], ALIASES).match(item)
    assert [match.score for match in matches] == [expected]
    assert score(matches[0].spans) == expected


MIN_SCORE = [
    (entry("", "Canada"), 1.5, False),
    (entry("Canada"), 1.5, True),
    (entry("", "Canada and Mexico"), 2.0, True),
    (entry("", "Canada and Mexico"), 2.5, False),
    (entry("Canada", "Mexico"), 3.0, True),
]


@pytest.mark.parametrize(("item", "min_score", "expected"), MIN_SCORE)
def test_min_score(item: Entry, min_score: float, expected: bool) -> None:
    rules = compile_watches([WatchSpec("w", "canada OR mexico", min_score=min_score)])
    assert bool(rules.match(item)) is expected


def test_match_returns_one_match_per_watch_in_watch_order_with_spans() -> None:
    rules = compile_watches(
        [
            WatchSpec("trade", "@usmca OR tariff*"),
            WatchSpec("nothing", "Greenland"),
            WatchSpec("canada", "canada", exclude="hockey"),
            WatchSpec("leaders", "Carney NEAR/5 Sheinbaum"),
        ],
        ALIASES,
    )
    item = entry("Canada weighs CUSMA tariffs", "Carney met Sheinbaum in Ottawa.")
    assert rules.match(item) == [
        Match(
            "trade",
            4.0,
            (Span("title", 14, 19, "CUSMA"), Span("title", 20, 27, "tariff*")),
        ),
        Match("canada", 2.0, (Span("title", 0, 6, "canada"),)),
        Match(
            "leaders",
            2.0,
            (Span("summary", 0, 6, "Carney"), Span("summary", 11, 20, "Sheinbaum")),
        ),
    ]


def test_match_is_pure() -> None:
    rules = compile_watches([WatchSpec("w", "canada OR tariff*")])
    item = entry("Canada tariffs")
    assert rules.match(item) == rules.match(item) == rules.match_unindexed(item)


def test_empty_rule_set_matches_nothing() -> None:
    rules = compile_watches([])
    assert isinstance(rules, RuleSet)
    assert len(rules) == 0
    assert rules.match(entry("Canada")) == []


def test_rule_set_exposes_its_watches() -> None:
    watches = [WatchSpec("a", "canada"), WatchSpec("b", "mexico", exclude="city", min_score=2)]
    rules = compile_watches(watches)
    assert rules.watches == tuple(watches)
    assert len(rules) == 2


def test_watches_share_aliases_and_terms() -> None:
    rules = compile_watches(
        [WatchSpec("a", "@usmca"), WatchSpec("b", "@usmca review"), WatchSpec("c", "T-MEC")],
        ALIASES,
    )
    fired = rules.match(entry("T-MEC review"))
    assert [(match.watch, match.terms) for match in fired] == [
        ("a", ("T-MEC",)),
        ("b", ("T-MEC", "review")),
        ("c", ("T-MEC",)),
    ]
