"""Plain-text explanations of why watches fired on an entry.

For the CLI's ``explain`` output and for logs: one block per match naming the
watch and its score, then each matched term with every place it hit - field,
character span, the matched text, and the surrounding text with the hit in
«guillemets». Reads only the entry and the matches; no markup, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.rules.fields import field_text
from monitor.types import Entry, Match, Span

CONTEXT = 40
"""Characters of context shown on each side of a hit."""

_SPACES = re.compile(r"\s+")


def _flat(text: str) -> str:
    return _SPACES.sub(" ", text)


def _in_context(text: str, span: Span) -> str:
    start = max(0, span.start - CONTEXT)
    end = min(len(text), span.end + CONTEXT)
    before = ("…" if start > 0 else "") + _flat(text[start : span.start])
    after = _flat(text[span.end : end]) + ("…" if end < len(text) else "")
    return f"{before}«{_flat(text[span.start : span.end])}»{after}"


def _span_line(entry: Entry, span: Span) -> str:
    try:
        text = field_text(entry, span.field)
    except ValueError:
        text = ""
    where = f"{span.field} [{span.start}:{span.end}]"
    if not 0 <= span.start <= span.end <= len(text):
        return f"    {where}: (outside the {span.field} text)"
    matched = _flat(text[span.start : span.end])
    return f'    {where} "{matched}": {_in_context(text, span)}'


def explain(entry: Entry, matches: Sequence[Match]) -> str:
    """A readable, multi-line account of ``matches`` on ``entry``."""
    title = _flat(entry.title) or "(untitled)"
    lines = [f'Entry "{title}" from {entry.feed_name}']
    if not matches:
        lines.append("  no watch matched")
        return "\n".join(lines)
    for match in matches:
        lines.append(f'  watch "{match.watch}" matched, score {match.score:g}')
        for term in match.terms:
            hits = [span for span in match.spans if span.term == term]
            count = f"{len(hits)} hit" + ("" if len(hits) == 1 else "s")
            lines.append(f"    term {term} - {count}")
            lines.extend("  " + _span_line(entry, span) for span in hits)
        if not match.spans:
            lines.append("    (no spans recorded)")
    return "\n".join(lines)
