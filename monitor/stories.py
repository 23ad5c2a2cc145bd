"""Which copy of a story leads it: the earliest, whatever order the feeds came in.

A story is stored as the entry that happened to be judged first (its root,
the one queued for alerts) and the copies that joined it. Which feed a poll
finishes first is an accident of the network, so the root is not what the
reader should see: the digest shows the copy that was published first.

"Published first" uses the feed's own time, clamped to when monitor first saw
the entry: a missing time, or one in the future (a wrong clock, a scheduled
post), cannot put a copy ahead of one that was really there earlier. Ties are
broken by the link, the feed and the title, never by database ids or arrival
order, so every run over the same feeds picks the same leader.

Only a copy that matched every watch its root matched may lead: the digest
lists an item under its watches and highlights its own matches, so a copy
that did not match them (another headline, a shorter text) cannot stand in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.types import StoredEntry


def first_published(stored: StoredEntry) -> datetime:
    """The entry's published time, clamped to when it was first seen."""
    published = stored.entry.published
    if published is None or published > stored.first_seen:
        return stored.first_seen
    return published


def _order(stored: StoredEntry) -> tuple[datetime, str, str, str]:
    entry = stored.entry
    return (first_published(stored), entry.link or "", entry.feed_url, entry.title)


def story_leader(root: StoredEntry, copies: Sequence[StoredEntry]) -> StoredEntry:
    """The story's lead: ``root`` itself, or one of the ``copies`` that joined it.

    The result keeps the root's id (the story's place in the alert queue) and
    carries the lead's entry, matches and first-seen time; ``also`` names the
    story's other sources.
    """
    watches = {match.watch for match in root.matches}
    eligible = [root] + [c for c in copies if watches <= {m.watch for m in c.matches}]
    lead = min(eligible, key=_order)
    if lead is root:
        return root
    others = [root.entry.feed_name] + [c.entry.feed_name for c in copies if c is not lead]
    also = tuple(dict.fromkeys(name for name in others if name != lead.entry.feed_name))
    return StoredEntry(
        id=root.id, entry=lead.entry, first_seen=lead.first_seen, matches=lead.matches, also=also
    )
