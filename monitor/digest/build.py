"""Build a digest: pure grouping, ordering and snippet cutting; no I/O, no rendering.

Input: the entries queued for one alert (with their matches), the alert's
watch order, a digest id and ``now``. Output: a :class:`~monitor.types.Digest`
that every channel renders the same way.

* **Stories, then watches.** Each story appears once, as its first entry;
  the other sources that carried it (near-duplicates grouped by the dedup
  stage) come as ``DigestItem.also`` and the digest shows them. An
  entry matching several of the alert's watches is listed under the first of
  them in the alert's order; its other matches travel with it, so the reader
  sees every reason.
* **Newest first** within a watch: by published time, else by when monitor
  first saw the entry (a feed without dates should not sink to the bottom),
  ties broken by the newer database id.
* **max_items.** When there are more stories than a reader can use, the digest
  keeps ``max_items`` of them, shared round-robin between the watches (the
  newest of each watch first), so a noisy watch cannot crowd a quiet one out;
  the rest are counted in ``omitted`` and rendered as "and N more".
* **Highlights.** Each item carries a snippet as ``(segment, highlighted)``
  parts cut by :func:`monitor.rules.snippet.make_snippet` around the first hit,
  and the title as parts when a match hit the title. Parts are plain text:
  renderers escape them for their own syntax, so nothing here builds markup.

Times stay UTC here; renderers show them in the alert's timezone, so one
digest renders the same for every channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from monitor.parse.limits import clip
from monitor.rules.snippet import make_snippet
from monitor.types import Digest, DigestItem, DigestSection, Entry, Match, Span, StoredEntry

SUMMARY_CHARS = 400  # the ``summary`` field: two sentences; the full text is one click away
SNIPPET_WIDTH = 240  # the highlighted window: about three lines of an email
TITLE_CHARS = 1_000  # the default of delivery.digest_title_chars
ALSO_NAMES = 20  # "also carried by": more names than this read as noise; the rest are counted


def build_digest(
    digest_id: str,
    alert: str,
    watches: Sequence[str],
    pending: Sequence[StoredEntry],
    now: datetime,
    *,
    max_items: int | None = None,
    snippet_width: int = SNIPPET_WIDTH,
    title_chars: int = TITLE_CHARS,
) -> Digest:
    """Group ``pending`` by the alert's ``watches`` (in that order), newest first.

    ``max_items`` (None: no limit) caps the stories shown; the others are
    counted in ``Digest.omitted`` and ``DigestSection.omitted``. Each title is
    clipped to ``title_chars``: whatever was stored, no one item can swell a
    message past what a mail server or a receiver accepts.
    """
    if max_items is not None and max_items < 1:
        raise ValueError("max_items must be at least 1")
    order = {watch: index for index, watch in enumerate(watches)}
    grouped: dict[str, list[tuple[tuple[float, int], DigestItem]]] = {w: [] for w in order}
    for stored in pending:
        relevant = tuple(m for m in stored.matches if m.watch in order)
        if not relevant:
            continue
        first = min(relevant, key=lambda m: order[m.watch]).watch
        item = _item(stored, relevant, snippet_width, title_chars)
        grouped[first].append((_newest_first(stored), item))
    ordered = {
        watch: [item for _, item in sorted(pairs, key=lambda pair: pair[0])]
        for watch, pairs in grouped.items()
        if pairs
    }
    shown = _share(ordered, max_items)
    sections = tuple(
        DigestSection(
            watch=watch,
            items=tuple(items[: shown[watch]]),
            omitted=len(items) - shown[watch],
        )
        for watch, items in ordered.items()
    )
    return Digest(
        id=digest_id,
        alert=alert,
        created_at=now,
        sections=sections,
        omitted=sum(section.omitted for section in sections),
    )


def _share(sections: dict[str, list[DigestItem]], max_items: int | None) -> dict[str, int]:
    """How many items each section shows: all, or ``max_items`` dealt out round-robin."""
    if max_items is None or sum(len(items) for items in sections.values()) <= max_items:
        return {watch: len(items) for watch, items in sections.items()}
    shown = dict.fromkeys(sections, 0)
    budget = max_items
    while budget:
        # Each round gives every watch that still has items its next-newest one.
        for watch, items in sections.items():
            if budget and shown[watch] < len(items):
                shown[watch] += 1
                budget -= 1
    return shown


def _item(
    stored: StoredEntry, matches: tuple[Match, ...], width: int, title_chars: int
) -> DigestItem:
    entry = stored.entry
    field, snippet = _snippet(entry, matches, width)
    also = stored.also
    if len(also) > ALSO_NAMES:
        also = (*also[:ALSO_NAMES], f"{len(also) - ALSO_NAMES} more")
    return DigestItem(
        entry_id=stored.id,
        title=clip(entry.title, title_chars) or "(untitled)",
        link=_safe_link(entry.link),
        source=entry.feed_name,
        published=entry.published,
        summary=_shortened(entry.summary or entry.content),
        matches=matches,
        snippet=snippet,
        snippet_field=field,
        title_parts=_title_parts(entry.title, matches, title_chars),
        also=also,
    )


def _snippet(
    entry: Entry, matches: tuple[Match, ...], width: int
) -> tuple[str | None, tuple[tuple[str, bool], ...]]:
    """The snippet's field and parts.

    The body field that holds a hit comes first (the snippet is there to show
    why the item matched), then the summary, the content, and last the title
    for items that carry nothing else. A hit only in the article page's text of a
    ``full_text`` feed (field ``article``) is shown from there; the view says so.
    """
    texts = {
        "summary": entry.summary,
        "content": entry.content,
        "article": entry.content,  # the article page's text, read for a full_text feed
        "title": entry.title,
    }
    spans = {name: [s for m in matches for s in m.spans if s.field == name] for name in texts}
    with_hits = [name for name in ("summary", "content", "article") if texts[name] and spans[name]]
    with_text = [name for name in ("summary", "content", "title") if texts[name].strip()]
    candidates = with_hits or with_text
    if not candidates:
        return None, ()
    name = candidates[0]
    return name, _cut(texts[name], spans[name], width)


def _title_parts(
    title: str, matches: tuple[Match, ...], title_chars: int
) -> tuple[tuple[str, bool], ...]:
    spans = [s for m in matches for s in m.spans if s.field == "title"]
    if not title.strip() or not spans:
        return ()
    # A window as wide as the text is the whole text (make_snippet's contract), so this
    # is the full title with its hits marked and its whitespace runs collapsed; a title
    # longer than ``title_chars`` shows the window around its first hit.
    return _cut(title, spans, width=min(len(title), title_chars))


def _cut(text: str, spans: Sequence[Span], width: int) -> tuple[tuple[str, bool], ...]:
    """make_snippet over ``text`` without its outer whitespace, spans shifted to match.

    make_snippet marks a window that stops short of the text's end with "…", and
    trailing whitespace makes it stop short: strip first so only real cuts are marked.
    """
    lead = len(text) - len(text.lstrip())
    core = text.strip()
    shifted = [replace(s, start=s.start - lead, end=s.end - lead) for s in spans]
    return make_snippet(core, shifted, max(1, min(width, len(core))) if core else width)


def _safe_link(link: str | None) -> str | None:
    # A feed can publish javascript: or data: links; only web links reach a reader.
    if link and link.strip().lower().startswith(("http://", "https://")):
        return link.strip()
    return None


def _shortened(text: str) -> str:
    if len(text) <= SUMMARY_CHARS:
        return text
    cut = text.rfind(" ", 0, SUMMARY_CHARS)
    return text[: cut if cut > SUMMARY_CHARS // 2 else SUMMARY_CHARS].rstrip(" ,;:") + " …"


def _newest_first(stored: StoredEntry) -> tuple[float, int]:
    stamp = stored.entry.published or stored.first_seen
    return (-stamp.timestamp(), -stored.id)
