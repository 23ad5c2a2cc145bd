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
from collections import defaultdict
from collections.abc import Iterable, Iterator

from monitor.dedup.text import split_sentences, title_tokens

# WordPress's footer; ends the item even when the feed has a single item.
_APPEARED_FIRST = re.compile(
    r"\bThe post\s[^\n]{1,300}?\sappeared first on\s[^\n]{1,200}?(?:\.(?=\s|$)|$)",
    re.IGNORECASE,
)


def _key(unit: str) -> str:
    return " ".join(unit.casefold().split())


def _units(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, key)`` of every non-empty line and, within a line of several
    sentences, of each sentence."""
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
    headlines: defaultdict[str, set[frozenset[str]]] = defaultdict(set)
    for title, text in items:
        headline = title_tokens(title) or frozenset({_key(title)})
        for key in {key for _, _, key in _units(text)}:
            headlines[key].add(headline)
    return frozenset(key for key, seen in headlines.items() if len(seen) >= min_items)


def mask(text: str, boilerplate: frozenset[str]) -> str:
    """``text`` with its boilerplate units and "The post … appeared first on …" footers
    replaced by spaces (same length, line breaks kept)."""
    spans = [(m.start(), m.end()) for m in _APPEARED_FIRST.finditer(text)]
    if boilerplate:
        spans += [(start, end) for start, end, key in _units(text) if key in boilerplate]
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for index in range(start, end):
            if chars[index] != "\n":
                chars[index] = " "
    return "".join(chars)
