"""What every source type is: one document in, one :class:`ParsedFeed` out, same limits.

A *source type* (RSS/Atom, JSON Feed, news sitemap) is one module exposing a
:class:`SourceType`: a name, a test that recognises its documents, and a parse.
Whatever the format, the entries are the same :class:`~monitor.types.Entry`
values and pass through :func:`bounded`, so the caps on items and text fields
(``fetch.max_items_per_feed``, ``fetch.max_*_chars``) and their "what was cut"
wording are the same for all; the future-date clamp and everything after it
happen later, in the pipeline, on entries that no longer know their format.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.parse.limits import ItemLimits, clip_entry, describe_cut, newest
from monitor.types import Entry, ParsedFeed


@dataclass(frozen=True, slots=True)
class Document:
    """One fetched body, as a source type's parser receives it."""

    content: bytes
    """The decoded body (transfer encodings already undone by the fetcher)."""
    url: str
    """The configured feed URL: names the entries' feed and every error."""
    name: str
    """The feed's display name."""
    content_type: str | None = None
    """The server's Content-Type header, if any."""
    base: str | None = None
    """Where the body was served from after redirects; relative links resolve against it."""
    fast: bool = True
    """Whether the RSS/Atom lxml fast path may be used (``fetch.fast_parse``)."""

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased ('' when none)."""
        return (self.content_type or "").split(";")[0].strip().lower()


@dataclass(frozen=True, slots=True)
class SourceType:
    """One kind of feed document. Each source module defines one, named ``SOURCE``."""

    name: str
    """What the config's ``type:`` calls it, and logs and errors name it."""
    looks_like: Callable[[bytes, str], bool]
    """Given the body's first bytes (byte-order mark and leading space removed) and its
    media type: is this a document of this type? Cheap; it never parses the whole body."""
    parse: Callable[[Document, ItemLimits | None], ParsedFeed]
    """The whole document to a feed, within the limits; raises ParseError naming the URL."""


def bounded(
    url: str,
    title: str,
    entries: Sequence[Entry],
    limits: ItemLimits | None,
    warning: str | None = None,
) -> ParsedFeed:
    """The feed with, under ``limits``, only its newest entries and their text clipped,
    saying what was cut (the same words RSS and Atom feeds get)."""
    kept: Sequence[Entry] = entries
    cut = None
    if limits is not None:
        kept = newest(entries, limits.max_items, _stamp)
        pairs = [clip_entry(entry, limits) for entry in kept]
        kept = [entry for entry, _ in pairs]
        clipped = Counter(field for _, fields in pairs for field in fields)
        cut = describe_cut(len(entries), len(kept), clipped, limits)
    return ParsedFeed(url=url, title=title, entries=tuple(kept), warning=warning, cut=cut)


def _stamp(entry: Entry) -> float | None:
    return entry.published.timestamp() if entry.published else None


def utc(value: datetime) -> datetime:
    """An aware UTC time; a time without an offset is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def language_tag(value: object) -> str | None:
    """A language tag as entries carry it (``fr-ca``), or None when absent or not text."""
    if not isinstance(value, str):
        return None
    return value.strip().lower().replace("_", "-") or None
