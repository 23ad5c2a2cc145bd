"""Focus: how much an entry is *about* the terms that matched, from where and how often they occur.

A term in the headline says more than one mention deep in a long article.
Each hit of a query gets a value from its place:

* in the title: ``title_weight`` (1.0): the story is about it;
* in the lead, the first ``lead_words`` (50) words of the summary or of the
  content: ``lead_weight`` (0.5) each;
* deeper in the body: ``deep_weight`` (0.1) each, and all of them together at
  most ``deep_cap`` (0.5): a word mentioned only far down is never worth
  more than one mention in the lead, however often it comes back.

The figures come in as a :class:`~monitor.rules.settings.RuleSettings` (the
config's ``rules:`` section, where each one's reason is given).

The focus of a set of hits is the sum of their values (hits that overlap, such
as "trade talks" and "trade", are one mention), capped at 1. Hits in ``source:``, ``url:`` and ``lang:`` say
where an entry comes from, not what it is about: they do not count.

The focus of a query follows its shape: an ``AND`` is as focused as the least
focused of its parts (each thing the watch asks for has to be prominent, so a
long article about something else that names Canada once does not qualify);
anything else (a term, an ``OR``, an alias group, ``NEAR``) is the focus of
its hits together; ``NOT`` has none. A watch's ``min_focus`` drops matches
below it, and a topic guard compares its own focus with the watch's (see
:mod:`monitor.rules.guards`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from monitor.rules.evaluate import Context, Hit, evaluate
from monitor.rules.fields import FIELD_RANK
from monitor.rules.nodes import And, Node, Not
from monitor.rules.settings import RuleSettings

_TITLE: Final = FIELD_RANK["title"]
_BODY: Final = frozenset((FIELD_RANK["summary"], FIELD_RANK["content"]))


def place(hit: Hit, lead_words: int) -> str | None:
    """``title``, ``lead`` or ``body`` for a hit in those parts; ``None`` for source, url, lang."""
    if hit[0] == _TITLE:
        return "title"
    if hit[0] in _BODY:
        return "lead" if hit[4] < lead_words else "body"
    return None


def hits_focus(hits: Iterable[Hit], settings: RuleSettings) -> float | None:
    """The focus of these hits together; ``None`` when none is in the title or body."""
    # place() inlined and the mentions counted as they come: this runs for
    # every matching rule of every entry.
    lead_words = settings.lead_words
    title = lead = body = 0
    field = -1  # field and end of the mention being read
    reach = 0
    for hit in sorted(hits):
        rank = hit[0]
        if rank != _TITLE and rank not in _BODY:
            continue
        if rank == field and hit[1] < reach:
            # Overlapping hits ("trade talks" and "trade") are one mention.
            reach = max(reach, hit[2])
            continue
        field, reach = rank, hit[2]
        if rank == _TITLE:
            title += 1
        elif hit[4] < lead_words:
            lead += 1
        else:
            body += 1
    if not (title or lead or body):
        return None
    deep = min(settings.deep_cap, settings.deep_weight * body)
    total = settings.title_weight * title + settings.lead_weight * lead + deep
    return min(1.0, total)


def node_focus(node: Node, context: Context, settings: RuleSettings) -> float | None:
    """The focus of ``node`` on the entry being matched (see the module docstring)."""
    if type(node) is And:
        parts = [
            value
            for child in node.children
            if (value := node_focus(child, context, settings)) is not None
        ]
        return min(parts) if parts else None
    if type(node) is Not:
        return None
    hits = evaluate(node, context)
    return None if not hits else hits_focus(hits, settings)
