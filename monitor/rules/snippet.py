"""Snippets: a short window of a field's text around its first hit.

:func:`make_snippet` returns the window as ``(segment, is_highlighted)`` parts,
never as markup: the renderer escapes every part and wraps highlighted ones in
``<mark>`` (or ``**``, or ANSI bold), so no HTML is ever built from entry text
here.

The window is ``width`` characters of the original text, placed so the first
hit starts about a quarter of the way in (context before, more after), slid
back when the text ends early. Its edges move inward to whitespace so no word
is cut in half (unless a single "word" is longer than the room left), and an
``…`` marks each side where text was cut. Runs of whitespace, newlines
included, are shown as one space. Overlapping or touching spans are
highlighted as one; spans outside the text are ignored, so pass the spans of
the one field ``text`` came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.types import Span

ELLIPSIS = "…"

_SPACES = re.compile(r"\s+")


def _merged(text: str, spans: Sequence[Span]) -> list[tuple[int, int]]:
    ranges = sorted(
        (span.start, span.end) for span in spans if 0 <= span.start < span.end <= len(text)
    )
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, first: tuple[int, int] | None, width: int) -> tuple[int, int]:
    """Character range of the window, before trimming to word boundaries."""
    if first is None:
        return 0, min(len(text), width)
    hit_start, hit_end = first
    if hit_end - hit_start >= width:
        return hit_start, hit_end
    start = max(0, hit_start - width // 4)
    end = min(len(text), start + width)
    return max(0, end - width), end


def _trim(text: str, start: int, end: int, first: tuple[int, int] | None) -> tuple[int, int]:
    """Move the window's edges inward to whitespace, never past the first hit."""
    keep_from, keep_to = first if first is not None else (end, start)
    if start > 0 and not text[start - 1].isspace():
        found = _SPACES.search(text, start, min(keep_from, end))
        if found is not None:
            start = found.end()
    if end < len(text) and not text[end].isspace():
        cut = max(
            (found.start() for found in _SPACES.finditer(text, max(keep_to, start), end)),
            default=-1,
        )
        if cut >= 0:
            end = cut
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def make_snippet(
    text: str, spans: Sequence[Span], width: int = 240
) -> tuple[tuple[str, bool], ...]:
    """``text`` around its first hit, as ``(segment, is_highlighted)`` parts.

    Without usable spans the window is the start of the text, nothing
    highlighted. An empty text gives no parts.
    """
    if width < 1:
        raise ValueError("width must be positive")
    hits = _merged(text, spans)
    first = hits[0] if hits else None
    start, end = _trim(text, *_window(text, first, width), first)
    parts: list[tuple[str, bool]] = []
    if start > 0:
        parts.append((ELLIPSIS, False))
    cursor = start
    for hit_start, hit_end in hits:
        if hit_end <= start or hit_start >= end:
            continue
        shown_start, shown_end = max(hit_start, start), min(hit_end, end)
        parts.append((text[cursor:shown_start], False))
        parts.append((text[shown_start:shown_end], True))
        cursor = shown_end
    parts.append((text[cursor:end], False))
    if end < len(text):
        parts.append((ELLIPSIS, False))
    return _joined(parts)


def _joined(parts: list[tuple[str, bool]]) -> tuple[tuple[str, bool], ...]:
    """Collapse whitespace, drop empty parts and merge neighbours of the same kind."""
    result: list[tuple[str, bool]] = []
    for raw, marked in parts:
        segment = _SPACES.sub(" ", raw)
        if not segment:
            continue
        if result and result[-1][1] == marked:
            result[-1] = (result[-1][0] + segment, marked)
        else:
            result.append((segment, marked))
    return tuple(result)
