"""A digest as one short text message, for the push and chat channels (ntfy, Telegram, Apprise).

Layout, in the channel's markup (plain text or Telegram's HTML)::

    desk: 2 new items                 (when the channel has no title of its own)
    2026-11-21 07:00 EST

    usmca (2)

    Title of the story
    Source · 2026-11-21 04:00 EST · also carried by …
    snippet with the matched words marked
    Matched: usmca (USMCA, CUSMA)
    https://…                          (plain text: the link on its own line)

    …and 1 more in usmca

The rules are the chat formats' (:mod:`monitor.deliver.formats`): every piece
of feed text is clipped to its budget and escaped *before* it is joined
(:func:`~monitor.deliver.formats.fit.clip`), so no cut splits an escape or a
tag; an ``@`` from a feed is followed by an invisible word joiner, so
``@everyone``, ``@here`` or ``@channel`` in a headline mentions nobody wherever
the text ends up; stories are added while the message stays within the
channel's limit, and those with no room are counted as "…and N more", which
makes the relay send the digest in parts instead (:attr:`Message.left_out`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.deliver.formats.fit import EscapeTable, clip, escape, fit_parts
from monitor.digest.view import ItemView, digest_view
from monitor.types import Digest
from monitor.words import counted

WORD_JOINER = "\u2060"
NO_MENTIONS: EscapeTable = {ord("@"): "@" + WORD_JOINER}
"""For plain text: ``@everyone`` and the like, and ``<!channel>`` (Slack, behind
Apprise), written so that no service reads them as a mention."""
PLAIN: EscapeTable = {**NO_MENTIONS, ord("<"): "<" + WORD_JOINER}
PLAIN_URL: EscapeTable = {ord("<"): "%3C", ord(">"): "%3E"}
"""For a link on its own line: nothing a service could read as markup around it."""
HTML: EscapeTable = {
    **NO_MENTIONS,
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
}
HTML_URL: EscapeTable = {
    ord("&"): "&amp;",
    ord("<"): "%3C",
    ord(">"): "%3E",
    ord('"'): "%22",
}

TITLE_CHARS = 250
URL_CHARS = 1000  # a longer link is left out; the title is still shown
SOURCE_CHARS = 100
ALSO_CHARS = 150
SNIPPET_CHARS = 300
REASON_CHARS = 200
ATTENTION_CHARS = 300
NOTE_CHARS = 70
MORE_ROOM = 2 * NOTE_CHARS + 20  # kept free for the "…and N more" lines


@dataclass(frozen=True, slots=True)
class Markup:
    """How one channel writes text."""

    escapes: EscapeTable
    """For feed text."""
    url_escapes: EscapeTable | None
    """For a link inside the markup's link syntax; None: links go on a line of their own."""
    bold: tuple[str, str] = ("", "")
    italic: tuple[str, str] = ("", "")
    hit: tuple[str, str] = ("", "")
    """Around the matched words of a snippet."""
    link: str = "{title}"
    """The linked title, with ``{title}`` and ``{url}`` slots."""


PLAIN_TEXT = Markup(escapes=PLAIN, url_escapes=None, hit=("*", "*"))
TELEGRAM_HTML = Markup(
    escapes=HTML,
    url_escapes=HTML_URL,
    bold=("<b>", "</b>"),
    italic=("<i>", "</i>"),
    hit=("<b>", "</b>"),
    link='<a href="{url}">{title}</a>',
)


@dataclass(frozen=True, slots=True)
class Message:
    """One digest as one text message."""

    title: str
    """``desk: 2 new items`` (``…, part 2 of 3``), plain text, not escaped."""
    text: str
    """The body, in the markup it was composed in."""
    left_out: int
    """Stories there was no room for (not those ``max_items`` left out, counted by design)."""


def compose(
    digest: Digest,
    timezone: str,
    markup: Markup,
    limit: int,
    measure: Callable[[str], int] = len,
    *,
    with_title: bool = False,
) -> Message:
    """``digest`` as a message of at most ``limit`` (by ``measure``): stories in order
    while they fit (the first one always), the others counted."""
    view = digest_view(digest, timezone)
    head = []
    if with_title:
        head.append(_wrap(clip(view.headline, TITLE_CHARS, markup.escapes), markup.bold))
    head.append(escape(view.created_text, markup.escapes))
    blocks = ["\n".join(head)]
    if view.attention:
        names = ", ".join(f"{n.name} ({counted(n.failures, 'failure')})" for n in view.attention)
        blocks.append("Feeds needing attention: " + clip(names, ATTENTION_CHARS, markup.escapes))
    room = limit - MORE_ROOM
    placed = left_out = unseen = 0
    full = False
    for section in view.sections:
        heading = _wrap(escape(section.heading, markup.escapes), markup.bold)
        stories: list[str] = []
        for item in section.items:
            story = _story(item, markup)
            if placed and measure("\n\n".join([*blocks, heading, *stories, story])) > room:
                full = True
            if full:
                break
            stories.append(story)
            placed += 1
        left_out += len(section.items) - len(stories)
        if not stories and section.items:
            unseen += len(section.items) + section.omitted
            continue
        blocks += [heading, *stories]
        more = section.omitted + len(section.items) - len(stories)
        if more:
            blocks.append(_note(f"…and {more} more in {section.watch}", markup))
    if unseen:
        blocks.append(_note(f"…and {unseen} more in other watches", markup))
    text = "\n\n".join(blocks)
    while measure(text) > limit and markup.url_escapes is None:
        # Only a tiny limit or wide characters get here; plain text can be cut anywhere.
        text = clip(text, len(text) * limit // measure(text) - 1)
    return Message(view.headline, text, left_out)


def _note(text: str, markup: Markup) -> str:
    return _wrap(clip(text, NOTE_CHARS, markup.escapes), markup.italic)


def _story(item: ItemView, markup: Markup) -> str:
    escapes = markup.escapes
    title = clip(item.title, TITLE_CHARS, escapes)
    url = escape(item.link, markup.url_escapes) if item.link and markup.url_escapes else ""
    if url and len(url) <= URL_CHARS:
        title = markup.link.format(title=title, url=url)
    lines = [_wrap(title, markup.bold)]
    meta = f"{clip(item.source, SOURCE_CHARS, escapes)} · {escape(item.published_text, escapes)}"
    if item.also:
        meta += " · also carried by " + clip(", ".join(item.also), ALSO_CHARS, escapes)
    lines.append(meta)
    if item.snippet:
        lines.append(
            _wrap(fit_parts(item.snippet, SNIPPET_CHARS, escapes, markup.hit), markup.italic)
        )
    if item.reasons:
        reasons = "; ".join(
            f"{r.watch} ({', '.join(r.terms)})" if r.terms else r.watch for r in item.reasons
        )
        lines.append("Matched: " + clip(reasons, REASON_CHARS, escapes))
    if item.link and markup.url_escapes is None and len(item.link) <= URL_CHARS:
        lines.append(escape(item.link, PLAIN_URL))
    return "\n".join(lines)


def _wrap(text: str, marks: tuple[str, str]) -> str:
    return f"{marks[0]}{text}{marks[1]}" if text else text
