"""Relevance, not co-mention: word forms, names in context, one mention scored once, focus, guards."""

from __future__ import annotations

import re

import pytest

from monitor.config import load_config, parse_config
from monitor.errors import ConfigError, RuleError, RuleSyntaxError
from monitor.pipeline import compile_rules
from monitor.rules import InContext, Stop, WatchSpec, compile_watches, explain_verdicts
from monitor.rules.forms import word_forms
from monitor.rules.score import score
from monitor.types import Entry
from tests.conftest import REPO
from tests.rules.helpers import entry, matches

# --- word forms: import+ -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Canada halts imports of steel", True),
        ("Mexico imported more grain", True),
        ("an importer of cars", True),
        ("IMPORTING nations", True),
        ("the import", True),
        ("an important day for Canada", False),
        ("the importance of trade", False),
        ("n'importe quoi", False),
        ("importes totales", False),  # Spanish: amounts
    ],
)
def test_forms_never_turn_import_into_important(text: str, expected: bool) -> None:
    assert matches("import+", entry("", text)) is expected


def test_the_prefix_wildcard_still_matches_every_continuation() -> None:
    assert matches("import*", entry("", "an important day"))


@pytest.mark.parametrize(
    ("stem", "forms", "not_forms"),
    [
        ("export", {"exports", "exported", "exporting", "exporter", "exporters"}, {"exportation"}),
        ("trade", {"trades", "traded", "trading", "trader", "traders"}, {"tradeing"}),
        ("supply", {"supplies", "supplied", "supplier"}, set()),
        ("ship", {"shipped", "shipping"}, {"shipper"}),
        ("arancel", {"aranceles"}, set()),
        ("tariff", {"tariffs", "tariffed"}, {"tariffication"}),
    ],
)
def test_word_forms(stem: str, forms: set[str], not_forms: set[str]) -> None:
    made = set(word_forms(stem))
    assert stem in made
    assert forms <= made
    assert not made & not_forms


def test_forms_work_in_alias_members_and_phrases_keep_exact_words() -> None:
    rules = compile_watches([WatchSpec("w", "@trade")], {"trade": ["export+", "free trade"]})
    assert rules.match(entry("", "exporters complain"))
    assert not rules.match(entry("", "exportation figures"))


@pytest.mark.parametrize(
    ("query", "message"),
    [("ab+", "at least 3 letters before +"), ("tariff*+", "either a prefix* or forms+")],
)
def test_bad_forms_are_errors(query: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=re.escape(message)):
        compile_watches([WatchSpec("w", query)])


def test_a_doubled_plus_stays_a_word() -> None:
    assert matches("C++", entry("", "written in C++"))


# --- one mention scores once -----------------------------------------------------------------

ALIASES = {
    "mexico": ["Mexico", "México", "Mexican"],
    "trade": ["tariff*", "tarif*", "trade", "free trade"],
}


def test_a_folded_duplicate_in_an_alias_scores_once_and_is_listed_once() -> None:
    [match] = compile_watches([WatchSpec("w", "@mexico")], ALIASES).match(entry("", "Mexico"))
    assert match.score == 1.0
    assert match.terms == ("Mexico",)
    [match] = compile_watches([WatchSpec("w", "@mexico")], ALIASES).match(entry("", "México"))
    assert match.score == 1.0


def test_two_prefixes_on_one_word_score_once() -> None:
    [match] = compile_watches([WatchSpec("w", "@trade")], ALIASES).match(entry("", "tariffs"))
    assert match.score == 1.0
    assert match.terms == ("tariff*",)  # the longer, more specific of the two
    assert score(match.spans) == 1.0


def test_overlapping_terms_are_one_mention() -> None:
    [match] = compile_watches([WatchSpec("w", "@trade")], ALIASES).match(
        entry("", "a free trade deal")
    )
    assert set(match.terms) == {"trade", "free trade"}
    assert match.score == 1.0


def test_distinct_members_still_count_apart() -> None:
    [match] = compile_watches([WatchSpec("w", "@mexico")], ALIASES).match(
        entry("", "Mexico and the Mexican peso")
    )
    assert match.score == 2.0


# --- names in context ---------------------------------------------------------------------------

CARNEY = {
    "canada": [
        "Canada",
        InContext("Carney", ("Mark", "PM", "prime minister", "Canada", "Liberal+"), 3),
    ]
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Prime Minister Mark Carney said on Tuesday", True),
        ("Carney, the prime minister, said", True),
        ("TMU Professor Colleen Carney, a sleep researcher, said", False),
        ("The post appeared first on Stan Carney.", False),
        ("Carney tells TIME that sleep matters", False),
    ],
)
def test_a_surname_counts_only_near_its_context(text: str, expected: bool) -> None:
    rules = compile_watches([WatchSpec("w", "@canada")], CARNEY)
    found = rules.match(entry("", text))
    assert bool(found) is expected
    if found:
        # Only the name is a hit: the context is a condition, not a term.
        assert found[0].terms == ("Carney",)


def test_context_must_be_in_the_same_field() -> None:
    rules = compile_watches([WatchSpec("w", "@canada")], CARNEY)
    assert not rules.match(entry("Mark my words", "Carney spoke"))


def test_a_context_member_needs_context_terms() -> None:
    with pytest.raises(RuleError, match="needs at least one term in 'near'"):
        compile_watches([WatchSpec("w", "@x")], {"x": [InContext("Carney", ())]})


# --- focus ------------------------------------------------------------------------------------

LONG = " ".join(["Words about something else entirely."] * 30)


def _focus(query: str, item: Entry) -> float:
    [verdict] = compile_watches([WatchSpec("w", query)]).judge(item)
    return verdict.focus


def test_focus_weighs_title_lead_and_depth() -> None:
    assert _focus("tariffs", entry("New tariffs on steel")) == 1.0
    assert _focus("tariffs", entry("", "New tariffs on steel. " + LONG)) == 0.5
    assert _focus("tariffs", entry("", LONG + " tariffs")) == pytest.approx(0.1)
    # Deep mentions add up, but never beyond one lead mention.
    assert _focus("tariffs", entry("", LONG + " tariffs" * 3)) == pytest.approx(0.3)
    assert _focus("tariffs", entry("", LONG + " tariffs" * 9)) == 0.5


def test_focus_of_and_is_its_least_focused_part() -> None:
    item = entry("Tariffs rise", LONG + " Canada")
    assert _focus("tariffs canada", item) == pytest.approx(0.1)
    assert _focus("tariffs OR canada", item) == 1.0


def test_min_focus_stops_a_passing_mention() -> None:
    rules = compile_watches([WatchSpec("w", "tariffs canada", min_focus=0.5)])
    assert rules.match(entry("Tariffs on Canada", LONG))
    item = entry("Tariffs rise in Europe", LONG + " Canada")
    assert not rules.match(item)
    [verdict] = rules.judge(item)
    assert verdict.stopped == Stop("min_focus", "focus 0.10 is below min_focus 0.5")


def test_source_terms_do_not_dilute_focus() -> None:
    assert _focus("tariffs source:reuters", entry("Tariffs", source="Reuters")) == 1.0


# --- guards -----------------------------------------------------------------------------------


def test_a_guard_vetoes_when_its_topic_is_as_prominent() -> None:
    rules = compile_watches([WatchSpec("w", "canada NEAR/10 mexico", guards=("health",))])
    item = entry("US, Canada and Mexico face measles outbreaks", "Cases rise.")
    assert not rules.match(item)
    [verdict] = rules.judge(item)
    assert verdict.stopped is not None
    assert verdict.stopped.rule == "guard"
    assert "'health'" in verdict.stopped.detail
    assert "measles (title)" in verdict.stopped.detail


def test_a_guard_lets_a_passing_mention_through() -> None:
    rules = compile_watches([WatchSpec("w", "canada NEAR/10 mexico", guards=("sport",))])
    item = entry("Canada and Mexico agree on steel", LONG + " The World Cup starts soon.")
    assert rules.match(item)


def test_a_guard_needs_its_own_prominence() -> None:
    rules = compile_watches([WatchSpec("w", "tariffs", guards=("travel",))])
    # The watch is only deep in the body, the guard too: 0.1 against 0.1 is not a topic.
    assert rules.match(entry("", LONG + " tariffs and hotels"))


def test_an_unknown_guard_is_an_error() -> None:
    with pytest.raises(RuleError, match="unknown guard 'sprot'"):
        compile_watches([WatchSpec("w", "canada", guards=("sprot",))])


# --- explaining what stopped a watch ------------------------------------------------------------


def test_judge_names_each_stopping_rule_and_explain_shows_it() -> None:
    rules = compile_watches(
        [
            WatchSpec("fired", "canada"),
            WatchSpec("scored", "canada", min_score=5),
            WatchSpec("excluded", "canada", exclude="hockey"),
            WatchSpec("guarded", "canada", guards=("sport",)),
        ]
    )
    item = entry("Canada wins hockey tournament")
    verdicts = rules.judge(item)
    assert [(v.watch, v.stopped.rule if v.stopped else None) for v in verdicts] == [
        ("fired", None),
        ("scored", "min_score"),
        ("excluded", "exclude"),
        ("guarded", "guard"),
    ]
    assert [m.watch for m in rules.match(item)] == ["fired"]
    lines = explain_verdicts(item, verdicts).splitlines()
    assert '  watch "fired" matched, score 2, focus 1.00' in lines
    assert (
        '  watch "excluded" did not fire (score 2, focus 1.00): stopped by exclude: '
        "the exclude query matched (hockey)"
    ) in lines
    guarded = next(line for line in lines if line.startswith('  watch "guarded"'))
    assert "stopped by guard: 'sport'" in guarded
    assert "hockey (title)" in guarded


# --- the configuration: names in context, guards, min_focus, and the shipped watches -----------

CONFIG = """\
database: sqlite:///x.db
aliases:
  canada:
    - Canada
    - {term: Carney, near: [Mark, PM], within: 2}
watches:
  - name: canada
    query: '@canada'
    min_focus: 0.5
    guards: [sport]
"""


def test_the_config_reads_names_in_context_focus_and_guards() -> None:
    config = parse_config(CONFIG, "test.yaml", {})
    rules = compile_rules(config)
    assert rules.match(entry("PM Carney speaks"))
    assert not rules.match(entry("Colleen Carney speaks"))
    assert not rules.match(entry("Canada wins the hockey final"))
    [watch] = config.watches
    assert (watch.min_focus, watch.guards) == (0.5, ("sport",))


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (
            "guards: [sport]",
            "watches[0].guards[0] (line 10): watch 'canada': unknown guard 'sprot'",
        ),
        ("min_focus: 0.5", "watches[0].min_focus (line 9)"),
        ("within: 2", "aliases.canada[1].in_context.within (line 5)"),
    ],
)
def test_config_problems_name_the_key(replace: str, expected: str) -> None:
    broken = {
        "guards: [sport]": "guards: [sprot]",
        "min_focus: 0.5": "min_focus: 2",
        "within: 2": "within: -1",
    }[replace]
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.replace(replace, broken), "test.yaml", {})
    assert any(problem.startswith(expected) for problem in caught.value.problems), (
        caught.value.problems
    )


def test_the_shipped_watches_ask_for_relevance() -> None:
    config = load_config(REPO / "config" / "monitor.yaml", env={})
    rules = compile_rules(config)
    fired = [m.watch for m in rules.match(entry("Trump's tariffs hit Canadian steel exports"))]
    assert fired == ["north-american-trade"]
    # A sleep researcher named Carney and a passing "important" are no longer trade news.
    assert not rules.match(
        entry(
            "Why using your phone at night may be fine",
            "Professor Colleen Carney in Toronto, Canada, says it is important. Trump. " + LONG,
        )
    )
    assert not rules.match(entry("US, Canada and Mexico face measles outbreaks"))
    assert all(watch.min_focus > 0 for watch in config.watches if watch.name != "usmca")


def test_the_shipped_canada_mexico_watch_wants_a_relationship_not_a_list() -> None:
    rules = compile_rules(load_config(REPO / "config" / "monitor.yaml", env={}))

    def fired(title: str, text: str = "") -> bool:
        return "canada-mexico" in [m.watch for m in rules.match(entry(title, text))]

    assert fired("Canada and Mexico sign a steel agreement")
    assert fired("Carney and Sheinbaum meet", "Canada and Mexico discuss bilateral trade.")
    assert fired("Mexico buys Canadian rapeseed", "Trade sources said so.")
    # Bare co-mention, and lists of the three countries, even with a trade word nearby.
    assert not fired("Canada and Mexico: ten photos")
    assert not fired(
        "A joint venture for car parts",
        "It will make and sell parts in the United States, Canada and Mexico under an agreement.",
    )
    assert not fired(
        "Vets return",
        "The minister said a team funded by the U.S., Canada, Mexico and Costa Rica will import pigs.",
    )
