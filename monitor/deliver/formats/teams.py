"""``teams``: an Adaptive Card message for Microsoft Teams.

The body is the message a Teams workflow ("When a Teams webhook request is
received" then "Post card in a chat or channel") or an incoming webhook
accepts: ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}``. The card
(schema version 1.4) has the alert and counts at the top, then a container
per watch, with one clickable container per story: the title, source and
time, the snippet with the matched words highlighted, and why it matched.

**No escaping is needed, by construction.** Every string from a feed goes into
a ``TextRun`` of a ``RichTextBlock``, and text runs are never parsed as
Markdown (``TextBlock`` text would be), so a title can neither format nor
link. Matched words use the run's own ``highlight`` flag. Links only go into
``Action.OpenUrl`` and are web links (see :mod:`monitor.digest.view`).

**Limits.** Teams refuses a message over 28 KB; the card is filled story by
story while its serialized size stays under :data:`MAX_BYTES`, and the
stories that do not fit are summarised as "…and N more". Times are shown in
the alert's timezone (text runs cannot hold Adaptive Card date functions).
"""

from __future__ import annotations

import json
from typing import Any

from monitor.deliver.formats.fit import clip, fit_parts
from monitor.digest.view import ItemView, Part, SectionView, digest_view
from monitor.types import Digest

CARD_VERSION = "1.4"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 26_000  # Teams' limit is 28 KB for the whole request; the rest is margin
TITLE_CHARS = 250
META_CHARS = 400
SNIPPET_CHARS = 400
REASON_CHARS = 300
URL_CHARS = 2000


def _size(element: Any) -> int:
    """Bytes ``element`` adds to the body, as the webhook channel serializes it."""
    return len(json.dumps(element, ensure_ascii=False, separators=(",", ":")).encode()) + 1


def body(digest: Digest, timezone: str = "UTC") -> dict[str, Any]:
    """The Teams message for ``digest``, times in ``timezone``."""
    view = digest_view(digest, timezone)
    card_body: list[dict[str, Any]] = [
        _rich([_run(view.alert, size="Large", weight="Bolder")]),
        _rich(
            [_run(f"{view.counts} · {view.created_text}", size="Small", isSubtle=True)],
            spacing="None",
        ),
    ]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": card_body,
    }
    message = {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }
    note_room = _size(_note("…and 100000 more in other watches"))
    used = _size(message)
    unseen = 0  # stories of the watches that found no room at all
    for index, section in enumerate(view.sections):
        left = MAX_BYTES - used - note_room
        # Share the bytes left between the watches still to come, so the first cannot take
        # them all (it may still take more to show one story); unused bytes pass on.
        share = left // (len(view.sections) - index)
        container = _section(section, share, left) if not unseen else None
        if container is None:
            unseen += len(section.items) + section.omitted
            continue
        card_body.append(container)
        used += _size(container)
    if unseen:
        card_body.append(_note(f"…and {unseen} more in other watches"))
    return message


def _section(section: SectionView, share: int, room: int) -> dict[str, Any] | None:
    """The watch's container: stories within ``share`` bytes, the first within ``room``.

    None when not even one story fits in ``room``.
    """
    heading = _rich([_run(section.heading, weight="Bolder", color="Accent")])
    container: dict[str, Any] = {
        "type": "Container",
        "separator": True,
        "spacing": "Medium",
        "items": [heading],
    }
    more_room = _size(_note(f"…and 100000 more in {section.watch}"))
    used = _size(container) + more_room
    shown = 0
    for item in section.items:
        story = _story(item)
        if used + _size(story) > (share if shown else room):
            break
        container["items"].append(story)
        used += _size(story)
        shown += 1
    more = section.omitted + len(section.items) - shown
    if more:
        container["items"].append(_note(f"…and {more} more in {section.watch}"))
    if (section.items and not shown) or _size(container) > room:
        return None
    return container


def _story(item: ItemView) -> dict[str, Any]:
    title = _parts_runs(item.title_parts, TITLE_CHARS, weight="Bolder")
    if item.link:
        for run in title:
            run["color"] = "Accent"  # the colour of a link: the story opens on click
    meta = item.byline + (f" · also carried by {', '.join(item.also)}" if item.also else "")
    items = [
        _rich(title),
        _rich([_run(clip(meta, META_CHARS), size="Small", isSubtle=True)], spacing="None"),
    ]
    if item.snippet:
        items.append(_rich(_parts_runs(item.snippet, SNIPPET_CHARS), spacing="Small"))
    if item.reasons:
        reasons = "; ".join(
            f"{r.watch} ({', '.join(r.terms)})" if r.terms else r.watch for r in item.reasons
        )
        items.append(
            _rich(
                [_run("Matched: " + clip(reasons, REASON_CHARS), size="Small", isSubtle=True)],
                spacing="Small",
            )
        )
    story: dict[str, Any] = {"type": "Container", "spacing": "Medium", "items": items}
    if item.link and len(item.link) <= URL_CHARS:
        story["selectAction"] = {"type": "Action.OpenUrl", "url": item.link, "title": "Open"}
    return story


def _parts_runs(parts: tuple[Part, ...], limit: int, **style: Any) -> list[dict[str, Any]]:
    """Text runs for ``parts`` cut to ``limit`` characters; hits highlighted."""
    runs: list[dict[str, Any]] = []
    left = limit
    for text, hit in parts:
        if left <= 0:
            break
        shown = fit_parts(((text, hit),), left)
        left -= len(shown)
        runs.append(_run(shown, highlight=True, **style) if hit else _run(shown, **style))
        if shown != text:
            break
    return runs


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _rich(inlines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": inlines, **extra}


def _note(text: str) -> dict[str, Any]:
    return _rich([_run(text, italic=True, isSubtle=True, size="Small")], spacing="Small")
