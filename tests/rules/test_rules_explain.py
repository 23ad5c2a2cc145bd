"""Plain-text explanations of matches."""

from __future__ import annotations

from monitor.rules import WatchSpec, compile_watches
from monitor.rules.explain import explain
from monitor.types import Match, Span
from tests.rules.helpers import ALIASES, entry


def test_explain_names_watch_term_field_span_and_context() -> None:
    rules = compile_watches(
        [WatchSpec("trade", "@usmca OR tariff*"), WatchSpec("leaders", "Carney NEAR/5 Sheinbaum")],
        ALIASES,
    )
    item = entry("Canada weighs CUSMA tariffs", "Carney met\nSheinbaum in Ottawa. " + "More. " * 20)
    text = explain(item, rules.match(item))
    assert text.splitlines() == [
        'Entry "Canada weighs CUSMA tariffs" from Test Feed',
        '  watch "trade" matched, score 4',
        "    term CUSMA - 1 hit",
        '      title [14:19] "CUSMA": Canada weighs «CUSMA» tariffs',
        "    term tariff* - 1 hit",
        '      title [20:27] "tariffs": Canada weighs CUSMA «tariffs»',
        '  watch "leaders" matched, score 2',
        "    term Carney - 1 hit",
        '      summary [0:6] "Carney": «Carney» met Sheinbaum in Ottawa. More. More. Mo…',
        "    term Sheinbaum - 1 hit",
        '      summary [11:20] "Sheinbaum": Carney met «Sheinbaum» in Ottawa. More. More. More. More. More…',
    ]


def test_explain_groups_every_hit_under_its_term() -> None:
    item = entry("", "Mexico, then Mexico again, and finally " + "x " * 30 + "Mexico")
    [match] = compile_watches([WatchSpec("mx", "Mexico")]).match(item)
    lines = explain(item, [match]).splitlines()
    assert lines[2] == "    term Mexico - 3 hits"
    assert [line.split('":')[0].strip() + '"' for line in lines[3:]] == [
        'summary [0:6] "Mexico"',
        'summary [13:19] "Mexico"',
        'summary [99:105] "Mexico"',
    ]
    assert lines[5].endswith("x x x «Mexico»")


def test_explain_without_matches() -> None:
    assert explain(entry("Quiet day"), []) == 'Entry "Quiet day" from Test Feed\n  no watch matched'


def test_explain_survives_spans_it_cannot_place() -> None:
    match = Match("w", 1.0, (Span("title", 50, 60, "x"), Span("author", 0, 1, "y")))
    lines = explain(entry("Short"), [match]).splitlines()
    assert lines[3] == "      title [50:60]: (outside the title text)"
    assert lines[5] == "      author [0:1]: (outside the author text)"
