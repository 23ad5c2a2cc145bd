"""The query language's grammar, and the mapping of lark's errors onto ours.

Syntax, Lucene/Elasticsearch query-string style plus proximity::

    tariff  "trade war"  tariff*  export+  @usmca  "trade talks"~5
    a AND b      a b          (adjacent terms mean AND)
    a OR b       NOT a        -a
    (a OR b) NEAR/15 (c OR d)
    title:a  summary:(a OR b)  source:reuters  url:cbc.ca  lang:fr

Operators are recognised in UPPERCASE only: ``AND``, ``OR``, ``NOT``, ``NEAR/n``.
Lower-case ``and``/``or``/``not``/``near`` are ordinary words, so a title such
as "rock and roll" can be pasted as a phrase or as terms without surprises.
Uppercase operators are reserved everywhere (``canada OR OR mexico`` is an
error, not a search for the word "or"); to search for the word "OR" itself,
quote it (``"OR"``) or write it in lower case. A bare ``NEAR`` without ``/n``
is rejected rather than silently read as a word. Keywords only count as such
when they stand alone: ``ANDROID`` and ``NOTE`` are words.

Precedence, loosest first: ``OR``; ``AND`` and adjacency; ``NOT``/``-``;
``NEAR/n``; a field prefix; a term or parenthesised group. So
``a b OR c`` is ``(a AND b) OR c``, ``NOT a NEAR/5 b`` is ``NOT (a NEAR/5 b)``
(``-`` is just another spelling of ``NOT``), ``a NEAR/5 b NEAR/9 c`` groups to
the left, and ``title:a b`` restricts only ``a``.

A bare term is any run of characters other than whitespace, parentheses,
double quotes and ``~``; it may not start with ``-`` (that is ``NOT``), ``@``
(an alias) or ``:``. A leading ``+`` (Lucene's "required") is harmless: it
folds away and adjacency already means AND. A trailing ``+`` after a letter or
digit asks for the word's forms (``export+``, see :mod:`monitor.rules.forms`);
the compiler reads it, the grammar keeps it part of the word. A word followed by a colon is a
field prefix, so URLs are written quoted (``url:"https://example.com/a"``) or
as words (``url:example.com``).

The parser is LALR with lark's basic lexer (the contextual one would quietly
read a misplaced ``OR`` as a word): linear time, no backtracking.
Every lark error becomes a :class:`QuerySyntaxError` with the 0-based position
and a readable list of what was expected there.
"""

from __future__ import annotations

from lark import Lark, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken
from lark.lexer import Token

from monitor.errors import RuleSyntaxError

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: unary (_AND? unary)*
?unary: (NOT | MINUS) unary -> negation
      | near_expr
?near_expr: fielded (NEAR fielded)*
?fielded: FIELD fielded -> field
        | atom
?atom: _LPAR or_expr _RPAR
     | WORD -> word
     | PHRASE SLOP? -> phrase
     | ALIAS -> alias

// Keywords must end where a term would end, so that ANDROID or NOTE stay words.
_OR.3: /OR(?=[\s()"]|$)/
_AND.3: /AND(?=[\s()"]|$)/
NOT.3: /NOT(?=[\s()"]|$)/
NEAR.3: /NEAR(?:\/[^\s()"]*)?(?=[\s()"]|$)/
MINUS.3: /-(?=\S)/
FIELD.2: /[A-Za-z_]+:/
ALIAS.2: /@[^\s()":~]*/
PHRASE: /"[^"]*"/
SLOP: /~[0-9]+/
WORD: /[^\s()"\-@:~][^\s()"~]*/
_LPAR: "("
_RPAR: ")"

%ignore /\s+/
"""

_PARSER = Lark(GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True)

_READABLE = {
    "WORD": "a term",
    "PHRASE": 'a "phrase"',
    "ALIAS": "an @alias",
    "FIELD": "a field prefix",
    "_LPAR": "'('",
    "LPAR": "'('",
    "_RPAR": "')'",
    "RPAR": "')'",
    "NOT": "NOT",
    "MINUS": "'-'",
    "_AND": "AND",
    "_OR": "OR",
    "NEAR": "NEAR/n",
    "SLOP": "~n",
    "$END": "the end of the query",
}


class QuerySyntaxError(RuleSyntaxError):
    """A :class:`RuleSyntaxError` that also keeps its bare reason.

    ``reason`` is the message without the position and pointer that
    :class:`RuleSyntaxError` appends, so a caller can re-raise it with more
    context (the watch name) without repeating them.
    """

    def __init__(self, reason: str, query: str, position: int, expected: str = "") -> None:
        self.reason = reason
        super().__init__(reason, query, position, expected)


def _expected(names: set[str] | frozenset[str] | None) -> str:
    readable = {_READABLE.get(name, name) for name in names or ()}
    return ", ".join(sorted(readable))


def _with_expected(reason: str, expected: str) -> str:
    return f"{reason}; expected {expected}" if expected else reason


def parse(query: str) -> Tree[Token]:
    """Parse ``query`` into a lark tree; raise :class:`QuerySyntaxError` if it is not valid."""
    try:
        return _PARSER.parse(query)
    except UnexpectedCharacters as error:
        position = error.pos_in_stream or 0
        expected = _expected(error.allowed)
        if query[position] == '"':
            reason, expected = "unclosed quote", "a closing '\"'"
        else:
            reason = f"unexpected character {query[position]!r}"
        raise QuerySyntaxError(
            _with_expected(reason, expected), query, position, expected
        ) from None
    except UnexpectedToken as error:
        expected = _expected(error.expected)
        token = error.token
        if token.type == "$END":
            position, reason = len(query), "unexpected end of query"
        else:
            position = token.start_pos if token.start_pos is not None else 0
            reason = f"unexpected {str(token)!r}"
        raise QuerySyntaxError(
            _with_expected(reason, expected), query, position, expected
        ) from None
    except UnexpectedEOF as error:
        expected = _expected(set(error.expected))
        raise QuerySyntaxError(
            _with_expected("unexpected end of query", expected), query, len(query), expected
        ) from None
    except LarkError as error:  # pragma: no cover - lark raises the three above for input errors
        raise QuerySyntaxError(f"cannot parse query ({error})", query, 0) from error
