"""The two character loops of folding, for ASCII text: tokens and joins, token offsets.

This module is the reference. The build compiles ``scan.c`` beside it, the same two
functions written in C, and Python imports the extension in preference to this file
(see :mod:`monitor.rules.native`, which runs this file instead wherever it runs the
other modules' sources). ``tests/rules/test_native.py`` and the fold tests hold the two
equal; the C loop saves the allocations of the translated copies and the split.

A *token* of ASCII text is a maximal run of letters and digits (``[A-Za-z0-9]``);
a *join* is exactly one character that is neither a token's nor a space (what
``str.isspace`` calls one) between two tokens: ``U.S.`` and ``T-MEC`` are joined,
``U. S.`` is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final


def _byte_table(kind: Callable[[str], str]) -> bytes:
    return bytes(ord(kind(chr(code))) for code in range(256))


# Two byte-wise translations (C, one table lookup a byte) do the loop: _PLAIN keeps
# letters and digits and blanks the rest, so splitting it gives the tokens; _SHAPE
# draws every character as "a" (letter or digit), " " (space) or NUL (anything
# else), so a join is the substring "a\0a".
_PLAIN: Final = _byte_table(lambda char: char if char.isascii() and char.isalnum() else " ")
_SHAPE: Final = _byte_table(
    lambda char: "a" if char.isascii() and char.isalnum() else " " if char.isspace() else "\0"
)
_JOIN: Final = b"a\0a"


def ascii_scan(source: str) -> tuple[list[str], list[int], str]:
    """The tokens of an ASCII text, in order; the position of each token joined to the
    next; and the text with only its tokens left (every other character a space), so
    that each token stands where it stood. ``ValueError`` for text that is not ASCII.
    """
    raw = source.encode("ascii")  # UnicodeEncodeError is a ValueError
    plain = raw.translate(_PLAIN).decode("ascii")
    words = plain.split()
    joins: list[int] = []
    shape = raw.translate(_SHAPE)
    at = shape.find(_JOIN)
    # Tokens started before ``counted``: one a run of "a" after a space or a NUL, and the
    # first when the text starts with one (counted on, so the text is read once).
    started, counted = int(shape[:1] == b"a"), 0
    while at >= 0:
        # The token ending at ``at`` is the last of the runs of "a" started by then.
        end = at + 1
        started += shape.count(b" a", counted, end) + shape.count(b"\0a", counted, end)
        counted = end
        joins.append(started - 1)
        at = shape.find(_JOIN, end)
    return words, joins, plain


def token_bounds(plain: str) -> tuple[list[int], list[int]]:
    """Where each token of ``plain`` starts, and where it ends: a token is a maximal run
    of characters other than the space (``" "``), as :func:`ascii_scan` leaves them."""
    starts: list[int] = []
    ends: list[int] = []
    size = len(plain)
    at = 0
    while at < size:
        if plain[at] == " ":
            at += 1
            continue
        starts.append(at)
        at = plain.find(" ", at)
        if at < 0:
            at = size
        ends.append(at)
    return starts, ends
