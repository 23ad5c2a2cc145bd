"""``slack``: a Block Kit message for a Slack incoming webhook.

Layout: a ``header`` block (alert and counts), a ``context`` block (when, which
digest), then per watch a heading and one ``section`` block per story::

    *<https://…|Title of the story>*
    Source · <date token> · also carried by …
    >snippet with the *matched words* in bold
    Matched: usmca (USMCA, CUSMA)

Slack's rules, and how they are kept:

* **Escaping.** In ``mrkdwn`` text only ``&``, ``<`` and ``>`` are escaped (as
  ``&amp;``, ``&lt;``, ``&gt;``), as Slack asks; a feed can then never write a
  link, a ``<!channel>`` or a ``<@user>``. Every text object carrying feed
  text sets ``verbatim: true`` so Slack does not turn a plain "@channel" or a
  channel name in a title into a mention either. Links are percent-encoded
  where Slack's ``<url|text>`` syntax would break (``|``, ``<``, ``>``).
  Slack has no escape for ``*``/``_``/``~`` inside text: at worst such a title
  shows in bold or italics, it cannot do anything else.
* **Limits.** At most 50 blocks, 3,000 characters per text, 150 per header.
  Every piece is cut (at a word, with ``…``) before it is joined, so no cut
  ever splits an escape or a link; stories that do not fit in 50 blocks are
  summarised as "…and N more".
* **Times** use Slack's date token, which each reader sees in their own
  timezone; its fallback text is the time in the alert's timezone.
* Link previews are off (``unfurl_links``): a digest would otherwise grow one
  preview per story.
"""

from __future__ import annotations

from typing import Any

from monitor.deliver.formats.chat import ChatMarkup, story_text
from monitor.deliver.formats.fit import clip, escape
from monitor.digest.view import SectionView, digest_view
from monitor.types import Digest

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
# Per-piece budgets (escaped characters): together with the markup they stay under MAX_TEXT.
TITLE_CHARS = 250
URL_CHARS = 800  # a longer link is dropped; the title is still shown
SOURCE_CHARS = 150
ALSO_CHARS = 200
SNIPPET_CHARS = 900
REASON_CHARS = 400

ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
URL_ESCAPES = {**ESCAPES, ord("<"): "%3C", ord(">"): "%3E", ord("|"): "%7C"}

MARKUP = ChatMarkup(
    escapes=ESCAPES,
    url_escapes=URL_ESCAPES,
    bold="*",
    link="*<{url}|{title}>*",
    quote=">",
    matched="Matched: {reasons}",
    date=lambda when, text: (
        f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{text}>"
    ),
    title_chars=TITLE_CHARS,
    url_chars=URL_CHARS,
    source_chars=SOURCE_CHARS,
    also_chars=ALSO_CHARS,
    snippet_chars=SNIPPET_CHARS,
    reason_chars=REASON_CHARS,
)


def body(digest: Digest, timezone: str = "UTC") -> dict[str, Any]:
    """The Block Kit message for ``digest``; fallback times in ``timezone``."""
    view = digest_view(digest, timezone)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(view.headline, MAX_HEADER)}},
        _context(f"{view.created_text} · digest {escape(view.digest_id, ESCAPES)}"),
    ]
    unseen = 0  # stories of the watches that found no room at all
    for index, section in enumerate(view.sections):
        last = index == len(view.sections) - 1
        left = MAX_BLOCKS - len(blocks) - (0 if last else 1)  # one kept for the final note
        # A watch needs room for its heading, one story and its "and N more".
        if unseen or left < 3:
            unseen += len(section.items) + section.omitted
            continue
        # Share the blocks left between the watches still to come, so the first cannot
        # take them all; what a watch does not use passes on to the next.
        share = max(3, left // (len(view.sections) - index))
        blocks.extend(_section(section, room=share))
    if unseen:
        blocks.append(_context(f"…and {unseen} more in other watches"))
    return {
        "text": clip(view.headline, MAX_TEXT, ESCAPES),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _section(section: SectionView, room: int) -> list[dict[str, Any]]:
    """The heading, the stories that fit in ``room`` blocks, and "and N more"."""
    heading = f"*{clip(section.watch, 200, ESCAPES)}* ({len(section.items) + section.omitted})"
    blocks = [_mrkdwn_section(heading)]
    shown = 0
    for item in section.items:
        if len(blocks) + 2 > room:  # keep one block for "and N more"
            break
        blocks.append(_mrkdwn_section(story_text(item, MARKUP)))
        shown += 1
    more = section.omitted + len(section.items) - shown
    if more:
        blocks.append(_context(f"…and {more} more in {clip(section.watch, 200, ESCAPES)}"))
    return blocks


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(text, MAX_TEXT), "verbatim": True}],
    }
