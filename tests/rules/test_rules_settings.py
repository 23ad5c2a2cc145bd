"""The ``rules:`` settings and the config's own guards, from the YAML to the matcher and its workers."""

from __future__ import annotations

import asyncio
import pickle
from datetime import UTC, datetime

import pytest

from monitor.config import RulesConfig, parse_config
from monitor.dedup.scheme import V1
from monitor.errors import ConfigError, RuleError
from monitor.parse.pool import ParserPool
from monitor.pipeline import compile_rules, rule_source
from monitor.prepare import PreparedEntry, prepare_parsed
from monitor.rules import RuleSettings, WatchSpec, compile_watches
from monitor.rules.guards import GUARDS
from tests.rules.helpers import entry
from tests.support.feeds import Item, rss

FILLER = " ".join(f"word{n}" for n in range(60))


def test_the_config_defaults_are_the_matchers_defaults() -> None:
    assert RulesConfig().settings == RuleSettings()


def test_the_lead_length_decides_what_a_lead_mention_is() -> None:
    watch = [WatchSpec("w", "tariffs", min_focus=0.5)]
    item = entry("", " ".join(f"w{n}" for n in range(20)) + " tariffs")  # word 20 of the summary
    assert compile_watches(watch).match(item)
    assert not compile_watches(watch, settings=RuleSettings(lead_words=10)).match(item)


def test_the_weights_decide_the_focus() -> None:
    item = entry("Tariffs rise")
    [verdict] = compile_watches([WatchSpec("w", "tariffs")]).judge(item)
    assert verdict.focus == 1.0
    halved = compile_watches([WatchSpec("w", "tariffs")], settings=RuleSettings(title_weight=0.4))
    [verdict] = halved.judge(item)
    assert verdict.focus == pytest.approx(0.4)
    deep = entry("", FILLER + " tariffs tariffs tariffs tariffs tariffs tariffs tariffs")
    capped = compile_watches([WatchSpec("w", "tariffs")], settings=RuleSettings(deep_cap=0.2))
    assert capped.judge(deep)[0].focus == pytest.approx(0.2)
    weighted = compile_watches([WatchSpec("w", "tariffs")], settings=RuleSettings(deep_weight=0.05))
    assert weighted.judge(deep)[0].focus == pytest.approx(0.35)


def test_the_guard_minimum_decides_when_a_guard_vetoes() -> None:
    spec = WatchSpec("w", "canada", guards=("health",))
    item = entry("", FILLER + " Canada", content="Measles cases rise.")  # guard: a lead mention
    assert not compile_watches([spec]).match(item)
    assert compile_watches([spec], settings=RuleSettings(guard_min_focus=0.8)).match(item)


def test_a_stop_says_what_decided_in_one_line() -> None:
    rules = compile_watches([WatchSpec("w", "canada NEAR/10 mexico", guards=("health",))])
    [verdict] = rules.judge(entry("US, Canada and Mexico face measles outbreaks", "Cases rise."))
    assert verdict.stopped is not None
    assert verdict.stopped.label == "guard health"
    assert verdict.stopped.summary == "guard health (its focus 1.00 ≥ the watch's 1.00)"
    focused = compile_watches([WatchSpec("w", "canada", min_focus=0.5)])
    [verdict] = focused.judge(entry("", FILLER + " Canada"))
    assert verdict.stopped is not None
    assert verdict.stopped.summary == "min_focus (focus 0.10 < 0.5)"


# --- the config ------------------------------------------------------------------------------

CONFIG = """\
database: sqlite:///x.db
rules:
  lead_words: 10
  guard_min_focus: 0.4
guards:
  cricket:
    terms: [cricket, wicket+, Test match]
watches:
  - name: canada
    query: 'Canada'
    guards: [cricket, sport]
"""


def test_the_config_sets_the_rules_and_adds_its_guards() -> None:
    config = parse_config(CONFIG, "test.yaml", {})
    assert config.rules.settings == RuleSettings(lead_words=10, guard_min_focus=0.4)
    queries = config.guard_queries()
    assert queries["cricket"] == 'cricket OR wicket+ OR "Test match"'
    assert set(GUARDS) < set(queries)
    rules = compile_rules(config)
    assert rules.match(entry("Canada and India agree on trade"))
    stopped_by = {
        title: [v.stopped.label if v.stopped else None for v in rules.judge(entry(title))]
        for title in (
            "Canada wins the cricket final",
            "Wickets tumble as Canada collapses",
            "Canada hosts the Test match",
            "Canada wins the hockey final",  # the shipped guard still works
        )
    }
    assert stopped_by == {
        "Canada wins the cricket final": ["guard cricket"],
        "Wickets tumble as Canada collapses": ["guard cricket"],
        "Canada hosts the Test match": ["guard cricket"],
        "Canada wins the hockey final": ["guard sport"],
    }


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("lead_words: 10", "lead_words: 0", "rules.lead_words (line 3): "),
        ("guard_min_focus: 0.4", "guard_min_focus: 1.5", "rules.guard_min_focus (line 4): "),
        ("lead_words: 10", "lead_weights: 1", "rules.lead_weights (line 3): unknown key"),
        (
            "  cricket:\n",
            "  sport:\n",
            "guards.sport (line 6): 'sport' is a shipped guard; give yours another name",
        ),
        (
            "Test match]",
            'Test "match"]',
            "guards.cricket.terms[2] (line 7): guard 'cricket': write a term without quotes",
        ),
        (
            "Test match]",
            "AND]",
            "guards.cricket.terms[2] (line 7): guard 'cricket': 'AND' is not a term",
        ),
        ("Test match]", "'']", "guards.cricket.terms[2] (line 7): "),
        ("terms: [", "words: [", "guards.cricket.words (line 7): unknown key"),
        (
            "guards: [cricket, sport]",
            "guards: [crikcet, sport]",
            "watches[0].guards[0] (line 11): watch 'canada': unknown guard 'crikcet' (known: "
            "sport, travel",
        ),
    ],
)
def test_problems_with_rules_and_guards_name_the_key_and_line(
    replace: str, by: str, expected: str
) -> None:
    assert replace in CONFIG
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.replace(replace, by), "test.yaml", {})
    assert any(problem.startswith(expected) for problem in caught.value.problems), (
        caught.value.problems
    )


def test_an_unknown_guard_lists_the_configs_own_among_the_known() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.replace("[cricket, sport]", "[crikcet]"), "test.yaml", {})
    assert any(problem.endswith(", cricket)") for problem in caught.value.problems)


def test_the_matcher_refuses_a_guard_it_was_not_given() -> None:
    with pytest.raises(RuleError, match="unknown guard 'cricket'"):
        compile_watches([WatchSpec("w", "canada", guards=("cricket",))])
    with pytest.raises(RuleError, match="watch 'w', guard 'cricket'"):
        compile_watches(
            [WatchSpec("w", "canada", guards=("cricket",))], guards={"cricket": "cricket AND ("}
        )


def test_a_worker_process_compiles_with_the_settings_and_guards() -> None:
    source = rule_source(parse_config(CONFIG, "test.yaml", {}))
    assert pickle.loads(pickle.dumps(source)) == source
    when = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    items = [
        Item("Canada wins the cricket final", "https://a.example/1", "", when, "g1"),
        # Cricket is past the config's 10-word lead: a passing mention, no veto (with the
        # default 50 words it would be as prominent as Canada).
        Item("Trade news", "https://a.example/2", f"Canada {FILLER[:70]} cricket", when, "g2"),
    ]
    assert not compile_watches(source.watches, guards=dict(source.guards)).match(
        entry("Trade news", f"Canada {FILLER[:70]} cricket")
    )
    feed = "https://a.example/feed.xml"

    async def in_worker() -> tuple[PreparedEntry, ...]:
        async with ParserPool(workers=1) as pool:
            parsed = await pool.parse(rss(items), feed, "A")
            return await pool.run(feed, prepare_parsed, parsed, source, V1)

    prepared = asyncio.run(in_worker())
    assert [[m.watch for m in p.matches] for p in prepared] == [[], ["canada"]]
