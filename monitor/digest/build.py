"""Build a digest: pure grouping and ordering, no I/O, no rendering.

Input: the entries queued for one alert (with their matches), the alert's
watch order, a digest id and ``now``. Output: a :class:`~monitor.types.Digest`
with one section per watch, newest first. An entry matching several of the
alert's watches appears once, under the first of them in the alert's order;
its other matches still travel with it, so the reader sees every reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.types import Digest, DigestItem, DigestSection, Match, StoredEntry

SNIPPET_CHARS = 400  # enough for two sentences; the full text is one click away


def build_digest(
    digest_id: str,
    alert: str,
    watches: Sequence[str],
    pending: Sequence[StoredEntry],
    now: datetime,
) -> Digest:
    """Group ``pending`` by the alert's ``watches`` (in that order), newest first."""
    order = {watch: index for index, watch in enumerate(watches)}
    sections: dict[str, list[DigestItem]] = {watch: [] for watch in watches}
    for stored in pending:
        relevant = tuple(m for m in stored.matches if m.watch in order)
        if not relevant:
            continue
        first = min(relevant, key=lambda m: order[m.watch]).watch
        sections[first].append(_item(stored, relevant))
    return Digest(
        id=digest_id,
        alert=alert,
        created_at=now,
        sections=tuple(
            DigestSection(watch=watch, items=tuple(sorted(items, key=_newest_first)))
            for watch, items in sections.items()
            if items
        ),
    )


def _item(stored: StoredEntry, matches: tuple[Match, ...]) -> DigestItem:
    entry = stored.entry
    return DigestItem(
        entry_id=stored.id,
        title=entry.title or "(untitled)",
        link=_safe_link(entry.link),
        source=entry.feed_name,
        published=entry.published,
        summary=_snippet(entry.summary or entry.content),
        matches=matches,
    )


def _safe_link(link: str | None) -> str | None:
    # A feed can publish javascript: or data: links; only web links reach a reader.
    if link and link.lower().startswith(("http://", "https://")):
        return link
    return None


def _snippet(text: str) -> str:
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text.rfind(" ", 0, SNIPPET_CHARS)
    return text[: cut if cut > SNIPPET_CHARS // 2 else SNIPPET_CHARS].rstrip(" ,;:") + " …"


def _newest_first(item: DigestItem) -> tuple[float, int]:
    stamp = item.published.timestamp() if item.published else 0.0
    return (-stamp, -item.entry_id)
