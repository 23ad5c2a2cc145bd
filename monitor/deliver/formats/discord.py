"""``discord``: an execute-webhook message with one embed per watch.

The message ``content`` is the headline; each watch gets an embed (its colour
tells watches apart) whose description lists the stories::

    **[Title of the story](https://…)**
    Source · <t:1763712000:f> · also carried by …
    > snippet with the **matched words** in bold
    *Matched: usmca (USMCA, CUSMA)*

One embed per watch rather than per story: ten embeds would show ten stories,
while a list shows as many as Discord's 6,000 characters allow.

Discord's rules, and how they are kept:

* **Escaping.** Every Markdown character in feed text gets a backslash
  (Discord drops the backslash before any punctuation), so a title cannot
  make a heading, a list, a spoiler, a masked link, a timestamp or a mention;
  ``allowed_mentions`` is empty, so even a mention that got through would
  ping nobody. Links are percent-encoded where ``[text](url)`` would break.
* **Limits.** At most 10 embeds; 256 characters per embed title, 4,096 per
  description, 6,000 over all embeds together; 2,000 for ``content``. Pieces
  are cut (at a word, with ``…``) before they are joined, and stories that do
  not fit are summarised as "…and N more".
* **Times** use Discord's ``<t:…:f>`` token, which each reader sees in their
  own timezone; the alert's timezone is used where a token cannot go.
"""

from __future__ import annotations

from typing import Any

from monitor.deliver.formats.chat import ChatMarkup, story_text
from monitor.deliver.formats.fit import clip, escape
from monitor.digest.view import SectionView, digest_view
from monitor.types import Digest

MAX_EMBEDS = 10
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_EMBED_TOTAL = 6000
MAX_CONTENT = 2000
TITLE_CHARS = 200
URL_CHARS = 500
SOURCE_CHARS = 100
ALSO_CHARS = 150
SNIPPET_CHARS = 220
REASON_CHARS = 200
MORE_ROOM = 80  # kept free in a description for its "…and N more in WATCH" line

_MARKDOWN = "\\*_~`|>#-[]()<@:."
ESCAPES = {ord(char): "\\" + char for char in _MARKDOWN}
# Only what would end or break ``[text](url)``; the rest of a URL is not Markdown.
URL_ESCAPES = {ord(char): f"%{ord(char):02X}" for char in "()<>[] \\"}
COLOURS = (0x0B57D0, 0x1A7F37, 0x9A6700, 0x8250DF, 0xCF222E, 0x0969DA, 0xBF3989, 0x57606A)

MARKUP = ChatMarkup(
    escapes=ESCAPES,
    url_escapes=URL_ESCAPES,
    bold="**",
    link="**[{title}]({url})**",
    quote="> ",
    matched="*Matched: {reasons}*",
    date=lambda when, _text: f"<t:{int(when.timestamp())}:f>",
    title_chars=TITLE_CHARS,
    url_chars=URL_CHARS,
    source_chars=SOURCE_CHARS,
    also_chars=ALSO_CHARS,
    snippet_chars=SNIPPET_CHARS,
    reason_chars=REASON_CHARS,
)


def body(digest: Digest, timezone: str = "UTC") -> dict[str, Any]:
    """The execute-webhook JSON for ``digest``; fallback times in ``timezone``."""
    view = digest_view(digest, timezone)
    embeds: list[dict[str, Any]] = []
    budget = MAX_EMBED_TOTAL
    unseen = 0  # stories of the watches that found no room at all
    for index, section in enumerate(view.sections):
        if unseen or len(embeds) == MAX_EMBEDS or budget < MAX_TITLE + MORE_ROOM + 200:
            unseen += len(section.items) + section.omitted
            continue
        # Share what is left between the watches still to come, so the first cannot take
        # it all; what a watch does not use passes on to the next.
        waiting = min(MAX_EMBEDS - len(embeds), len(view.sections) - index)
        embed = _embed(section, COLOURS[index % len(COLOURS)], budget // waiting, budget)
        budget -= len(embed["title"]) + len(embed["description"])
        embeds.append(embed)
    content = f"**{escape(view.alert, ESCAPES)}**: {view.counts} · {view.created_text}"
    if unseen:
        content += f"\n…and {unseen} more in other watches"
    return {
        "username": "monitor",
        "content": clip(content, MAX_CONTENT),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},
    }


def _embed(section: SectionView, colour: int, share: int, budget: int) -> dict[str, Any]:
    """The watch's embed: stories within ``share`` characters, the first within ``budget``."""
    # The watch name comes from the config (letters, digits, - _ . and spaces), not a feed.
    title = clip(section.heading, MAX_TITLE)
    hard = min(MAX_DESCRIPTION, budget - len(title)) - MORE_ROOM
    soft = min(hard, share - len(title) - MORE_ROOM)
    chunks: list[str] = []
    used = 0
    for item in section.items:
        chunk = story_text(item, MARKUP)
        cost = len(chunk) + (2 if chunks else 0)  # the blank line between stories
        if used + cost > (soft if chunks else hard):  # one story even in a small share
            break
        chunks.append(chunk)
        used += cost
    more = section.omitted + len(section.items) - len(chunks)
    if more:
        chunks.append(clip(f"…and {more} more in {section.watch}", MORE_ROOM - 2, ESCAPES))
    return {"title": title, "description": "\n\n".join(chunks), "color": colour}
