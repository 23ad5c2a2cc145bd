"""The rule index: which rules are worth evaluating for an entry.

Evaluating every rule on every entry costs O(rules) per entry. Instead, each
compiled query is summarised by its *requirements*: clauses of index keys, such
that the query can only match an entry that contains at least one key of every
clause (a conjunction of "any-of" sets). They come from the node tree:

* a term requires any one of its alternatives, and an alternative requires its
  longest word (the rarest, as a rule of thumb) - or, for ``tariff*``, the
  prefix;
* ``AND``, ``NEAR`` and a loose phrase require what each positive part requires;
* ``OR`` requires any of its children: the union of each child's best clause;
* ``NOT`` requires nothing.

Keys are strings over the folded entry's haystack (see
:meth:`FoldedEntry.haystack <monitor.rules.document.FoldedEntry.haystack>`):
``" word "`` for an exact word and ``" pre"`` for a prefix. Keys ignore field
scopes: a requirement may over-approximate, never under-approximate, so
indexed matching stays exactly equal to evaluating every rule.

Per entry, exact keys are looked up by intersecting the entry's words with
them, and prefix keys by one pyahocorasick pass over the words; each rule is
filed under the keys of its most selective clause (its *trigger*) and of its
second one (its *check*), and is a candidate when both
were found (see :class:`RuleIndex`). "Selective" is judged without corpus
statistics: fewer keys first, then longer keys. Rules without requirements
(compilation rejects such queries, so only hand-built node trees can have
them) are always candidates.

Before any of that, :meth:`RuleIndex.may_match` looks for the keys as plain
substrings of the raw texts, lower-cased and stripped of punctuation
(:func:`~monitor.rules.fold.bare_texts`): a superset of the keys the words hold,
found without working the words out. Most entries of real feeds match no
watch, and most of them stop there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from operator import itemgetter, or_
from typing import Final

import ahocorasick

from monitor.rules.fold import bare_texts
from monitor.rules.nodes import And, LoosePhrase, Near, Node, Not, Or, Term

Clause = frozenset[str]


def _term_clause(term: Term) -> Clause:
    keys: set[str] = set()
    for words in term.alternatives:
        exact = words[:-1] if term.prefix else words
        if exact:
            keys.add(f" {max(exact, key=len)} ")
        else:
            keys.add(f" {words[-1]}")
    return frozenset(keys)


def _selectivity(clause: Clause) -> tuple[int, int]:
    # Fewer keys, then longer shortest key: fewer entries trigger it.
    return (len(clause), -min(len(key) for key in clause))


def best_clause(clauses: Sequence[Clause]) -> Clause:
    """The clause expected to let the fewest entries through."""
    return min(clauses, key=_selectivity)


def requirements(node: Node) -> tuple[Clause, ...]:
    """Clauses that every entry matching ``node`` satisfies (empty: no requirement)."""
    if isinstance(node, Term):
        return (_term_clause(node),)
    if isinstance(node, LoosePhrase):
        return tuple(dict.fromkeys(_term_clause(part) for part in node.parts))
    if isinstance(node, And | Near):
        parts = node.children if isinstance(node, And) else (node.left, node.right)
        return tuple(dict.fromkeys(clause for part in parts for clause in requirements(part)))
    if isinstance(node, Or):
        union: set[str] = set()
        for child in node.children:
            clauses = requirements(child)
            if not clauses:
                return ()
            union.update(best_clause(clauses))
        return (frozenset(union),)
    return ()


def leaf_scopes(node: Node) -> set[str]:
    """The scopes of every term under ``node``."""
    if isinstance(node, Term | LoosePhrase):
        return {node.scope}
    if isinstance(node, And | Or):
        return set().union(*(leaf_scopes(child) for child in node.children))
    if isinstance(node, Near):
        return leaf_scopes(node.left) | leaf_scopes(node.right)
    if isinstance(node, Not):
        return leaf_scopes(node.child)
    return set()


def _positions(mask: int) -> list[int]:
    """The positions of the bits set in ``mask``, ascending."""
    found: list[int] = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


_WORD_MASKS_LIMIT: Final = 1 << 16
"""Words whose keys an index keeps (a few MB at most)."""


class RuleIndex:
    """Finds the candidate rules for an entry from its words.

    Each rule is filed under the keys of two clauses at most: its most
    selective clause (the *trigger*) and the next one (the *check*). A rule is
    a candidate when the entry holds a key of each. Any further clause is left
    to evaluation: the index may over-approximate, never under-approximate.

    Rules are bits of Python integers (bit ``i`` is rule ``i``): each key has
    a mask of the rules it satisfies alone (*direct*), triggers and checks,
    packed into one integer (direct in bits ``0..n-1``, triggers in
    ``n..2n-1``, checks from ``2n``). Exact keys are found by looking the word
    up, prefix keys by a pyahocorasick pass over it; the packed masks of every
    key a word holds are OR-ed together once per distinct word and kept
    (:meth:`_learn`). An entry's words' masks are then OR-ed together - Python
    never loops over rules - and its candidates are ``direct | (triggered &
    checked)`` of the result.

    Built once from the requirements of every rule (by position); its only
    state afterwards is that memo of word masks.
    """

    __slots__ = (
        "_always",
        "_automaton",
        "_exact",
        "_full",
        "_letters",
        "_masks",
        "_masks_limit",
        "_pieces",
        "_width",
    )

    def __init__(
        self,
        rule_requirements: Sequence[tuple[Clause, ...]],
        masks_limit: int = _WORD_MASKS_LIMIT,
    ) -> None:
        # Per key: rules for which finding it is enough (their only clause),
        # rules it triggers (trigger clause) and rules it checks (check clause),
        # each shifted to its third of the packed mask.
        width = len(rule_requirements)
        packed: dict[str, int] = {}
        always = 0
        for rule, clauses in enumerate(rule_requirements):
            bit = 1 << rule
            if not clauses:
                always |= bit
                continue
            trigger = best_clause(clauses)
            others = [clause for clause in clauses if clause != trigger]
            role = bit << width if others else bit
            for key in trigger:
                packed[key] = packed.get(key, 0) | role
            if others:
                for key in best_clause(others):
                    packed[key] = packed.get(key, 0) | bit << (2 * width)
        self._width = width
        self._full = (1 << width) - 1
        self._always = always
        automaton: ahocorasick.Automaton | None = None
        prefixes = [key for key in packed if not key.endswith(" ")]
        if prefixes:
            automaton = ahocorasick.Automaton()
            for key in prefixes:
                automaton.add_word(key, packed[key])
            automaton.make_automaton()
        # Exact keys (" word ") by their word.
        self._exact = {key[1:-1]: mask for key, mask in packed.items() if key.endswith(" ")}
        self._automaton = automaton
        self._masks: dict[str, int] = {}
        """The packed mask of every word met so far (see :meth:`_learn`)."""
        self._masks_limit = masks_limit
        """How many words :attr:`_masks` holds before it is emptied and starts again."""
        # Every key as bare text, exact and prefix keys alike, for may_match; keys of one
        # character ("u" of "U.S.") are looked for in the spaced text instead, at a word's
        # start: in the bare text they would be met in most words.
        pieces: dict[str, int] = {}
        letters: dict[str, int] = {}
        for key, mask in packed.items():
            piece = key.strip()
            if len(piece) == 1:  # " u " a word, " u" a word's start
                letters[key] = letters.get(key, 0) | mask
            else:
                pieces[piece] = pieces.get(piece, 0) | mask
        self._letters = tuple(letters.items())
        self._pieces: ahocorasick.Automaton | None = None
        if pieces:
            self._pieces = ahocorasick.Automaton()
            for piece, mask in pieces.items():
                self._pieces.add_word(piece, mask)
            self._pieces.make_automaton()

    def candidates(self, haystack: str) -> list[int]:
        """Positions of the rules that may match an entry with this haystack, ascending.

        ``haystack`` is the entry's words, each wrapped in spaces (see
        :meth:`FoldedEntry.haystack <monitor.rules.document.FoldedEntry.haystack>`).
        """
        return self.candidates_of(set(haystack.split()))

    def may_match(self, texts: Iterable[str]) -> bool:
        """False only when no rule can be a candidate for an entry whose searched fields
        hold ``texts`` (raw, before any folding): most entries match no watch, and this
        answers for them before their words are worked out (:meth:`text_candidates`)."""
        mask = self._text_mask(texts)
        return mask is None or bool(mask)

    def text_candidates(self, texts: Iterable[str]) -> list[int] | None:
        """Positions of the rules that may match an entry whose searched fields hold
        ``texts``: a superset of :meth:`candidates_of` its words, read off the raw texts;
        ``None`` when a text has a letter that needs folding (the words decide).

        Each key is looked for as a substring of each text's bare form (:func:`bare_texts`),
        a key of one character at a word's start in its spaced form. A key that is one of
        the entry's words, or begins one, is found so, so the keys found are a superset of
        those the words hold, and so are the candidates (more keys never make fewer).
        """
        mask = self._text_mask(texts)
        return None if mask is None else _positions(mask)

    def _text_mask(self, texts: Iterable[str]) -> int | None:
        pieces, letters = self._pieces, self._letters
        found = 0
        for text in texts:
            views = bare_texts(text)
            if views is None:
                return None
            bare, spaced = views
            if pieces is not None:
                # In C: many keys are met more than once in a text.
                found = reduce(or_, map(itemgetter(1), pieces.iter(bare)), found)
            for needle, mask in letters:
                if needle in spaced:
                    found |= mask
        width = self._width
        return (found | (found >> width) & (found >> (2 * width))) & self._full | self._always

    def candidates_of(self, words: Iterable[str]) -> list[int]:
        """Positions of the rules that may match an entry holding these edge words, ascending.

        A word may come more than once (OR-ing its keys again changes nothing).
        """
        return self.candidates_in((words,))

    def candidates_in(self, vocabularies: Iterable[Iterable[str]]) -> list[int]:
        """:meth:`candidates_of` the words of all these collections (an entry's fields)."""
        # A plain loop over a plain dict: compiled, it beats reduce() over filter() over
        # map() in C, which pays a call through a bound method and an argument tuple a
        # word (and a dict subclass's lookup goes through PyObject_GetItem).
        masks = self._masks
        found = 0
        for words in vocabularies:
            for word in words:
                mask = masks.get(word)
                if mask is None:
                    mask = self._learn(word)
                if mask:  # most words hold no key
                    found |= mask
        width = self._width
        triggered = (found >> width) & (found >> (2 * width))
        return _positions((found | triggered) & self._full | self._always)

    def _learn(self, word: str) -> int:
        """The packed mask of every key ``word`` holds, worked out and kept.

        A word holds the exact key of itself and the prefix keys that begin it, and
        nothing else: keys never cross a space. So an entry's keys are the union of
        its words' keys, and a word's can be worked out once and kept: news repeats
        its words, and most are met again in the next entries. Bounded: emptied when
        full. Each value is a function of the word and the (immutable) index, so a
        lost one is only worked out again.
        """
        mask = self._exact.get(word, 0)
        if self._automaton is not None:
            for _end, more in self._automaton.iter(" " + word):
                mask |= more
        if len(self._masks) >= self._masks_limit:
            self._masks.clear()
        self._masks[word] = mask
        return mask
