"""The rule index: requirements, candidates, and exact agreement with evaluating every rule."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules import WatchSpec, compile_query, compile_watches
from monitor.rules.document import FoldedEntry
from monitor.rules.evaluate import Context, Hit, settle, to_spans
from monitor.rules.fields import FIELD_ORDER
from monitor.rules.focus import node_focus
from monitor.rules.index import RuleIndex
from monitor.rules.score import score, score_hits, score_listed
from monitor.rules.settings import DEFAULT_RULE_SETTINGS
from monitor.types import Entry, Span
from tests.rules.helpers import ALIASES, entry

REQUIREMENTS = [
    # (query, clauses as sets of index keys)
    ("canada", [{" canada "}]),
    ("Canada AND Mexico", [{" canada "}, {" mexico "}]),
    ("canada OR mexico", [{" canada ", " mexico "}]),
    ("tariff*", [{" tariff"}]),
    ('"trade war"', [{" trade "}]),  # longest word of the phrase; ties go to the first
    ('"T-MEC"', [{" mec ", " tmec "}]),
    ("U.S.", [{" u ", " us "}]),
    ("canada -mexico", [{" canada "}]),
    ("canada NEAR/5 (mexico OR ottawa)", [{" canada "}, {" mexico ", " ottawa "}]),
    ('"talks resume"~3', [{" talks "}, {" resume "}]),
    ("(canada mexico) OR steel", [{" canada ", " steel "}]),
    ("title:canada source:reuters", [{" canada "}, {" reuters "}]),
    ("lang:fr-ca trade", [{" fr ", " frca "}, {" trade "}]),
]


@pytest.mark.parametrize(("query", "clauses"), REQUIREMENTS)
def test_requirements(query: str, clauses: list[set[str]]) -> None:
    assert [set(clause) for clause in compile_query(query).requirements] == clauses


def test_candidates_come_from_one_automaton_pass() -> None:
    index = RuleIndex(
        [
            (frozenset({" canada "}),),
            (frozenset({" mexico "}), frozenset({" tariff"})),
            (frozenset({" tariff"}),),
            (),  # no requirement: always a candidate
            (frozenset({" a "}), frozenset({" b ", " c "}), frozenset({" d "})),
        ]
    )
    assert index.candidates(" canada ") == [0, 3]
    assert index.candidates(" mexico ") == [3]  # its second clause is missing
    assert index.candidates(" tariffs mexico ") == [1, 2, 3]
    assert index.candidates(" canadas ") == [3]  # exact keys never match inside words
    # Rule 4's trigger is {a} and its check {d} (fewest keys first); its third
    # clause is left to evaluation: over-approximating is allowed.
    assert index.candidates(" c d a ") == [3, 4]
    assert index.candidates(" d a ") == [3, 4]
    assert index.candidates(" a c ") == [3]
    assert RuleIndex([]).candidates(" canada ") == []


def test_only_candidate_rules_are_evaluated() -> None:
    watches = [WatchSpec(f"w{number}", f"word{number} OR term{number}") for number in range(2000)]
    rules = compile_watches(watches)
    assert rules._index.candidates(" word7 term1999 other ") == [7, 1999]
    assert [match.watch for match in rules.match(entry("word7 and term1999"))] == ["w7", "w1999"]


def test_fields_nobody_queries_are_not_folded() -> None:
    rules = compile_watches([WatchSpec("w", "canada")])
    assert rules._haystack_fields == ("title", "summary", "content")
    rules = compile_watches([WatchSpec("w", "canada url:cbc lang:fr")])
    assert rules._haystack_fields == ("title", "summary", "content", "url", "lang")


# A corpus generator deliberately different from the property tests': seeded
# random, many watches at once, every field and feature, plenty of overlaps.
VOCABULARY = [
    "Canada",
    "Mexico",
    "México",
    "Ottawa",
    "Carney",
    "Sheinbaum",
    "Trump",
    "tariffs",
    "tariff",
    "tariffed",
    "trade",
    "steel",
    "aluminum",
    "talks",
    "review",
    "USMCA",
    "CUSMA",
    "T-MEC",
    "U.S.",
    "US",
    "bus",
    "New",
    "York",
    "autos",
    "dairy",
    "lumber",
    "Reuters",
]
FILLER = ["the", "a", "of", "on", "said", "will", "new", "after", "Monday", "it's"]


def _random_query(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 2 or roll < 0.35:
        word = rng.choice(VOCABULARY)
        form = rng.random()
        if form < 0.1:
            return f"{word[:4]}*" if len(word) > 4 else word
        if form < 0.2:
            return f'"{word} {rng.choice(VOCABULARY)}"'
        if form < 0.25:
            return f'"{word} {rng.choice(VOCABULARY)}"~{rng.randint(0, 5)}'
        if form < 0.3:
            return "@usmca"
        if form < 0.4:
            return f"{rng.choice(['title', 'summary'])}:{word}"
        return word
    left = _random_query(rng, depth + 1)
    right = _random_query(rng, depth + 1)
    operator = rng.choice(["AND", "OR", "", "AND NOT", f"NEAR/{rng.randint(0, 8)}"])
    return f"({left} {operator} {right})"


def _random_entry(rng: random.Random) -> Entry:
    def text(count: int) -> str:
        words = [rng.choice(VOCABULARY + FILLER * 2) for _ in range(count)]
        return " ".join(word + rng.choice(["", "", ",", "."]) for word in words)

    return entry(
        text(rng.randint(0, 8)),
        text(rng.randint(0, 40)),
        content=text(rng.randint(0, 20)) if rng.random() < 0.3 else "",
        source=rng.choice(["Reuters", "CBC News", "Le Devoir"]),
        link=f"https://news.example/{rng.choice(VOCABULARY).lower()}",
        language=rng.choice([None, "en", "fr", "fr-ca", "es-mx"]),
    )


def test_indexed_matching_equals_evaluating_every_rule_on_a_generated_corpus() -> None:
    rng = random.Random(20250301)
    watches = []
    for number in range(400):
        query = _random_query(rng)
        if rng.random() < 0.1:
            query = f"{query} {rng.choice(['source:reuters', 'lang:fr', 'url:news', '-lang:es'])}"
        exclude = _random_query(rng, 2) if rng.random() < 0.2 else None
        min_score = rng.choice([0.0, 0.0, 2.0, 3.5])
        watches.append(WatchSpec(f"w{number}", query, exclude, min_score))
    rules = compile_watches(watches, ALIASES)
    fired = 0
    for _ in range(600):
        item = _random_entry(rng)
        indexed = rules.match(item)
        assert indexed == rules.match_unindexed(item)
        fired += len(indexed)
    assert fired > 1000  # the corpus exercises the rules, not just empty results


def test_match_gives_exactly_the_fired_verdicts_of_judge() -> None:
    # match() decides without writing out stops; judge() writes them: every
    # stopping rule (score, focus, exclude, guard) must agree between the two.
    rng = random.Random(20251204)
    guards = {"trade": "trade OR tariff* OR steel", "autos": "autos OR dairy OR lumber"}
    watches = []
    for number in range(300):
        exclude = _random_query(rng, 2) if rng.random() < 0.2 else None
        watches.append(
            WatchSpec(
                f"w{number}",
                _random_query(rng),
                exclude,
                min_score=rng.choice([0.0, 0.0, 2.0, 3.5]),
                min_focus=rng.choice([0.0, 0.0, 0.3, 0.6]),
                guards=tuple(rng.sample(sorted(guards), rng.randint(0, 2))),
            )
        )
    rules = compile_watches(watches, ALIASES, guards=guards)
    queries = {spec.name: compile_query(spec.query, ALIASES) for spec in watches}
    stopped: set[str] = set()
    fired = 0
    for _ in range(500):
        item = _random_entry(rng)
        verdicts = rules.judge(item)
        matches = rules.match(item)
        assert matches == [verdict.match for verdict in verdicts if verdict.fired]
        stopped.update(verdict.stopped.rule for verdict in verdicts if verdict.stopped)
        context = Context(FoldedEntry(item))
        for verdict in verdicts:  # the engine's shortcut to the focus gives node_focus's
            focus = node_focus(queries[verdict.watch].node, context, DEFAULT_RULE_SETTINGS)
            assert verdict.focus == (0.0 if focus is None else focus)
        fired += len(matches)
        for match in matches:
            shuffled = list(match.spans)
            rng.shuffle(shuffled)
            assert score(shuffled) == match.score
    assert stopped == {"min_score", "min_focus", "exclude", "guard"}
    assert fired > 500


def test_to_spans_keeps_the_longest_term_of_hits_sharing_a_place() -> None:
    # to_spans sorts plain tuples and settles shared places apart; the
    # reference sorts every hit by (place, longest term, term) and keeps the first.
    rng = random.Random(7)
    terms = ["a", "ab", "b", "abc", "tariff*", "tarif*", "zz"]
    context = Context(FoldedEntry(entry("x")))
    for _ in range(3000):
        hits: list[Hit] = []
        for _ in range(rng.randint(1, 8)):
            start = rng.randint(0, 5)
            hits.append(
                (rng.randint(0, 2), start, start + rng.randint(1, 2), rng.choice(terms), 0, 0)
            )
        expected: list[Span] = []
        for hit in sorted(hits, key=lambda hit: (hit[:3], -len(hit[3]), hit[3])):
            if not expected or (expected[-1].field, expected[-1].start, expected[-1].end) != (
                FIELD_ORDER[hit[0]],
                hit[1],
                hit[2],
            ):
                expected.append(Span(FIELD_ORDER[hit[0]], hit[1], hit[2], hit[3]))
        spans = to_spans(hits, context)
        assert spans == expected
        # The spans are the frozen values the dataclass makes, field for field.
        assert [repr(span) for span in spans] == [repr(span) for span in expected]
        assert [hash(span) for span in spans] == [hash(span) for span in expected]
        # Scoring the settled hits gives the score of their spans, to the bit.
        settled = settle(hits)
        assert [FIELD_ORDER[hit[0]] for hit in settled] == [span.field for span in spans]
        assert score_hits(settled).hex() == score_listed(spans).hex()


# --- may_match: the raw-text check before any folding -----------------------------------
# Sound means: when may_match says no, the words say no too (no candidate). The words
# below put every kind of character next to the keys: accents and combining marks (they
# need folding: may_match must defer), typographic quotes, dashes and spaces (not token
# characters: they may join words or part them), ASCII punctuation and controls.

_KEYED_INDEX = RuleIndex(
    [
        (frozenset({" canada "}),),
        (frozenset({" mexico ", " mex"}), frozenset({" tariff"})),
        (frozenset({" us ", " u "}), frozenset({" trade "})),
        (frozenset({" tmec ", " mec "}),),
        (frozenset({" etatsunis "}), frozenset({" canadas "})),
        (frozenset({" canadaus ", " usmexico "}),),  # joined words alone
        (frozenset({" x "}), frozenset({" s"})),  # keys of one character
    ]
)
_PIECES = [
    "Canada", "canadas", "Canada\u2019s", "CANADA", "Mexico", "México", "Mexique", "Mex",
    "tariffs", "U.S.", "US", "u", "s", "T-MEC", "T\u2011MEC", "tmec", "mec", "trade",
    "États-Unis", "Etats", "unis", "e\u0301tats", "talks", "the", "x", "",
]  # fmt: skip
_GLUE = [
    " ",
    " ",
    ".",
    "-",
    "'",
    "\u2019",
    "\u2014",
    "\u00a0",
    "\u201c",
    "\x00",
    "_",
    "&",
    "\n",
    "\t",
]


@given(st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_GLUE)), max_size=10))
@settings(max_examples=3000, deadline=None)
def test_may_match_never_says_no_where_the_words_say_yes(parts: list[tuple[str, str]]) -> None:
    text = "".join(piece + glue for piece, glue in parts)
    half = len(parts) // 2
    title = "".join(piece + glue for piece, glue in parts[:half])
    words = FoldedEntry(entry(title, text)).words(FIELD_ORDER)
    wanted = _KEYED_INDEX.candidates_of(words)
    found = _KEYED_INDEX.text_candidates([title, text])
    assert found is None or set(wanted) <= set(found), (wanted, found)
    assert _KEYED_INDEX.may_match([title, text]) == (found is None or bool(found))


def test_may_match_answers_from_the_raw_text() -> None:
    index = _KEYED_INDEX
    assert not index.may_match(["Steel prices rose", "Ottawa said so."])
    assert index.may_match(["Canada\u2019s steel", ""])  # the word itself
    assert index.may_match(["", "New U.S. trade rules"])  # a joined word, checked too
    assert not index.may_match(["New U.S. rules", ""])  # the trigger without its check
    assert index.may_match(["Accord T\u2011MEC", ""])  # joined across a typographic hyphen
    # A letter that folds (é, a combining mark) leaves the answer to the words.
    assert index.may_match(["Les États-Unis", ""])
    assert index.may_match(["Cafe\u0301 talk", ""])
    # Substrings may say yes where the words say no: allowed, never the other way.
    assert index.may_match(["A mechanism", ""])
    assert index.text_candidates(["Canada-US talks", ""]) == [0, 5]
    assert index.text_candidates(["Box\tx\nsays", ""]) == [6]  # one-character keys: words
    assert index.text_candidates(["Box\tx\nuses", ""]) == []
    assert index.text_candidates(["Les États-Unis", ""]) is None
    assert RuleIndex([]).may_match(["Canada"]) is False
    assert RuleIndex([(frozenset({" a "}),), ()]).may_match([""])  # a rule without keys
    assert RuleIndex([(frozenset({" a "}),), ()]).text_candidates(["A b"]) == [0, 1]


def test_may_match_on_real_news_with_the_shipped_watches() -> None:
    from monitor.config import load_config
    from monitor.parse.feed import parse_feed
    from monitor.pipeline import compile_rules
    from monitor.rules.fields import field_text
    from tests.conftest import REPO, SHARED

    corpus = SHARED / "realfeeds"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} is absent (CI always has it)")
    rules = compile_rules(load_config(REPO / "config" / "monitor.yaml", env={}))
    index, fields = rules._index, rules._haystack_fields
    said_no = seen = 0
    for path in sorted(corpus.iterdir()):
        if path.suffix != ".xml":
            continue
        try:
            parsed = parse_feed(path.read_bytes(), f"https://feeds.example/{path.name}", "x")
        except Exception:  # a feed the parser refuses has no entries to check
            continue
        for item in parsed.entries:
            seen += 1
            texts = [field_text(item, name) for name in fields]
            found = index.text_candidates(texts)
            wanted = index.candidates_of(FoldedEntry(item).words(fields))
            assert found is None or set(wanted) <= set(found), item.title
            if not index.may_match(texts):
                said_no += 1
                assert rules.match_unindexed(item) == [], item.title
    # It answers no for most real entries (the point of asking it first).
    assert seen > 5000
    assert said_no > seen // 2, (said_no, seen)


# --- when the raw-text check is asked: only the speed depends on it ---------------------


def _asked(check: object, stops: list[bool]) -> list[bool]:
    """Feed the gate one entry per item of ``stops`` (whether the check would say no)."""
    from monitor.rules.engine import _CheckWorth

    assert isinstance(check, _CheckWorth)
    asked = []
    for stop in stops:
        asking = check.ask()
        asked.append(asking)
        if asking and stop:
            check.stopped()
    return asked


def test_the_check_stays_on_while_it_stops_entries() -> None:
    from monitor.rules.engine import _CHECK_WINDOW, _CheckWorth

    check = _CheckWorth()
    # One entry in three stopped is worth the check's cost: it is asked about every entry.
    assert all(_asked(check, [i % 3 == 0 for i in range(5 * _CHECK_WINDOW)]))


def test_the_first_window_is_short() -> None:
    from monitor.rules.engine import _CHECK_FIRST_WINDOW, _CHECK_SAMPLE, _CheckWorth

    check = _CheckWorth()
    # Every entry is asked about at first; when that stops none, the check is off soon.
    assert all(_asked(check, [False] * (_CHECK_FIRST_WINDOW - 1)))
    later = _asked(check, [False] * 4 * _CHECK_SAMPLE)
    assert sum(later) == 4


def test_the_check_samples_while_it_stops_few_and_comes_back_when_it_pays() -> None:
    from monitor.rules.engine import _CHECK_FIRST_WINDOW, _CHECK_SAMPLE, _CHECK_WINDOW, _CheckWorth

    check = _CheckWorth()
    # A first window where it stops most, then one where it stops nothing: the next
    # window only samples.
    assert all(_asked(check, [True] * (_CHECK_FIRST_WINDOW - 1)))
    assert all(_asked(check, [False] * _CHECK_WINDOW))
    sampled = _asked(check, [False] * _CHECK_WINDOW)
    assert sum(sampled) == _CHECK_WINDOW // _CHECK_SAMPLE
    # The mix turns: the samples see it, and the check is asked about every entry again.
    _asked(check, [True] * _CHECK_WINDOW)
    assert all(_asked(check, [True] * _CHECK_WINDOW))


def test_a_match_is_the_same_whichever_way_the_check_was_asked() -> None:
    rules = compile_watches(
        [WatchSpec(name="trade", query="(Canada OR Mexico) NEAR/4 tariff*")], aliases=ALIASES
    )
    rng = random.Random(7)
    words = [
        "Canada",
        "Mexico",
        "tariffs",
        "tariff",
        "steel",
        "Ottawa",
        "talks",
        "the",
        "said",
        "on",
    ]
    # First entries the check seldom stops (each holds "Canada", most a tariff word too),
    # so it is left off; then a mix with many entries it stops, so it comes back.
    keyed = [entry("Canada " + " ".join(rng.choice(words) for _ in range(8))) for _ in range(2000)]
    mixed = [entry(" ".join(rng.choice(words) for _ in range(8))) for _ in range(2000)]
    mixed += [entry("Steel prices rose in Ohio") for _ in range(2000)]
    rng.shuffle(mixed)
    states = set()
    for item in keyed + mixed:
        assert rules.match(item) == rules.match_unindexed(item)
        states.add(rules._check._on)
    assert states == {True, False}
