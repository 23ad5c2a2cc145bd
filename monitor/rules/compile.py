"""From query text to a tree of :mod:`~monitor.rules.nodes`.

Compilation does every check that does not depend on an entry, so that a bad
watch fails at config load, never while matching:

* syntax (via :func:`~monitor.rules.grammar.parse`), unknown fields and aliases,
  malformed ``NEAR``, wildcards anywhere but at the end of a term, terms that
  fold to nothing (``&``), absurd nesting;
* *positivity*: a query must contain something that has to be present. A query
  made only of ``NOT`` (or ``x OR NOT y``) would match nearly every entry,
  carry no span to explain why, and defeat the index, so it is an error. Each
  side of a ``NEAR`` must be positive too: ``NEAR`` pairs hits, and a negation
  has none.

Every error is a :class:`~monitor.rules.grammar.QuerySyntaxError` (a
:class:`~monitor.errors.RuleSyntaxError`) carrying the 0-based position in the
query, except those about the query as a whole (empty, too long, not positive),
which are plain :class:`~monitor.errors.RuleError`.

Aliases: ``@name`` looks the group up case-insensitively (a leading ``@`` in
the alias table's keys is ignored) and becomes an ``OR``
of its members. A member containing whitespace is a phrase; otherwise it is a
term like a bare query word (so ``tariff*`` works as a member). Members are
not parsed as queries: an alias is a list of names for one thing, not a
sub-query. The span of a member's hit carries the member as written.
"""

from __future__ import annotations

import re

from lark import Tree
from lark.lexer import Token

from monitor.errors import RuleError
from monitor.rules.aliases import DEFAULT_WITHIN, Aliases, ContextMember
from monitor.rules.fields import ANY, QUERY_SCOPES
from monitor.rules.fold import alternatives, query_compounds
from monitor.rules.forms import MIN_STEM, word_forms
from monitor.rules.grammar import QuerySyntaxError, parse
from monitor.rules.nodes import And, LoosePhrase, Near, Node, Not, Or, Term

MAX_QUERY_LENGTH = 10_000
"""Longer queries are rejected: no sane watch needs one, and it bounds compile time."""

MAX_DEPTH = 64
"""Deepest nesting of groups and operators accepted."""

MAX_DISTANCE = 1_000
"""Largest ``NEAR/n`` distance or phrase slop accepted."""

MIN_PREFIX = 2
"""Letters or digits a wildcard term needs before ``*`` (``t*`` would match nearly anything)."""

_NEAR_RE = re.compile(r"NEAR/([0-9]+)")

Interner = dict[tuple[str, tuple[tuple[str, ...], ...], bool, str], Term]


def is_positive(node: Node) -> bool:
    """Whether ``node`` can only match when at least one of its terms hits."""
    if isinstance(node, Term | LoosePhrase | Near):
        return True
    if isinstance(node, And):
        return any(is_positive(child) for child in node.children)
    if isinstance(node, Or):
        return all(is_positive(child) for child in node.children)
    return False


def _order(node: Node) -> int:
    # Inside AND, cheap leaf lookups go first and NOT last: evaluation stops at
    # the first child that fails, and a NOT can only fail after a full search.
    if isinstance(node, Term | LoosePhrase):
        return 0
    if isinstance(node, Not):
        return 2
    return 1


class _Compiler:
    def __init__(self, query: str, aliases: Aliases, interner: Interner) -> None:
        self.query = query
        # Alias names are case-insensitive, and a config may spell them with the @.
        self.aliases = {name.lstrip("@").casefold(): members for name, members in aliases.items()}
        self.interner = interner

    def error(self, reason: str, position: int, expected: str = "") -> QuerySyntaxError:
        return QuerySyntaxError(reason, self.query, position, expected)

    def term(self, text: str, compounds: list[list[str]], prefix: bool, scope: str) -> Term:
        term = Term(text, alternatives(compounds), prefix, scope)
        return self.interner.setdefault(term.signature, term)

    def node(self, tree: Tree[Token] | Token, scope: str, depth: int) -> Node:
        if isinstance(tree, Token):  # pragma: no cover - the grammar wraps every token
            raise self.error(f"unexpected {str(tree)!r}", tree.start_pos or 0)
        position = tree.meta.start_pos if not tree.meta.empty else 0
        if depth > MAX_DEPTH:
            raise self.error(f"query is nested more than {MAX_DEPTH} levels deep", position)
        kind = tree.data
        children = tree.children
        if kind == "word":
            return self.word(_token(children[0]), scope)
        if kind == "phrase":
            slop = _token(children[1]) if len(children) > 1 else None
            return self.phrase(_token(children[0]), slop, scope)
        if kind == "alias":
            return self.alias(_token(children[0]), scope)
        if kind == "field":
            return self.field(_token(children[0]), children[1], depth)
        if kind == "negation":
            negated = self.node(children[1], scope, depth + 1)
            # NOT NOT a is a: keeps "-(-a)" positive instead of rejecting it.
            return negated.child if isinstance(negated, Not) else Not(negated)
        if kind == "near_expr":
            return self.near(children, scope, depth)
        if kind in ("and_expr", "or_expr"):
            parts: list[Node] = []
            flat = And if kind == "and_expr" else Or
            for operand in children:
                compiled = self.node(operand, scope, depth + 1)
                # (a b) c is a b c: flattening keeps trees shallow and AND's
                # child ordering global.
                parts.extend(compiled.children if isinstance(compiled, flat) else (compiled,))
            if flat is And:
                return And(tuple(sorted(parts, key=_order)))
            return Or(tuple(parts))
        raise self.error(f"unexpected {kind}", position)  # pragma: no cover

    def word(self, token: Token, scope: str) -> Term:
        text = str(token)
        position = token.start_pos or 0
        if text == "NEAR" or text.startswith("NEAR/"):
            raise self.error("NEAR needs a term on each side and a distance", position, "NEAR/n")
        return self.bare_term(text, scope, position)

    def bare_term(self, text: str, scope: str, position: int) -> Term:
        """A word as written in a query or an alias: plain, ``prefix*`` or ``forms+``."""
        forms = _is_forms(text)
        body = text[:-1] if forms else text
        stem = body.rstrip("*")
        prefix = stem != body
        if text.endswith("*+") or (prefix and forms):
            raise self.error(f"term {text!r} is either a prefix* or forms+, not both", position)
        if "*" in stem:
            raise self.error(
                "a wildcard * may only end a term", position + stem.index("*"), "letters or digits"
            )
        compounds = query_compounds(stem)
        if not compounds:
            raise self.error(f"term {text!r} has no letters or digits", position)
        if prefix and sum(len(word) for parts in compounds for word in parts) < MIN_PREFIX:
            raise self.error(
                f"wildcard term {text!r} needs at least {MIN_PREFIX} letters before *",
                position,
            )
        if not forms:
            return self.term(text, compounds, prefix, scope)
        if len(compounds[-1][-1]) < MIN_STEM:
            raise self.error(
                f"word forms {text!r} need at least {MIN_STEM} letters before +", position
            )
        inflected = tuple(
            (*words[:-1], form)
            for words in alternatives(compounds)
            for form in word_forms(words[-1])
        )
        term = Term(text, tuple(dict.fromkeys(inflected)), False, scope)
        return self.interner.setdefault(term.signature, term)

    def phrase(self, token: Token, slop_token: Token | None, scope: str) -> Node:
        text = str(token)
        position = token.start_pos or 0
        inner = text[1:-1]
        if slop_token is None:
            compounds = query_compounds(inner)
            if not compounds:
                raise self.error(f"phrase {text!r} has no letters or digits", position)
            return self.term(text, compounds, False, scope)
        slop = int(str(slop_token)[1:])
        if slop > MAX_DISTANCE:
            raise self.error(
                f"phrase slop {slop} is larger than {MAX_DISTANCE}", slop_token.start_pos or 0
            )
        full = text + str(slop_token)
        chunks = [compounds for chunk in inner.split() if (compounds := query_compounds(chunk))]
        if not chunks:
            raise self.error(f"phrase {text!r} has no letters or digits", position)
        parts = tuple(self.term(full, compounds, False, scope) for compounds in chunks)
        if len(parts) == 1:
            return parts[0]
        return LoosePhrase(full, parts, slop, scope)

    def alias(self, token: Token, scope: str) -> Node:
        text = str(token)
        position = token.start_pos or 0
        name = text[1:]
        if not name:
            raise self.error("alias name missing after @", position + 1, "an alias name")
        members = self.aliases.get(name.casefold())
        if members is None:
            known = ", ".join(sorted(f"@{key}" for key in self.aliases)) or "none defined"
            raise self.error(f"unknown alias {text!r}", position, f"one of {known}")
        if isinstance(members, str) or not members:
            raise self.error(f"alias {text!r} has no members (it needs a list of terms)", position)
        # Members that fold alike (Mexico, México) are one term: they hit the
        # same words, and counting both would score one mention twice.
        distinct: dict[object, Node] = {}
        for member in members:
            if isinstance(member, str):
                term = self.member(text, member, scope, position)
                distinct.setdefault((term.alternatives, term.prefix), term)
            else:
                node = self.in_context(text, member, scope, position)
                distinct.setdefault(node, node)
        unique = list(distinct.values())
        return unique[0] if len(unique) == 1 else Or(tuple(unique))

    def member(self, alias: str, member: object, scope: str, position: int) -> Term:
        """One alias member: a phrase when it holds a space, else a word, prefix* or forms+."""
        if not isinstance(member, str):
            raise self.error(f"alias {alias!r}: member {member!r} is not a string", position)
        if any(char.isspace() for char in member.strip()):
            compounds = query_compounds(member)
            if not compounds:
                raise self.error(f"alias {alias!r}: member {member!r} has no letters", position)
            return self.term(member, compounds, False, scope)
        word = member.strip()
        stem = (word[:-1] if _is_forms(word) else word).rstrip("*")
        if "*" in stem or not query_compounds(stem):
            raise self.error(
                f"alias {alias!r}: member {member!r} is not a word, phrase, prefix* or forms+",
                position,
            )
        return self.bare_term(word, scope, position)

    def in_context(self, alias: str, member: ContextMember, scope: str, position: int) -> Node:
        """A name that only counts near one of its context terms (see :mod:`.aliases`)."""
        name = self.member(alias, member.term, scope, position)
        near = [self.member(alias, word, scope, position) for word in member.near]
        if not near:
            raise self.error(
                f"alias {alias!r}: member {member.term!r} needs at least one term in 'near'",
                position,
            )
        within = DEFAULT_WITHIN if member.within is None else member.within
        if (
            isinstance(within, bool)
            or not isinstance(within, int)
            or not 0 <= within <= MAX_DISTANCE
        ):
            raise self.error(
                f"alias {alias!r}: member {member.term!r}: 'within' must be a whole number "
                f"from 0 to {MAX_DISTANCE}",
                position,
            )
        context = near[0] if len(near) == 1 else Or(tuple(dict.fromkeys(near)))
        return Near(name, context, within, context=True)

    def field(self, token: Token, child: Tree[Token] | Token, depth: int) -> Node:
        name = str(token)[:-1].lower()
        if name not in QUERY_SCOPES:
            expected = "one of " + ", ".join(f"{scope}:" for scope in QUERY_SCOPES)
            raise self.error(f"unknown field {name!r}", token.start_pos or 0, expected)
        # The innermost prefix wins: summary:(a title:b) searches b in the title.
        return self.node(child, name, depth + 1)

    def near(self, children: list[Tree[Token] | Token], scope: str, depth: int) -> Node:
        left = self.operand(children[0], scope, depth)
        for index in range(1, len(children), 2):
            token = _token(children[index])
            found = _NEAR_RE.fullmatch(str(token))
            position = token.start_pos or 0
            if found is None:
                raise self.error("NEAR needs a distance", position, "NEAR/n, e.g. NEAR/10")
            distance = int(found.group(1))
            if depth + index // 2 > MAX_DEPTH:
                # A NEAR chain nests to the left: a NEAR b NEAR c is (a NEAR b) NEAR c.
                raise self.error(f"query is nested more than {MAX_DEPTH} levels deep", position)
            if distance > MAX_DISTANCE:
                raise self.error(
                    f"NEAR distance {distance} is larger than {MAX_DISTANCE}", position
                )
            right = self.operand(children[index + 1], scope, depth)
            left = Near(left, right, distance)
        return left

    def operand(self, tree: Tree[Token] | Token, scope: str, depth: int) -> Node:
        node = self.node(tree, scope, depth + 1)
        if not is_positive(node):
            position = tree.meta.start_pos if isinstance(tree, Tree) and not tree.meta.empty else 0
            raise self.error("each side of NEAR/n needs a term that must be present", position)
        return node


def _is_forms(text: str) -> bool:
    """Whether ``text`` ends in the forms operator: one ``+`` after a letter or digit ("C++" is a word)."""
    return len(text) > 1 and text.endswith("+") and text[-2].isalnum()


def _token(child: Tree[Token] | Token) -> Token:
    if not isinstance(child, Token):  # pragma: no cover - guaranteed by the grammar
        raise RuleError("malformed parse tree")
    return child


def compile_node(query: str, aliases: Aliases, interner: Interner | None = None) -> Node:
    """Compile ``query`` into a positive node tree, or raise a :class:`RuleError`.

    ``interner`` lets several queries share :class:`Term` instances (see
    :mod:`monitor.rules.nodes`); by default the query gets its own.
    """
    if not isinstance(query, str):
        raise RuleError(f"a query must be a string, not {type(query).__name__}")
    if len(query) > MAX_QUERY_LENGTH:
        raise RuleError(f"query is longer than {MAX_QUERY_LENGTH} characters")
    if not query.strip():
        raise RuleError("empty query: a watch needs at least one term")
    tree = parse(query)
    compiler = _Compiler(query, aliases, {} if interner is None else interner)
    node = compiler.node(tree, ANY, 0)
    if not is_positive(node):
        raise RuleError(
            f"query {query!r} needs a term that must be present: a query made only of "
            "NOT (or of 'x OR NOT y') would match nearly every entry"
        )
    return node
