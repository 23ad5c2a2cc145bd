"""What a reader sees of a digest: display-ready values shared by every renderer.

:func:`digest_view` turns a :class:`~monitor.types.Digest` into plain values
that the email templates and the chat formats (Slack, Discord, Teams) all
read, so the rules about *what* is shown live in one place and each renderer
only decides *how* to write it in its own syntax (and escapes for it):

* **Clean text.** Feed strings are shown as one line of text: control
  characters and line breaks become spaces (a title can never start a new
  header, list item or Markdown block), runs of whitespace collapse, and the
  explicit bidi controls (U+202A-U+202E, U+2066-U+2069) are removed, so a
  hostile title cannot reverse the text after it (the "Trojan Source" trick).
  Arabic or Hebrew text needs none of them to display correctly.
* **Safe links.** Only ``http``/``https`` links survive (a stored digest built
  by an older version is checked again here), with whitespace, controls and
  bidi characters percent-encoded so a link stays one token on one line.
* **Times** in the alert's timezone, as ``2026-11-21 04:00 EST``: ISO order
  reads the same to Canadian, Mexican and US readers, and needs no locale.
* **Fallbacks** for digests stored before snippets existed: the summary is the
  snippet, the title has no highlights.

Highlighted parts stay ``(text, highlighted)`` pairs; nothing here is markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from monitor.redact import redact_urls
from monitor.types import Digest, DigestItem, FeedNotice

Part = tuple[str, bool]
"""A segment of text and whether it is a highlighted hit."""

PREHEADER_CHARS = 200  # inbox preview lines show 40-140 characters; more is wasted
ARTICLE_LABEL = "From the article: "
"""Starts a snippet cut from the article page of a ``full_text`` feed (the feed's own
summary did not hold the match)."""

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")
_LINK_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` as one display line: no controls, no bidi overrides, single spaces."""
    return _collapse(text).strip()


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", _BIDI.sub("", _CONTROLS.sub(" ", text)))


def clean_parts(parts: tuple[Part, ...] | list[Part]) -> tuple[Part, ...]:
    """Each segment cleaned (inner spaces kept), empty ones dropped, neighbours merged."""
    merged: list[Part] = []
    for raw, marked in parts:
        segment = _collapse(raw)
        if not segment:
            continue
        if merged and merged[-1][1] == marked:
            merged[-1] = (merged[-1][0] + segment, marked)
        elif merged and merged[-1][0].endswith(" ") and segment.startswith(" "):
            merged.append((segment[1:], marked))  # one space between parts, not two
        else:
            merged.append((segment, marked))
    if merged:  # no leading or trailing space around the whole
        merged[0] = (merged[0][0].lstrip(), merged[0][1])
        merged[-1] = (merged[-1][0].rstrip(), merged[-1][1])
    return tuple((text, marked) for text, marked in merged if text)


def safe_link(link: str | None) -> str | None:
    """``link`` if it is a web link, made one unbroken token; else None."""
    if not link:
        return None
    link = link.strip()
    if not link.lower().startswith(("http://", "https://")):
        return None
    return _LINK_UNSAFE.sub(lambda found: quote(found.group(), safe=""), link)


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    """``2026-11-21 04:00 EST`` in ``zone``; ``date unknown`` for None."""
    if value is None:
        return "date unknown"
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass(frozen=True, slots=True)
class Reason:
    """One watch that fired, with the query terms that matched."""

    watch: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ItemView:
    """One story as shown."""

    number: int
    """Position in the digest, from 1: lets a reader say "see 7"."""
    entry_id: int
    title: str
    """The clean title, without highlights."""
    title_parts: tuple[Part, ...]
    """The clean title as parts (one unhighlighted part when no match hit it)."""
    link: str | None
    source: str
    published: datetime | None
    published_text: str
    """Published time in the alert's timezone, or ``date unknown``."""
    snippet: tuple[Part, ...]
    """The text to show under the title; empty when it would only repeat the title."""
    reasons: tuple[Reason, ...]
    also: tuple[str, ...]
    """Other sources carrying the story."""

    @property
    def byline(self) -> str:
        """``Source · 2026-11-21 04:00 EST``."""
        return f"{self.source} · {self.published_text}"


@dataclass(frozen=True, slots=True)
class SectionView:
    """One watch's items."""

    watch: str
    anchor: str
    """An id for in-page links, made from the position (watch names are not ids)."""
    items: tuple[ItemView, ...]
    omitted: int

    @property
    def heading(self) -> str:
        """``usmca (12)``: the count includes the items left out."""
        return f"{self.watch} ({len(self.items) + self.omitted})"

    @property
    def more(self) -> str:
        """``and 3 more`` when items were left out, else empty."""
        return f"and {self.omitted} more" if self.omitted else ""


@dataclass(frozen=True, slots=True)
class DigestView:
    """A whole digest as shown."""

    alert: str
    digest_id: str
    created_text: str
    sections: tuple[SectionView, ...]
    shown: int
    omitted: int
    timezone: str
    attention: tuple[FeedNotice, ...] = ()
    """Feeds needing attention, as the digest carries them."""
    part: str = ""
    """``2 of 3`` for one part of a digest split to fit its channel."""

    @property
    def total(self) -> int:
        return self.shown + self.omitted

    @property
    def counts(self) -> str:
        """``12 new items`` (``…, 10 shown`` when some were left out)."""
        line = plural(self.total, "new item")
        return f"{line}, {self.shown} shown" if self.omitted else line

    @property
    def headline(self) -> str:
        """``desk: 12 new items`` (``…, part 2 of 3`` for a part of a split digest)."""
        return f"{self.alert}: {self.counts}" + (f", part {self.part}" if self.part else "")

    @property
    def items(self) -> tuple[ItemView, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @property
    def preheader(self) -> str:
        """The inbox preview line: the titles, as many as fit."""
        line = ""
        for item in self.items:
            candidate = f"{line} · {item.title}" if line else item.title
            if len(candidate) > PREHEADER_CHARS:
                if not line:
                    line = candidate[: PREHEADER_CHARS - 1].rstrip() + "…"
                break
            line = candidate
        return line


def digest_view(digest: Digest, timezone: str = "UTC") -> DigestView:
    """The display values of ``digest``, times in ``timezone`` (an IANA name)."""
    zone = ZoneInfo(timezone)
    sections = []
    number = 0
    for index, section in enumerate(digest.sections, start=1):
        items = []
        for item in section.items:
            number += 1
            items.append(_item_view(item, number, zone))
        sections.append(
            SectionView(
                watch=clean(section.watch),
                anchor=f"watch-{index}",
                items=tuple(items),
                omitted=section.omitted,
            )
        )
    return DigestView(
        alert=clean(digest.alert),
        digest_id=clean(digest.id),
        created_text=local_time(digest.created_at, zone),
        sections=tuple(sections),
        shown=digest.item_count,
        omitted=digest.omitted,
        timezone=timezone,
        part=clean(digest.part),
        attention=tuple(
            notice.model_copy(
                update={
                    "name": clean(notice.name),
                    "url": redact_urls(notice.url),  # a feed URL may carry a token
                    "last_error": clean(redact_urls(notice.last_error or "")) or None,
                }
            )
            for notice in digest.attention
        ),
    )


def _item_view(item: DigestItem, number: int, zone: ZoneInfo) -> ItemView:
    title = clean(item.title) or "(untitled)"
    title_parts = clean_parts(item.title_parts) or ((title, False),)
    if item.snippet_field == "title":
        snippet: tuple[Part, ...] = ()  # the title, highlighted, is shown already
    elif item.snippet_field == "article":  # the match is in the article page, not the feed
        snippet = ((ARTICLE_LABEL, False), *clean_parts(item.snippet))
    elif item.snippet:
        snippet = clean_parts(item.snippet)
    else:
        snippet = clean_parts([(item.summary, False)])
    return ItemView(
        number=number,
        entry_id=item.entry_id,
        title=title,
        title_parts=title_parts,
        link=safe_link(item.link),
        source=clean(item.source) or "unknown source",
        published=item.published,
        published_text=local_time(item.published, zone),
        snippet=snippet,
        reasons=tuple(
            Reason(clean(match.watch), tuple(t for t in map(clean, match.terms) if t))
            for match in item.matches
        ),
        also=tuple(name for name in map(clean, item.also) if name),
    )
