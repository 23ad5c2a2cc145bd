"""Folding: how entry text and query terms become comparable words.

Matching is case-, accent- and punctuation-insensitive. Rather than folding a
whole string (which changes its length and loses track of where things were),
the text is cut into *tokens* first - maximal runs of letters and digits
(combining accents included) of the original string, or of its lower-cased
copy when that has the same length - and each token is folded on its own. A
token keeps the character offsets of its run, so a hit on any sequence of
tokens maps straight back to ``text[start:end]`` of the original: the token
offsets (computed on first use, :meth:`FoldedField.offsets`) are the offset
map. A span therefore covers letters and digits, not surrounding punctuation:
the hit of ``U.S.`` in "the U.S. said" is "U.S".

Folding a token: Unicode case folding, compatibility decomposition (NFKD),
dropping every character that is not a letter or digit (which removes the
combining accents NFKD split off: ``México`` -> ``mexico``) and a few letters
that have no decomposition (``ø``, ``ł``, ``æ``...). Lower-cased ASCII tokens,
the common case, are already folded. Scripts written without spaces (Chinese,
Japanese, Thai) come out as long tokens: matching inside them is out of scope.

Punctuation. ``T-MEC``, ``U.S.`` and ``Carney's`` are written with and without
their punctuation, so one written form must match the others:

* In the entry, tokens separated by exactly one non-space character form a
  *compound* (``U.S.``, ``T-MEC``, ``Canada-U.S.``). Besides its single tokens, a
  compound contributes *joined* words for every run of 2 to :data:`MAX_JOIN`
  adjacent parts (``us``, ``tmec``, ``canadau``, ``canadaus``...). A token and a
  joined word are both *edges* of a little word lattice: an edge has a word
  and covers positions ``first..last``.
* In a query, a compound is expanded into every way of grouping its adjacent
  parts (``T-MEC`` -> ``t mec`` or ``tmec``), giving a term its *alternatives*.

So ``"T-MEC"`` matches "T-MEC" and "T MEC" (split) and "TMEC" (joined), ``US``
matches "U.S." (a joined edge), and ``U.S.`` matches "US". A term is only ever
compared with whole edges, so ``US`` never matches inside "bus" or "USA".

Positions count tokens, not characters; proximity is measured in them.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache
from typing import Any, Final

from monitor.rules.scan import ascii_scan, token_bounds

MAX_JOIN: Final = 3
"""Longest run of compound parts that is also indexed as one joined word."""

_MAX_GROUPED_PARTS: Final = 4
"""Compounds with more parts than this only get the all-split and all-joined forms."""

_MAX_ALTERNATIVES: Final = 64
"""A term never expands into more alternatives than this."""

# A token - letters and digits, plus combining marks so that text in decomposed
# form ("e" + U+0301) stays one token instead of splitting at every accent -
# and, in a second group, the one separator character that ties it to the next
# token when there is one (a non-space, non-letter character directly followed
# by a letter or digit). findall() on this yields everything the lattice needs
# in a single C-level pass.
_TOKEN: Final = r"(?:[^\W_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+"
_TOKEN_RE: Final = re.compile(rf"({_TOKEN})((?:[^\w\s]|_)(?=[^\W_]))?")

# Letters NFKD leaves alone but readers treat as plain Latin letters.
_EXTRA_FOLDS: Final = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"}
)


@lru_cache(maxsize=65536)
def fold_word(raw: str) -> str:
    """Fold one run of letters and digits (see the module docstring)."""
    if raw.isascii():
        return "".join(ch for ch in raw.lower() if ch.isalnum())
    text = unicodedata.normalize("NFKD", raw.casefold().translate(_EXTRA_FOLDS))
    # Case-fold again: a few compatibility characters decompose to capitals.
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _scan_source(text: str) -> tuple[str, bool]:
    """The string to tokenise, and whether it is ``text`` lower-cased.

    Lower-casing first (when that keeps every offset) lets ASCII tokens skip
    folding; the rare texts whose lower-casing changes length (Turkish dotted
    capital I) are tokenised as they are and every token folded.
    """
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered, True
    return text, False


def _scan(text: str) -> tuple[list[str], list[int]]:
    """Folded tokens of ``text``, and the positions of the tokens that join the next one.

    A token that folds to nothing (a stray combining mark) stays in the list as
    ``""`` so that positions keep matching the regex's matches, which is how
    offsets are recovered later; ``""`` never equals a query word.
    """
    source, lowered = _scan_source(text)
    words: list[str] = []
    joins: list[int] = []
    # Tokens never span whitespace, so the text is cut with the (C-speed)
    # str.split first; most pieces are a bare word and skip the regex, which
    # runs only on the pieces with punctuation ("year," "U.S." "T-MEC").
    for piece in source.split():
        if piece.isalnum():
            words.append(piece if lowered and piece.isascii() else fold_word(piece))
            continue
        for word, separator in _TOKEN_RE.findall(piece):
            if separator:
                joins.append(len(words))
            words.append(word if lowered and word.isascii() else fold_word(word))
    return words, joins


_ASCII_TOKEN_RE: Final = re.compile(r"[a-z0-9]+")


def _offsets(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every token :func:`_scan` finds, in the same order.

    The reference: :class:`FoldedField` finds the same offsets from
    :func:`_stand_in_plain`, in C, and a test holds the two equal.
    """
    source, _ = _scan_source(text)
    if source.isascii():
        # ASCII text is always lower-cased, and then _scan's tokens are
        # exactly the [a-z0-9] runs.
        return [found.span() for found in _ASCII_TOKEN_RE.finditer(source)]
    # Otherwise walk the same whitespace-separated pieces as _scan, locating
    # each with str.find (they occur in order); only punctuated pieces need
    # the regex.
    offsets: list[tuple[int, int]] = []
    cursor = 0
    for piece in source.split():
        cursor = source.find(piece, cursor)
        if piece.isalnum():
            offsets.append((cursor, cursor + len(piece)))
        else:
            offsets += [
                (cursor + found.start(1), cursor + found.end(1))
                for found in _TOKEN_RE.finditer(piece)
            ]
        cursor += len(piece)
    return offsets


# Token letters and digits as "a", spaces as " ": in the ASCII scan's text a token
# starts at each " a".
_MARKS: Final = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz0123456789", b"a" * 36)


_NON_ASCII_RE: Final = re.compile(r"[^\x00-\x7f]")
_TOKEN_CHAR_RE: Final = re.compile(_TOKEN)


@lru_cache(maxsize=4096)
def _stand_in(char: str) -> str:
    """An ASCII character that the token scan treats as it treats ``char``: ``a`` for a
    character of a token (letter, digit, combining mark), a space for a space, ``!``
    for anything else."""
    if _TOKEN_CHAR_RE.fullmatch(char):
        return "a"
    return " " if char.isspace() else "!"


# ASCII characters that are neither a token's (letters, digits) nor a space: deleted from
# bare text. In spaced text, every character that is not a token's is a space (" ").
_NOT_TOKEN_ASCII: Final = bytes(
    c for c in range(128) if not chr(c).isalnum() and not chr(c).isspace()
)
_NOT_TOKEN_OR_SPACE: Final = bytes(c for c in range(128) if not chr(c).isalnum())
_SPACED: Final = bytes.maketrans(_NOT_TOKEN_OR_SPACE, b" " * len(_NOT_TOKEN_OR_SPACE))


def bare_texts(text: str) -> tuple[str, str] | None:
    """``text`` lower-cased twice over: *bare*, every character deleted that is neither a
    token's nor a space, and *spaced*, each such character a space, between two spaces;
    ``None`` when a token holds a character that is not ASCII (it would need folding).

    Every word :class:`FoldedField` finds in ``text``, joined ones included, is a
    substring of the bare text: a token is a run of letters and digits, which the
    deletions leave whole, and a join is one such deleted character between two tokens.
    Every token stands between two spaces in the spaced text. So a word absent from
    them is absent from the field (:meth:`RuleIndex.may_match
    <monitor.rules.index.RuleIndex.may_match>`), and finding that costs no scan.
    """
    if not text.isascii():
        if any(_stand_in(char) == "a" for char in set(_NON_ASCII_RE.findall(text))):
            return None
        text = text.encode("ascii", "replace").decode("ascii")  # "?": not a token's
    lowered = text.lower().encode("ascii")
    bare = lowered.translate(None, _NOT_TOKEN_ASCII).decode("ascii")
    return bare, " " + lowered.translate(_SPACED).decode("ascii") + " "


def _stand_in_char(found: re.Match[str]) -> str:
    return _stand_in(found.group())


def _stand_in_plain(source: str) -> str:
    """``source`` with only its tokens left, as :func:`~monitor.rules.scan.ascii_scan`
    leaves them, but for any text: each token's characters replaced by ASCII stand-ins,
    one for one, so that it keeps its place and its length.

    Tokens are maximal runs of token characters (what :func:`_scan` and
    :func:`_offsets` find, a test holds them equal): replacing each non-ASCII
    character by an ASCII one of the same kind (:func:`_stand_in`) keeps every run,
    and the ASCII scan does the rest in C.
    """
    if not source.isascii():
        # Few characters of real text are not ASCII: one callback each.
        source = _NON_ASCII_RE.sub(_stand_in_char, source)
    return ascii_scan(source)[2]


@lru_cache(maxsize=4096)
def _marked_stand_in(char: str) -> str:
    """:func:`_stand_in`, but ``A`` for a letter or digit and ``B`` for a combining mark:
    lower-cased text holds neither, so the scan can tell which tokens hold a character
    that is not ASCII, and which text holds a mark (a mark never starts a join, which
    the ASCII scan cannot tell)."""
    stand_in = _stand_in(char)
    if stand_in != "a":
        return stand_in
    return "A" if char.isalnum() else "B"


def _marked_stand_in_char(found: re.Match[str]) -> str:
    return _marked_stand_in(found.group())


def _mixed_scan(source: str) -> tuple[list[str], list[int], str, bool] | None:
    """:func:`_scan` of a lower-cased text that is not ASCII: its words and joins, the
    text with only its tokens left (each where it stands, ASCII), and whether every
    token is ASCII; ``None`` when the text holds a combining mark (tests hold it equal
    to :func:`_scan`).

    Each character that is not ASCII is replaced by an ASCII one of its kind, ``A``
    for a letter or digit (:func:`_marked_stand_in`), one for one, so the ASCII scan
    finds every token and join in C. Only the tokens holding an ``A`` - accented
    words, a few a text - are cut from the text and folded.
    """
    marked = _NON_ASCII_RE.sub(_marked_stand_in_char, source)
    if "B" in marked:
        return None
    words, joins, plain = ascii_scan(marked)
    at = plain.find("A")
    if at < 0:
        return words, joins, plain, True
    position = 0
    while at >= 0:
        start = plain.rfind(" ", 0, at) + 1
        end = plain.find(" ", at)
        if end < 0:
            end = len(plain)
        # The words are the text's tokens in order: the k-th token holding an "A" is
        # the k-th word holding one (no need for every token's offsets).
        while "A" not in words[position]:
            position += 1
        words[position] = fold_word(source[start:end])
        position += 1
        at = plain.find("A", end)
    return words, joins, plain, False


_MIXED_SHARE: Final = 100
""":func:`_mixed_scan` pays a Python call per character that is not ASCII, and wins only
where they are few (English with typographic quotes and dashes); French, Spanish or
Cyrillic text scans faster through :func:`_scan` (measured: 1.5 to 6 times)."""


def _mostly_ascii(source: str) -> bool:
    """At most one character in :data:`_MIXED_SHARE` is not ASCII (counted in C: each
    such character takes two to four bytes in UTF-8)."""
    return (len(source.encode("utf-8")) - len(source)) * _MIXED_SHARE <= len(source) * 2


class FoldedField:
    """One field of an entry, folded once and indexed for term lookups.

    ``words[i]`` is the folded token at position ``i``. Every edge word (tokens
    and joined words) is in ``vocabulary``; ``joined_at`` lists the joined edges
    starting at a position, which is what a multi-word alternative needs to
    step along the lattice. The rest is built on first use, because most
    fields of most entries are never searched beyond a set lookup: the
    word -> edges map, the vocabulary joined by spaces for prefixes, and the character
    offsets of the tokens (:meth:`offsets`).

    A plain class with slots rather than a frozen dataclass: it is built for
    every field of every entry, so construction cost matters, and its lazy
    parts are filled in place. Nothing observable ever changes.
    """

    __slots__ = (
        "_edges",
        "_ends",
        "_joined_edges",
        "_joined_vocabulary",
        "_marks",
        "_offsets",
        "_padded",
        "_plain",
        "_spaced",
        "_starts",
        "ascii",
        "hits",
        "joined",
        "joined_at",
        "name",
        "rank",
        "text",
        "vocabulary",
        "words",
    )

    def __init__(self, name: str, text: str, rank: int = 0) -> None:
        self.name = name
        self.text = text
        self.rank = rank
        """The field's place in span order; hits carry it instead of the name."""
        source, lowered = _scan_source(text)
        plain: str | None = None
        ascii_tokens = False
        if lowered and source.isascii():
            words, joins, plain = ascii_scan(source)
            ascii_tokens = True
        elif lowered and _mostly_ascii(source) and (mixed := _mixed_scan(source)) is not None:
            words, joins, plain, ascii_tokens = mixed
        else:
            words, joins = _scan(text)
        self.words = words
        self._plain = plain
        self.ascii = ascii_tokens
        """Whether every token is ASCII (the text may have typographic quotes or dashes):
        then every token is as long as its folded word, ``ends()[i] == starts()[i] +
        len(words[i])``, and ``_plain`` holds the words, one for one."""
        joined: list[tuple[str, int, int]] = []
        joined_at: dict[int, list[tuple[str, int]]] = {}
        if joins:
            joining = set(joins)
            for before in joins:
                last = before + 1
                first = before
                # Every run of 2..MAX_JOIN parts ending at ``last``.
                while (
                    first >= 0 and last - first < MAX_JOIN and (first == before or first in joining)
                ):
                    word = "".join(words[first : last + 1])
                    joined.append((word, first, last))
                    joined_at.setdefault(first, []).append((word, last))
                    first -= 1
        self.joined = joined
        self.joined_at = joined_at
        vocabulary = set(words)
        if joined:
            vocabulary.update(word for word, _, _ in joined)
        vocabulary.discard("")
        self.vocabulary = vocabulary
        self._edges: dict[str, list[tuple[int, int]]] = {}
        self._joined_edges: dict[str, list[tuple[int, int]]] | None = None
        self._joined_vocabulary: str | None = None
        self._padded: str | None = None
        self._marks: bytes | None = None
        self._spaced: str | None = None
        self._starts: list[int] | None = None
        self._ends: list[int] | None = None
        self._offsets: list[tuple[int, int]] | None = None
        self.hits: dict[Any, Any] | None = None
        """For a field shared between entries (a feed's name, a language tag, see
        :mod:`~monitor.rules.document`), the hits of each query term that searches this
        field alone, kept by the evaluators; ``None`` for a field of one entry."""

    def _token_plain(self) -> str:
        """The scanned text with only its tokens left, each where it stands (ASCII)."""
        plain = self._plain
        if plain is None:
            plain = self._plain = _stand_in_plain(_scan_source(self.text)[0])
        return plain

    def starts(self) -> list[int]:
        """The character offset where each token starts in the original text."""
        starts = self._starts
        if starts is None:
            # The stand-in tokens are where the original ones are, and as long.
            starts, self._ends = token_bounds(self._token_plain())
            self._starts = starts
        return starts

    def ends(self) -> list[int]:
        """The character offset where each token ends in the original text."""
        ends = self._ends
        if ends is None:
            self.starts()
            ends = self._ends
            assert ends is not None  # starts() found both
        return ends

    def offsets(self) -> list[tuple[int, int]]:
        """``(start, end)`` character offsets of every token, in the original text."""
        if self._offsets is None:
            self._offsets = list(zip(self.starts(), self.ends(), strict=True))
        return self._offsets

    def _padded_tokens(self) -> str:
        """The ASCII scan's text (only its tokens left, where they stand) between two
        spaces, so that every token is " token "; only for an ASCII field."""
        padded = self._padded
        if padded is None:
            padded = self._padded = f" {self._plain} "
        return padded

    def token_places(self, word: str) -> tuple[list[int], list[int]] | None:
        """The positions of the tokens that are ``word``, and where each starts in the
        text, ascending, in an ASCII field without joined words (where every edge is a
        token, as long as its word); ``None`` in any other field.

        The ASCII scan leaves the tokens separated by spaces, where they stand, one
        for one with :attr:`words`: the k-th token that is ``word`` is the k-th
        `` word `` in that text, and its position the number of tokens starting
        before it, one str.find and one bytes.count each, in C, instead of the
        offsets of every token.
        """
        if not self.ascii or self.joined:
            return None
        padded = self._padded_tokens()
        marks = self._marks
        if marks is None:
            marks = self._marks = padded.encode("ascii").translate(_MARKS)
        key = f" {word} "
        positions: list[int] = []
        starts: list[int] = []
        position, counted = 0, 0
        at = padded.find(key)
        while at >= 0:
            position += marks.count(b" a", counted, at)
            counted = at
            positions.append(position)
            starts.append(at)  # the space before it in padded: the token's start in the text
            at = padded.find(key, at + 1)
        return positions, starts

    def token_runs(
        self, alternatives: tuple[tuple[str, ...], ...]
    ) -> list[tuple[int, int, int, int]] | None:
        """``(first, last, start, end)`` of every run of consecutive tokens that spells
        one of ``alternatives`` (exact words), sorted, in an ASCII field without joined
        words (where every edge is a token); ``None`` in any other field.

        What :meth:`find` and :meth:`offsets` give for each alternative, without the
        offsets of every token: the run's first token is found by
        :meth:`token_places`, each next one by the next " a" in the marked text.
        """
        if not self.ascii or self.joined:
            return None
        tokens = self.words
        runs: list[tuple[int, int, int, int]] = []
        for words in alternatives:
            places = self.token_places(words[0])
            if places is None:
                return None
            marks = self._marks
            assert marks is not None  # token_places made it
            rest, size = list(words[1:]), len(words)
            for first, start in zip(*places, strict=True):
                if rest and tokens[first + 1 : first + size] != rest:
                    continue
                at, length = start, len(words[0])
                for word in rest:
                    at = marks.find(b" a", at + 1 + length)
                    length = len(word)
                runs.append((first, first + size - 1, start, at + length))
        if len(alternatives) > 1:
            runs = sorted(set(runs))
        return runs

    def edges(self, word: str) -> list[tuple[int, int]]:
        """``(first, last)`` positions of every edge whose word is ``word``: tokens, then joined words."""
        found = self._edges.get(word)
        if found is not None:
            return found
        if word not in self.vocabulary:
            return []
        places = self.token_places(word)
        if places is not None:
            found = [(position, position) for position in places[0]]
            self._edges[word] = found
            return found
        # The words joined by single spaces: the token at position i is the one
        # after the (i+1)-th space, so str.find locates each " word " and
        # str.count of the spaces before it gives its position, in C - cheaper
        # than list.count and list.index comparing every word in turn.
        spaced = self._spaced
        if spaced is None:
            spaced = self._spaced = " " + " ".join(self.words) + " "
        key = f" {word} "
        found = []
        position, counted = 0, 0
        at = spaced.find(key)
        while at >= 0:
            position += spaced.count(" ", counted, at)
            counted = at
            found.append((position, position))
            at = spaced.find(key, at + 1)
        if self.joined:
            joined_edges = self._joined_edges
            if joined_edges is None:
                # Joined edges by word, once a field: later words need one lookup.
                joined_edges = self._joined_edges = {}
                for joined, first, last in self.joined:
                    joined_edges.setdefault(joined, []).append((first, last))
            found += joined_edges.get(word, ())
        self._edges[word] = found
        return found

    def completions(self, prefix: str) -> list[str]:
        """Edge words that start with ``prefix``, in sorted order."""
        if self.ascii and not self.joined:
            # Every edge is a token of the scan's text: a prefix most entries lack
            # is refused by one str.find, no vocabulary joined.
            padded = self._padded_tokens()
            key = " " + prefix
            at = padded.find(key)
            if at < 0:
                return []
            words: set[str] = set()
            while at >= 0:
                end = padded.index(" ", at + 1)
                words.add(padded[at + 1 : end])
                at = padded.find(key, end)
            return sorted(words)
        # The vocabulary joined by spaces (kept for later prefixes): each word
        # that starts with the prefix is one str.find of " prefix" away, in C,
        # which beats sorting the vocabulary for the one or two prefixes an
        # entry is asked for.
        joined = self._joined_vocabulary
        if joined is None:
            joined = self._joined_vocabulary = " " + " ".join(self.vocabulary) + " "
        key = " " + prefix
        found: list[str] = []
        at = joined.find(key)
        while at >= 0:
            end = joined.index(" ", at + 1)
            found.append(joined[at + 1 : end])
            at = joined.find(key, end)
        found.sort()
        return found

    def steps(self, position: int, word: str, prefix: bool) -> list[int]:
        """Last positions of the edges at ``position`` whose word is ``word``.

        With ``prefix``, an edge matches when its word starts with ``word``.
        """
        found: list[int] = []
        if position < len(self.words):
            token = self.words[position]
            if token == word or (prefix and token.startswith(word)):
                found.append(position)
            for joined, last in self.joined_at.get(position, ()):
                if joined == word or (prefix and joined.startswith(word)):
                    found.append(last)
        return found

    def find(self, words: tuple[str, ...], prefix: bool) -> list[tuple[int, int]]:
        """Every ``(first, last)`` position range where ``words`` occur in order.

        Consecutive words must sit on consecutive edges. With ``prefix`` the last
        word only has to begin the edge's word (``tariff*``).
        """
        head = words[0]
        if len(words) == 1:
            if not prefix:
                return self.edges(head)
            return [edge for word in self.completions(head) for edge in self.edges(word)]
        found: list[tuple[int, int]] = []
        for first, last in self.edges(head):
            lasts = [last]
            for index in range(1, len(words)):
                is_last = index == len(words) - 1
                lasts = [
                    step
                    for end in lasts
                    for step in self.steps(end + 1, words[index], prefix and is_last)
                ]
                if not lasts:
                    break
            found.extend((first, end) for end in lasts)
        return found


def query_compounds(text: str) -> list[list[str]]:
    """Cut query text into compounds of folded parts, as :class:`FoldedField` would."""
    words, joins = _scan(text)
    joining = set(joins)
    compounds: list[list[str]] = []
    for position, word in enumerate(words):
        if word:
            if position - 1 in joining and compounds:
                compounds[-1].append(word)
            else:
                compounds.append([word])
    return compounds


def _groupings(parts: list[str]) -> list[tuple[str, ...]]:
    """Every way of joining adjacent parts: ``[t, mec]`` -> ``(t, mec)``, ``(tmec,)``."""
    options: list[tuple[str, ...]] = []
    for cuts in itertools.product((False, True), repeat=len(parts) - 1):
        grouped = [parts[0]]
        for part, joined in zip(parts[1:], cuts, strict=True):
            if joined:
                grouped[-1] += part
            else:
                grouped.append(part)
        options.append(tuple(grouped))
    return options


def _compound_options(parts: list[str], exhaustive: bool) -> list[tuple[str, ...]]:
    if len(parts) == 1:
        return [tuple(parts)]
    if exhaustive and len(parts) <= _MAX_GROUPED_PARTS:
        return _groupings(parts)
    return [tuple(parts), ("".join(parts),)]


def alternatives(compounds: list[list[str]]) -> tuple[tuple[str, ...], ...]:
    """The word sequences a term made of ``compounds`` may appear as.

    The all-split form comes first. The expansion is capped at
    :data:`_MAX_ALTERNATIVES` by falling back to fewer groupings per compound.
    """
    for exhaustive in (True, False):
        per_compound = [_compound_options(parts, exhaustive) for parts in compounds]
        count = 1
        for options in per_compound:
            count *= len(options)
        if count <= _MAX_ALTERNATIVES:
            break
    else:
        split = tuple(word for parts in compounds for word in parts)
        joined = tuple("".join(parts) for parts in compounds)
        return tuple(dict.fromkeys((split, joined)))
    combined = (
        tuple(word for option in choice for word in option)
        for choice in itertools.product(*per_compound)
    )
    return tuple(dict.fromkeys(combined))
