"""Text a feed repeats across its items, which says nothing about any one of them.

A video channel ends every description with the same sponsor block, a blog
every post with "The post … appeared first on …", a newsletter every issue with
the same sign-off. Two items of such a feed share that text and nothing else,
so left in, it makes them look like copies of each other, and it makes a watch
fire on a sponsor's name. :func:`learn` finds it (lines and sentences found in
``min_items`` or more items of one feed document, counted by distinct headline
so that a feed carrying one story twice does not turn that story into
boilerplate); :func:`mask` blanks it out.

Masking replaces the text with spaces of the same length, keeping line breaks:
rule matches on the masked text keep their character offsets in the stored
text, which itself is kept whole.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence

from monitor.dedup.text import split_sentences, title_tokens

# WordPress's footer; ends the item even when the feed has a single item.
_APPEARED_FIRST = re.compile(
    r"\bThe post\s[^\n]{1,300}?\sappeared first on\s[^\n]{1,200}?(?:\.(?=\s|$)|$)",
    re.IGNORECASE,
)


Unit = tuple[int, int, str]
"""A line or sentence of a text: ``(start, end, folded key)``."""


def _key(unit: str) -> str:
    """``unit`` case-folded, its runs of spaces made one and its ends stripped."""
    # A printable string holds no space but " " (every other one is a control or a
    # separator), and case folding makes none: such a unit with no "  " and no space at
    # either end needs no split and join (about two thirds of the cost, for most units).
    if unit.isprintable() and "  " not in unit and unit[:1] != " " and unit[-1:] != " ":
        return unit.casefold()
    return " ".join(unit.casefold().split())


def units(text: str) -> list[Unit]:
    """``(start, end, key)`` of every non-empty line of ``text`` and, within a line of
    several sentences, of each sentence: what :func:`learn` counts and :func:`mask`
    blanks. Worked out once, it serves both (``learn_units``, ``mask(..., found)``)."""
    return list(_units(text))


def _units(text: str) -> Iterator[Unit]:
    position = 0
    for line in text.split("\n"):
        start = position
        position += len(line) + 1
        key = _key(line)
        if not key:
            continue
        yield start, start + len(line), key
        sentences = split_sentences(line)
        if len(sentences) < 2:
            continue
        cursor = 0
        for sentence in sentences:
            found = line.find(sentence, cursor)
            if found < 0:
                continue
            cursor = found + len(sentence)
            yield start + found, start + cursor, _key(sentence)


def learn(items: Iterable[tuple[str, str]], min_items: int) -> frozenset[str]:
    """The units (folded lines and sentences) of ``(title, text)`` items that recur in
    at least ``min_items`` items with different headlines."""
    return learn_units(((title, _units(text)) for title, text in items), min_items)


def learn_units(items: Iterable[tuple[str, Iterable[Unit]]], min_items: int) -> frozenset[str]:
    """:func:`learn` from each item's title and :func:`units` (of all its text: the
    units of ``a + "\n" + b`` are those of ``a`` and of ``b``, lines being units)."""
    keyed = [(title, {key for _, _, key in found}) for title, found in items]
    # A unit has no more headlines than items holding it: only units held by enough items
    # need their items' headlines, and most feeds have none (no headline worked out).
    held = Counter(key for _, keys in keyed for key in keys)
    recurring = {key for key, count in held.items() if count >= min_items}
    headlines: defaultdict[str, set[frozenset[str]]] = defaultdict(set)
    for title, keys in keyed:
        if recurring.isdisjoint(keys):
            continue
        headline = title_tokens(title) or frozenset({_key(title)})
        for key in recurring.intersection(keys):
            headlines[key].add(headline)
    return frozenset(key for key, seen in headlines.items() if len(seen) >= min_items)


def mask(text: str, boilerplate: frozenset[str], found: Sequence[Unit] | None = None) -> str:
    """``text`` with its boilerplate units and "The post … appeared first on …" footers
    replaced by spaces (same length, line breaks kept). ``found``: ``units(text)``, if
    already worked out."""
    # The footer's "appeared" matches only ASCII letters, even ignoring case (checked in
    # the tests), so a text whose lower case lacks it has no footer: no regex scan.
    spans = (
        [(m.start(), m.end()) for m in _APPEARED_FIRST.finditer(text)]
        if "appeared" in text.lower()
        else []
    )
    if boilerplate:
        spans += [
            (start, end)
            for start, end, key in (_units(text) if found is None else found)
            if key in boilerplate
        ]
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for index in range(start, end):
            if chars[index] != "\n":
                chars[index] = " "
    return "".join(chars)
