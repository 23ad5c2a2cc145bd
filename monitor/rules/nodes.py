"""The compiled form of a query: a small tree of immutable nodes.

The parse tree (see :mod:`monitor.rules.grammar`) still carries syntax - field
prefixes, aliases, parentheses. Compilation (:mod:`monitor.rules.compile`)
removes all of it: a field prefix is pushed down into every term beneath it as
the term's *scope*, an alias becomes an :class:`Or` of its members, and each
term is folded into its alternatives once. What is left is exactly what
evaluation (:mod:`monitor.rules.evaluate`) needs.

Leaves (:class:`Term`, :class:`LoosePhrase`) compare by identity (``eq=False``):
evaluation caches their hits per entry keyed by the node itself, and
:func:`~monitor.rules.compile.compile_node`, given the interner that
:func:`~monitor.rules.engine.compile_watches` shares across watches, hands out
one instance per distinct term: a term used by a hundred watches is looked up
once per entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, eq=False)
class Term:
    """A word, a compound, an exact phrase or a prefix (``tariff*``).

    Matches where the words of any alternative sit on consecutive positions.
    """

    text: str
    """The term as written in the query (phrases keep their quotes)."""
    alternatives: tuple[tuple[str, ...], ...]
    """Folded word sequences, any of which is a hit (see :func:`~monitor.rules.fold.alternatives`)."""
    prefix: bool
    """Whether the last word of each alternative is a prefix."""
    scope: str
    """Where to search: :data:`~monitor.rules.fields.ANY` or a query field name."""
    single: str | None = field(init=False)
    """The one plain word, when that is all the term is (the fast, common case)."""
    heads: frozenset[str] | None = field(init=False)
    """The first words of the alternatives, one of which a field must hold for a hit;
    ``None`` for a prefix term, whose first word may be a prefix."""

    def __post_init__(self) -> None:
        alternatives = self.alternatives
        simple = not self.prefix and len(alternatives) == 1 and len(alternatives[0]) == 1
        object.__setattr__(self, "single", alternatives[0][0] if simple else None)
        heads = None if self.prefix else frozenset(words[0] for words in alternatives)
        object.__setattr__(self, "heads", heads)

    @property
    def signature(self) -> tuple[str, tuple[tuple[str, ...], ...], bool, str]:
        """What makes two terms interchangeable."""
        return (self.text, self.alternatives, self.prefix, self.scope)


@dataclass(frozen=True, slots=True, eq=False)
class LoosePhrase:
    """``"a b c"~N``: every word, in any order, with at most N other positions among them."""

    text: str
    """The phrase as written, quotes and ``~N`` included."""
    parts: tuple[Term, ...]
    """One term per whitespace-separated word of the phrase (repeats allowed)."""
    slop: int
    """How many positions inside the stretch may hold other words."""
    scope: str


@dataclass(frozen=True, slots=True)
class And:
    """Every child matches. Children are ordered: terms first, NOT last."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child matches (all matching children contribute spans)."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The child does not match. Contributes no spans."""

    child: Node


@dataclass(frozen=True, slots=True)
class Near:
    """A hit of ``left`` and a hit of ``right`` in one field, at most ``distance`` words apart."""

    left: Node
    right: Node
    distance: int
    context: bool = False
    """Whether ``right`` is only a condition: then the hits are those of ``left`` alone
    (a name in context, see :mod:`monitor.rules.aliases`)."""


Node = Term | LoosePhrase | And | Or | Not | Near
