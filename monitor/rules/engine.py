"""The watch-rule engine: compile watches once, match entries many times.

Pipeline of one :meth:`RuleSet.match` call::

    Entry --FoldedEntry (each field folded once)--> haystack of its words
          --RuleIndex (one Aho-Corasick pass)--> candidate rules
          --evaluate each candidate's node tree--> hits --> spans, score
          --min_score, exclude query--> Match per watch that fired

Matching is a pure function of the entry: nothing is cached between calls, and
the per-call leaf cache only lets rules that share a term look it up once.

:meth:`RuleSet.match_unindexed` evaluates every rule instead of consulting the
index. It is the reference the index must agree with exactly (see the tests)
and the baseline of ``bench/rules.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from monitor.errors import RuleError
from monitor.rules.compile import Interner, compile_node
from monitor.rules.document import FoldedEntry
from monitor.rules.evaluate import Context, evaluate, to_spans
from monitor.rules.fields import BODY_FIELDS, FIELD_ORDER, scope_fields
from monitor.rules.grammar import QuerySyntaxError
from monitor.rules.index import Clause, RuleIndex, leaf_scopes, requirements
from monitor.rules.nodes import Node
from monitor.rules.score import score
from monitor.types import Entry, Match, Span

NO_ALIASES: Mapping[str, Sequence[str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class WatchSpec:
    """A watch as the configuration declares it."""

    name: str
    query: str
    exclude: str | None = None
    """A query; an entry matching it is dropped for this watch."""
    min_score: float = 0.0
    """Matches scoring below this are dropped (see :mod:`monitor.rules.score`)."""


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


def _compile(query: str, aliases: Mapping[str, Sequence[str]], interner: Interner) -> CompiledQuery:
    node = compile_node(query, aliases, interner)
    return CompiledQuery(query, node, requirements(node))


def compile_query(query: str, aliases: Mapping[str, Sequence[str]] = NO_ALIASES) -> CompiledQuery:
    """Compile one query; raise :class:`RuleSyntaxError` or :class:`RuleError` if it is invalid."""
    return _compile(query, aliases, {})


@dataclass(frozen=True, slots=True)
class _Rule:
    spec: WatchSpec
    query: CompiledQuery
    exclude: CompiledQuery | None


def _compile_part(
    spec: WatchSpec,
    part: str,
    text: str,
    aliases: Mapping[str, Sequence[str]],
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
    watches: Sequence[WatchSpec], aliases: Mapping[str, Sequence[str]] = NO_ALIASES
) -> RuleSet:
    """Compile every watch into a :class:`RuleSet`.

    Raises :class:`RuleError` (or :class:`RuleSyntaxError`) naming the first
    watch that cannot be compiled: a bad query or exclude query, a repeated or
    empty name, a ``min_score`` that is not a finite number.
    """
    interner: Interner = {}
    rules: list[_Rule] = []
    seen: set[str] = set()
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
        query = _compile_part(spec, "query", spec.query, aliases, interner)
        exclude = None
        if spec.exclude is not None:
            exclude = _compile_part(spec, "exclude", spec.exclude, aliases, interner)
        rules.append(_Rule(spec, query, exclude))
    return RuleSet(rules)


class RuleSet:
    """Compiled watches plus their index. Immutable once built; share it freely.

    Build it with :func:`compile_watches`.
    """

    __slots__ = ("_haystack_fields", "_index", "_rules")

    def __init__(self, rules: Sequence[_Rule]) -> None:
        self._rules = tuple(rules)
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

    def match(self, entry: Entry) -> list[Match]:
        """One :class:`Match` per watch that fired on ``entry``, in watch order."""
        context = Context(FoldedEntry(entry))
        matches: list[Match] = []
        haystack = context.doc.haystack(self._haystack_fields)
        for position in self._index.candidates(haystack):
            found = _fire(self._rules[position], context)
            if found is not None:
                matches.append(found)
        return matches

    def match_unindexed(self, entry: Entry) -> list[Match]:
        """Same result as :meth:`match`, evaluating every rule: the reference and the baseline."""
        context = Context(FoldedEntry(entry))
        matches: list[Match] = []
        for rule in self._rules:
            found = _fire(rule, context)
            if found is not None:
                matches.append(found)
        return matches


def _spans(query: CompiledQuery, context: Context) -> list[Span] | None:
    """Spans of ``query`` in the entry being matched, or ``None`` if it does not match."""
    hits = evaluate(query.node, context)
    return None if hits is None else to_spans(hits, context)


def _fire(rule: _Rule, context: Context) -> Match | None:
    """The match of one rule on the entry being matched, if it fires."""
    spans = _spans(rule.query, context)
    if spans is None:
        return None
    points = score(spans)
    if points < rule.spec.min_score:
        return None
    if rule.exclude is not None and evaluate(rule.exclude.node, context) is not None:
        return None
    return Match(rule.spec.name, points, tuple(spans))
