"""Plain-text explanations of why watches fired on an entry.

For the CLI's ``explain`` output and for logs: one block per match naming the
watch and its score, then each matched term with every place it hit - field,
character span, the matched text, and the surrounding text with the hit in
«guillemets». :func:`explain_verdicts` does the same for every watch whose
query matched, and names the rule that stopped a watch that did not fire
(``min_score``, ``min_focus``, ``exclude`` or a guard). Reads only the entry
and the matches; no markup, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from monitor.rules.fields import field_text
from monitor.types import Entry, Match, Span

if TYPE_CHECKING:
    from monitor.rules.engine import Verdict

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
        lines.extend(_term_lines(entry, match))
    return "\n".join(lines)


def _term_lines(entry: Entry, match: Match) -> list[str]:
    lines: list[str] = []
    for term in match.terms:
        hits = [span for span in match.spans if span.term == term]
        count = f"{len(hits)} hit" + ("" if len(hits) == 1 else "s")
        lines.append(f"    term {term} - {count}")
        lines.extend("  " + _span_line(entry, span) for span in hits)
    if not match.spans:
        lines.append("    (no spans recorded)")
    return lines


def explain_verdicts(entry: Entry, verdicts: Sequence[Verdict]) -> str:
    """Like :func:`explain`, for verdicts: a watch that did not fire names what stopped it."""
    title = _flat(entry.title) or "(untitled)"
    lines = [f'Entry "{title}" from {entry.feed_name}']
    if not verdicts:
        lines.append("  no watch's query matched")
    for verdict in verdicts:
        lines.append(stop_line(verdict))
        lines.extend(_term_lines(entry, verdict.match))
    return "\n".join(lines)


def stop_line(verdict: Verdict) -> str:
    """One line: the watch, whether it fired or what stopped it, its score and focus."""
    figures = f"score {verdict.match.score:g}, focus {verdict.focus:.2f}"
    if verdict.stopped is None:
        return f'  watch "{verdict.watch}" matched, {figures}'
    return f'  watch "{verdict.watch}" did not fire ({figures}): stopped by {verdict.stopped}'
