"""One story as chat markup: the layout Slack and Discord share, each in its own syntax::

    <bold, linked title>
    Source · <date> · also carried by …
    <quote>snippet with the matched words in bold
    Matched: watch (terms)

Every feed-provided piece is clipped to its budget and escaped before it is
joined (see :mod:`monitor.deliver.formats.fit`), so no cut splits an escape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitor.deliver.formats.fit import EscapeTable, clip, escape, fit_parts
from monitor.digest.view import ItemView


@dataclass(frozen=True, slots=True)
class ChatMarkup:
    """How one chat service writes a story, and how much of each piece fits."""

    escapes: EscapeTable
    """For text: the service's markup characters."""
    url_escapes: EscapeTable
    """For a link inside the service's link syntax."""
    bold: str
    """The bold marker (``*`` or ``**``), around the title and the matched words."""
    link: str
    """The bold, linked title, with ``{title}`` and ``{url}`` slots."""
    quote: str
    """What starts the snippet's line."""
    matched: str
    """The reasons line, with a ``{reasons}`` slot."""
    date: Callable[[datetime, str], str]
    """A time (with its text in the alert's timezone, as a fallback) as the service's date
    token, which each reader sees in their own timezone."""
    title_chars: int
    url_chars: int
    """A longer link is dropped; the title is still shown."""
    source_chars: int
    also_chars: int
    snippet_chars: int
    reason_chars: int


def story_text(item: ItemView, markup: ChatMarkup) -> str:
    """``item`` in ``markup``'s syntax, within its budgets."""
    escapes = markup.escapes
    title = clip(item.title, markup.title_chars, escapes)
    url = escape(item.link, markup.url_escapes) if item.link else ""
    if url and len(url) <= markup.url_chars:
        lines = [markup.link.format(title=title, url=url)]
    else:
        lines = [f"{markup.bold}{title}{markup.bold}"]
    when = (
        item.published_text
        if item.published is None
        else markup.date(item.published, item.published_text)
    )
    meta = f"{clip(item.source, markup.source_chars, escapes)} · {when}"
    if item.also:
        meta += " · also carried by " + clip(", ".join(item.also), markup.also_chars, escapes)
    lines.append(meta)
    if item.snippet:
        marks = (markup.bold, markup.bold)
        lines.append(markup.quote + fit_parts(item.snippet, markup.snippet_chars, escapes, marks))
    if item.reasons:
        reasons = "; ".join(
            f"{r.watch} ({', '.join(r.terms)})" if r.terms else r.watch for r in item.reasons
        )
        lines.append(markup.matched.format(reasons=clip(reasons, markup.reason_chars, escapes)))
    return "\n".join(lines)
