"""Escape text for a chat syntax and make it fit a length limit, never cutting an escape.

Chat platforms cap every text field (Slack 3,000 characters a section, Discord
4,096 an embed description, 256 a title). Cutting text *after* escaping could
split ``&amp;`` or ``\\*`` in two and leave broken markup; cutting *before*
escaping could still overflow when escapes lengthen it. So these functions
escape character by character and stop when the next escaped character would
not fit, then end with ``…``. A cut moves back to a space when one is near, so
words stay whole.

An escape table maps a code point to its replacement (as for
:meth:`str.translate`); characters not in it are written as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

ELLIPSIS = "…"
WORD_SLACK = 24  # a cut moves back to a space at most this many characters

EscapeTable = Mapping[int, str]


def escape(text: str, table: EscapeTable) -> str:
    return text.translate(table)


def clip(text: str, limit: int, table: EscapeTable | None = None) -> str:
    """``text`` escaped with ``table``, at most ``limit`` characters, ``…`` where cut."""
    table = table or {}
    whole = escape(text, table)
    if len(whole) <= limit:
        return whole
    return _cut(text, limit - len(ELLIPSIS), table) + ELLIPSIS if limit > 0 else ""


def _cut(text: str, budget: int, table: EscapeTable) -> str:
    """The longest escaped prefix of ``text`` within ``budget``, preferably at a space."""
    pieces: list[str] = []
    used = 0
    last_space = -1
    for char in text:
        piece = table.get(ord(char), char)
        if used + len(piece) > budget:
            break
        if char == " ":
            last_space = len(pieces)
        pieces.append(piece)
        used += len(piece)
    if last_space >= 0 and len(pieces) - last_space <= WORD_SLACK:
        pieces = pieces[:last_space]
    return "".join(pieces).rstrip()


def fit_parts(
    parts: Sequence[tuple[str, bool]],
    limit: int,
    table: EscapeTable | None = None,
    mark: tuple[str, str] = ("", ""),
) -> str:
    """Highlighted parts, escaped, hits between ``mark``, at most ``limit`` characters."""
    table = table or {}
    opening, closing = mark
    out: list[str] = []
    used = 0
    for text, hit in parts:
        extra = len(opening) + len(closing) if hit else 0
        whole = escape(text, table)
        if used + extra + len(whole) <= limit:
            out.append(f"{opening}{whole}{closing}" if hit else whole)
            used += extra + len(whole)
            continue
        room = limit - used - extra - len(ELLIPSIS)
        cut = _cut(text, room, table) if room > 0 else ""
        if cut:
            out.append(f"{opening}{cut}{closing}" if hit else cut)
        out.append(ELLIPSIS)
        break
    result = "".join(out)
    return result if len(result) <= limit else clip("".join(t for t, _ in parts), limit, table)
