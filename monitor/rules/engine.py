"""The watch-rule engine: compile watches once, match entries many times.

Pipeline of one :meth:`RuleSet.match` call::

    Entry --FoldedEntry (each field folded once)--> set of its words
          --RuleIndex (set intersection, Aho-Corasick for prefixes)--> candidate rules
          --evaluate each candidate's node tree--> hits --> spans, score, focus
          --min_score, min_focus, exclude query, guards--> Verdict per watch whose query matched
          --the verdicts nothing stopped--> Match per watch that fired

:meth:`RuleSet.judge` returns every verdict, stopped ones included with the
rule that stopped them (:class:`Stop`), for ``monitor explain`` and the rule
tools; :meth:`RuleSet.match` only the matches that fired.

Matching is a pure function of the entry. The per-call leaf cache lets rules
that share a term look it up once; the only memos kept between calls are
functions of a string alone (a feed name's folded field, a word's index keys),
so they change no result.

:meth:`RuleSet.match` runs each rule as compiled evaluators
(:func:`~monitor.rules.evaluate.compile_evaluator`: no type dispatch, single
words on a path of their own) and works out a watch's focus only when a
``min_focus`` or a guard reads it; :meth:`RuleSet.judge` and
:meth:`RuleSet.match_unindexed` walk the node trees with
:func:`~monitor.rules.evaluate.evaluate`, the reference.

:meth:`RuleSet.match_unindexed` evaluates every rule instead of consulting the
index. It is the reference the index must agree with exactly (see the tests)
and the baseline of ``bench/rules.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from monitor.errors import RuleError
from monitor.rules.aliases import Aliases
from monitor.rules.compile import Interner, compile_node
from monitor.rules.document import FoldedEntry
from monitor.rules.evaluate import (
    Context,
    Evaluator,
    Hit,
    all_of,
    compile_evaluator,
    evaluate,
    settle,
    spans_of,
    to_spans,
)
from monitor.rules.fields import BODY_FIELDS, FIELD_ORDER, field_text, scope_fields
from monitor.rules.focus import hits_focus, node_focus, place
from monitor.rules.frozen import blank, slot_setters
from monitor.rules.grammar import QuerySyntaxError
from monitor.rules.guards import GUARDS
from monitor.rules.index import Clause, RuleIndex, leaf_scopes, requirements
from monitor.rules.nodes import And, Node, Not
from monitor.rules.score import score_hits, score_listed
from monitor.rules.settings import DEFAULT_RULE_SETTINGS, RuleSettings
from monitor.rules.values import Stop, Verdict, WatchSpec
from monitor.types import Entry, Match, Span

__all__ = [
    "CompiledQuery",
    "RuleSet",
    "Stop",
    "Verdict",
    "WatchSpec",
    "compile_query",
    "compile_watches",
]

NO_ALIASES: Aliases = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """One query, compiled: its node tree and its index requirements."""

    query: str
    """The query text as given."""
    node: Node
    requirements: tuple[Clause, ...]
    """Index keys an entry must contain for the query to have a chance (see :mod:`.index`)."""

    def search(self, entry: Entry) -> tuple[Span, ...] | None:
        """The spans where this query matches ``entry``, or ``None`` if it does not.

        A match always has at least one span: compilation only accepts queries
        that need a term to be present.
        """
        spans = _spans(self, Context(FoldedEntry(entry)))
        return None if spans is None else tuple(spans)


def _compile(query: str, aliases: Aliases, interner: Interner) -> CompiledQuery:
    node = compile_node(query, aliases, interner)
    return CompiledQuery(query, node, requirements(node))


def compile_query(query: str, aliases: Aliases = NO_ALIASES) -> CompiledQuery:
    """Compile one query; raise :class:`RuleSyntaxError` or :class:`RuleError` if it is invalid."""
    return _compile(query, aliases, {})


@dataclass(frozen=True, slots=True)
class _Guard:
    name: str
    query: CompiledQuery


@dataclass(frozen=True, slots=True)
class _Rule:
    spec: WatchSpec
    query: CompiledQuery
    exclude: CompiledQuery | None
    guards: tuple[_Guard, ...] = ()


def _compile_part(
    spec: WatchSpec,
    part: str,
    text: str,
    aliases: Aliases,
    interner: Interner,
) -> CompiledQuery:
    """Compile one query of a watch, naming the watch in any error."""
    where = f"watch {spec.name!r}, {part}"
    try:
        return _compile(text, aliases, interner)
    except QuerySyntaxError as error:
        raise QuerySyntaxError(
            f"{where}: {error.reason}", error.query, error.position, error.expected
        ) from error
    except RuleError as error:
        raise RuleError(f"{where}: {error}") from error


def compile_watches(
    watches: Sequence[WatchSpec],
    aliases: Aliases = NO_ALIASES,
    settings: RuleSettings = DEFAULT_RULE_SETTINGS,
    guards: Mapping[str, str] = GUARDS,
) -> RuleSet:
    """Compile every watch into a :class:`RuleSet`.

    ``settings`` weigh focus and guards; ``guards`` are the topic guards the
    watches may name, each a query (the shipped :data:`~monitor.rules.guards.GUARDS`,
    plus the config's own).

    Raises :class:`RuleError` (or :class:`RuleSyntaxError`) naming the first
    watch that cannot be compiled: a bad query or exclude query, a repeated or
    empty name, a ``min_score`` that is not a finite number, a ``min_focus``
    outside 0 to 1, an unknown guard.
    """
    interner: Interner = {}
    rules: list[_Rule] = []
    seen: set[str] = set()
    compiled_guards: dict[str, _Guard] = {}
    for spec in watches:
        if not spec.name:
            raise RuleError(f"a watch needs a name (query {spec.query!r})")
        if spec.name in seen:
            raise RuleError(f"watch {spec.name!r} is defined more than once")
        seen.add(spec.name)
        if isinstance(spec.min_score, bool) or not isinstance(spec.min_score, int | float):
            raise RuleError(f"watch {spec.name!r}: min_score must be a number")
        if not math.isfinite(spec.min_score):
            raise RuleError(f"watch {spec.name!r}: min_score must be a finite number")
        focus = spec.min_focus
        if isinstance(focus, bool) or not isinstance(focus, int | float) or not 0 <= focus <= 1:
            raise RuleError(f"watch {spec.name!r}: min_focus must be a number from 0 to 1")
        query = _compile_part(spec, "query", spec.query, aliases, interner)
        exclude = None
        if spec.exclude is not None:
            exclude = _compile_part(spec, "exclude", spec.exclude, aliases, interner)
        for name in spec.guards:
            if name not in guards:
                raise RuleError(
                    f"watch {spec.name!r}: unknown guard {name!r} (known: {', '.join(guards)})"
                )
            if name not in compiled_guards:
                compiled = _compile_part(
                    spec, f"guard {name!r}", guards[name], NO_ALIASES, interner
                )
                compiled_guards[name] = _Guard(name, compiled)
        watch_guards = tuple(compiled_guards[name] for name in dict.fromkeys(spec.guards))
        rules.append(_Rule(spec, query, exclude, watch_guards))
    return RuleSet(rules, settings)


@dataclass(frozen=True, slots=True)
class _Program:
    """A rule as :meth:`RuleSet.match` runs it: its queries as evaluators
    (:func:`~monitor.rules.evaluate.compile_evaluator`) and what it checks, decided once."""

    rule: _Rule
    root: Evaluator
    """The evaluator of the query."""
    parts: tuple[Evaluator, ...]
    """The evaluators of the root's children when it is an :class:`And`, else of the root."""
    split: bool
    """Whether the root is an :class:`And` (its parts' hits are kept for the focus)."""
    needs_focus: bool
    """Whether anything reads the focus: a ``min_focus`` above 0, or a guard. A focus is
    never below 0, so without either it cannot stop the watch and is not computed."""
    exclude: Evaluator | None
    guards: tuple[Evaluator, ...]
    """The evaluators of the rule's guards, in its order."""


def _program(rule: _Rule) -> _Program:
    node = rule.query.node
    split = type(node) is And
    children = node.children if isinstance(node, And) else (node,)
    parts = tuple(compile_evaluator(child) for child in children)
    return _Program(
        rule,
        all_of(parts) if split else parts[0],
        parts,
        split,
        rule.spec.min_focus > 0 or bool(rule.guards),
        None if rule.exclude is None else compile_evaluator(rule.exclude.node),
        tuple(compile_evaluator(guard.query.node) for guard in rule.guards),
    )


class _CheckWorth:
    """Whether the raw-text check (:meth:`RuleIndex.may_match`) pays for itself on the
    entries a rule set meets: it costs about a quarter of folding an entry and saves the
    folding where it says no. Many watches over their topic's own news leave little for
    it to stop; the shipped watches over a general feed stop most entries at it.

    Learnt in windows of :data:`_CHECK_WINDOW` entries: used in the next window when it
    stopped at least :data:`_CHECK_WORTH` of those it was asked about in the last, and
    otherwise still asked about one entry in :data:`_CHECK_SAMPLE`, to notice the mix
    change. The first window is only :data:`_CHECK_FIRST_WINDOW` entries: asking about
    every entry costs the most where the check stops none, so it is learnt soon. Only
    the speed depends on it: a match is the same either way.
    """

    __slots__ = ("_asked", "_on", "_seen", "_stopped", "_window")

    def __init__(self) -> None:
        self._on = True
        self._window = _CHECK_FIRST_WINDOW
        self._seen = self._asked = self._stopped = 0

    def ask(self) -> bool:
        """Whether to check this entry's raw text first."""
        self._seen += 1
        if self._seen >= self._window:
            self._on = self._stopped >= self._asked * _CHECK_WORTH
            self._window = _CHECK_WINDOW
            self._seen = self._asked = self._stopped = 0
        if self._on or self._seen % _CHECK_SAMPLE == 0:
            self._asked += 1
            return True
        return False

    def stopped(self) -> None:
        """The check answered no for the entry just asked about."""
        self._stopped += 1


_CHECK_WINDOW: Final = 2048
_CHECK_FIRST_WINDOW: Final = 128
_CHECK_WORTH: Final = 0.25
_CHECK_SAMPLE: Final = 64


class RuleSet:
    """Compiled watches plus their index. Its results never change once built; share it
    freely (the index memoises each word's masks as it meets them, a bounded cache that
    threads may fill at once with the same values, and :class:`_CheckWorth` counts
    entries, which only tunes the speed).

    Build it with :func:`compile_watches`.
    """

    __slots__ = ("_check", "_haystack_fields", "_index", "_programs", "_rules", "_settings")

    def __init__(self, rules: Sequence[_Rule], settings: RuleSettings) -> None:
        self._check = _CheckWorth()
        self._rules = tuple(rules)
        self._programs = tuple(_program(rule) for rule in self._rules)
        self._settings = settings
        self._index = RuleIndex([rule.query.requirements for rule in self._rules])
        # The haystack needs the words of every field some indexed term can
        # search, and no others: a url field nobody queries is never folded.
        scopes = set().union(*(leaf_scopes(rule.query.node) for rule in self._rules))
        fields = {name for scope in scopes for name in scope_fields(scope, BODY_FIELDS)}
        self._haystack_fields = tuple(name for name in FIELD_ORDER if name in fields)

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def watches(self) -> tuple[WatchSpec, ...]:
        """The watches, in the order they were given."""
        return tuple(rule.spec for rule in self._rules)

    def _stops_early(self, entry: Entry) -> bool:
        """Whether the raw-text check, when :class:`_CheckWorth` says to ask it, finds
        that no watch can match ``entry`` (so its words need not be worked out)."""
        check = self._check
        if not check.ask():
            return False
        if self._index.may_match([field_text(entry, name) for name in self._haystack_fields]):
            return False
        check.stopped()
        return True

    def match(self, entry: Entry) -> list[Match]:
        """One :class:`Match` per watch that fired on ``entry``, in watch order.

        The same matches as the fired verdicts of :meth:`judge` (a test holds
        them equal), without writing out why the others were stopped.
        """
        if self._stops_early(entry):
            return []
        fields = self._haystack_fields
        context = Context(FoldedEntry(entry))
        matches: list[Match] = []
        programs, settings = self._programs, self._settings
        vocabularies = context.doc.vocabularies(fields)
        for position in self._index.candidates_in(vocabularies):
            found = _fire(programs[position], context, settings)
            if found is not None:
                matches.append(found)
        return matches

    def judge(self, entry: Entry) -> list[Verdict]:
        """One :class:`Verdict` per watch whose query matched ``entry``, fired or stopped, in watch order."""
        if self._stops_early(entry):
            return []
        fields = self._haystack_fields
        context = Context(FoldedEntry(entry))
        verdicts: list[Verdict] = []
        words = context.doc.words(fields)
        for position in self._index.candidates_of(words):
            found = _judge(self._rules[position], context, self._settings)
            if found is not None:
                verdicts.append(found)
        return verdicts

    def match_unindexed(self, entry: Entry) -> list[Match]:
        """Same result as :meth:`match`, evaluating every rule: the reference and the baseline."""
        context = Context(FoldedEntry(entry))
        matches: list[Match] = []
        for rule in self._rules:
            found = _judge(rule, context, self._settings)
            if found is not None and found.stopped is None:
                matches.append(found.match)
        return matches


def _root_hits(node: Node, context: Context) -> tuple[list[Hit], list[list[Hit]]] | None:
    """``evaluate(node)`` of a query's root, with the hits of each child when it is an
    :class:`And` (for :func:`_focus`); ``None`` when the query does not match."""
    if type(node) is not And:
        hits = evaluate(node, context)
        return None if hits is None else (hits, [])
    parts: list[list[Hit]] = []
    collected: list[Hit] = []
    for child in node.children:
        found = evaluate(child, context)
        if found is None:
            return None
        parts.append(found)
        collected += found
    return collected, parts


def _focus(
    node: Node,
    hits: list[Hit],
    parts: list[list[Hit]],
    context: Context,
    settings: RuleSettings,
) -> float:
    """:func:`node_focus` of a query's root from the hits :func:`_root_hits` gave, so
    that no part is evaluated twice (0 when it has none)."""
    if type(node) is And:
        values = [
            value
            for child, found in zip(node.children, parts, strict=True)
            if (value := _part_focus(child, found, context, settings)) is not None
        ]
        return min(values) if values else 0.0
    focus = _part_focus(node, hits, context, settings)
    return 0.0 if focus is None else focus


def _part_focus(
    node: Node, hits: list[Hit], context: Context, settings: RuleSettings
) -> float | None:
    """:func:`node_focus` of ``node``, given its hits."""
    if type(node) is And:
        return node_focus(node, context, settings)
    if type(node) is Not:
        return None
    return hits_focus(hits, settings) if hits else None


def _fire(program: _Program, context: Context, settings: RuleSettings) -> Match | None:
    """The match of one rule when it fires on the entry being matched: :func:`_judge`
    without building the :class:`Stop` of a stopped match, for :meth:`RuleSet.match`,
    through the rule's compiled evaluators."""
    parts: list[list[Hit]] = []
    if program.needs_focus and program.split:
        # The focus of an AND weighs each part: keep their hits apart.
        hits: list[Hit] = []
        for part in program.parts:
            found = part(context)
            if found is None:
                return None
            parts.append(found)
            hits += found
    else:
        root = program.root(context)
        if root is None:
            return None
        hits = root
    # Scored from the hits: only a match that fires needs its spans made.
    settled = settle(hits)
    rule = program.rule
    spec = rule.spec
    points = score_hits(settled)
    if points < spec.min_score:
        return None
    if program.exclude is not None and program.exclude(context) is not None:
        return None
    if program.needs_focus:
        focus = _focus(rule.query.node, hits, parts, context, settings)
        if focus < spec.min_focus:
            return None
        for evaluator in program.guards:
            if _guard_stops(evaluator(context), focus, settings):
                return None
    return _match(spec.name, points, tuple(spans_of(settled, context)))


# Final: read without a lookup in the module's dict, compiled (see evaluate.py's spans).
_MATCH_SETTERS: Final = slot_setters(Match)
_set_watch: Final = _MATCH_SETTERS[0]
_set_score: Final = _MATCH_SETTERS[1]
_set_spans: Final = _MATCH_SETTERS[2]
_blank_match: Final = blank(Match)


def _match(watch: str, points: float, spans: tuple[Span, ...]) -> Match:
    """``Match(watch, points, spans)``, the same frozen value, filled through its slots
    directly: a frozen dataclass's ``__init__`` calls ``object.__setattr__`` for each field."""
    match = _blank_match()
    _set_watch(match, watch)
    _set_score(match, points)
    _set_spans(match, spans)
    return match


def _guard_stops(
    guarded: list[Hit] | None, focus: float, settings: RuleSettings
) -> tuple[list[Hit], float] | None:
    """Given a guard's hits (``None`` when its query does not match), its hits and focus
    when its topic is at least as prominent as the watch's (``focus``), which stops the
    watch; None when it lets the watch fire."""
    if not guarded:
        return None
    guard_focus = hits_focus(guarded, settings)
    if guard_focus is None or guard_focus < settings.guard_min_focus or guard_focus < focus:
        return None
    return guarded, guard_focus


def _spans(query: CompiledQuery, context: Context) -> list[Span] | None:
    """Spans of ``query`` in the entry being matched, or ``None`` if it does not match."""
    hits = evaluate(query.node, context)
    return None if hits is None else to_spans(hits, context)


def _judge(rule: _Rule, context: Context, settings: RuleSettings) -> Verdict | None:
    """The verdict of one rule on the entry being matched; ``None`` when its query does not match."""
    root = _root_hits(rule.query.node, context)
    if root is None:
        return None
    hits, parts = root
    spans = to_spans(hits, context)
    spec = rule.spec
    match = Match(spec.name, score_listed(spans), tuple(spans))
    focus = _focus(rule.query.node, hits, parts, context, settings)
    stop = _stop(rule, match, focus, context, settings)
    return Verdict(match, focus, stop)


def _stop(
    rule: _Rule, match: Match, focus: float, context: Context, settings: RuleSettings
) -> Stop | None:
    """The first rule that stops ``match``, cheapest checks first."""
    spec = rule.spec
    if match.score < spec.min_score:
        return Stop(
            "min_score",
            f"score {match.score:g} is below min_score {spec.min_score:g}",
            figures=f"score {match.score:g} < {spec.min_score:g}",
        )
    if focus < spec.min_focus:
        return Stop(
            "min_focus",
            f"focus {focus:.2f} is below min_focus {spec.min_focus:g}",
            figures=f"focus {focus:.2f} < {spec.min_focus:g}",
        )
    if rule.exclude is not None:
        excluded = evaluate(rule.exclude.node, context)
        if excluded is not None:
            terms = ", ".join(dict.fromkeys(span.term for span in to_spans(excluded, context)))
            return Stop("exclude", f"the exclude query matched ({terms})", figures=terms)
    for guard in rule.guards:
        stopped = _guard_stops(evaluate(guard.query.node, context), focus, settings)
        if stopped is None:
            continue
        guarded, guard_focus = stopped
        where: dict[str, None] = {}
        for hit in sorted(guarded):
            where.setdefault(f"{hit[3]} ({place(hit, settings.lead_words)})", None)
        return Stop(
            "guard",
            f"{guard.name!r}, whose topic is at least as prominent as the watch's "
            f"(focus {guard_focus:.2f} against {focus:.2f}): {', '.join(list(where)[:6])}",
            guard=guard.name,
            figures=f"its focus {guard_focus:.2f} ≥ the watch's {focus:.2f}",
        )
    return None
