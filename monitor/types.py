"""Value objects passed between the pipeline's stages.

All of them are immutable. Stages never share mutable state; each takes
values in and hands new values on::

    fetch ──FetchResult──> parse ──ParsedFeed(Entry…)──> identify ──> dedup
          ──> match ──Match…──> store ──> digest ──Digest──> deliver

Datetimes are always timezone-aware UTC.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

_C = TypeVar("_C", bound=type)


def quick_pickle(cls: _C) -> _C:
    """Pickle a frozen, slotted dataclass as the tuple of its fields, in order.

    The state the dataclasses module gives such a class calls ``dataclasses.fields`` for
    every object pickled and again for every object unpickled. Every entry a parser
    process prepares crosses back to the polling process pickled: this way pickling one
    takes 3.4 µs instead of 9.3, unpickling it 3.9 instead of 6.7 (wire stories). Such a
    pickle lives only as long as the hop between two processes of one version, so the
    state carries no version."""
    if not (is_dataclass(cls) and "__slots__" in cls.__dict__):
        raise TypeError(f"{cls.__qualname__}: quick_pickle is for slotted dataclasses")
    names = tuple(f.name for f in fields(cls))
    read: Callable[[Any], Any] = operator.attrgetter(*names)
    if len(names) == 1:  # attrgetter of one name gives the value, not a tuple
        one = read

        def read(obj: Any) -> tuple[Any, ...]:
            return (one(obj),)

    write = object.__setattr__

    def __setstate__(self: Any, state: tuple[Any, ...]) -> None:
        for name, value in zip(names, state, strict=True):
            write(self, name, value)

    def __getstate__(self: Any) -> tuple[Any, ...]:
        state: tuple[Any, ...] = read(self)
        return state

    type.__setattr__(cls, "__getstate__", __getstate__)
    type.__setattr__(cls, "__setstate__", __setstate__)
    return cls


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one HTTP fetch of a feed brought back."""

    url: str
    """The URL that was requested (the feed's configured URL)."""
    final_url: str
    """The URL the body came from, after redirects."""
    status: int
    """HTTP status of the final response: 200, or 304 when unchanged."""
    content: bytes
    """The decoded body; empty when ``status`` is 304."""
    etag: str | None
    """The ``ETag`` validator to send as ``If-None-Match`` next time: the server's bytes
    read as Latin-1, one character a byte, so that they go back out unchanged."""
    last_modified: str | None
    """The ``Last-Modified`` validator to send as ``If-Modified-Since`` next time (read as
    ``etag`` is)."""
    content_type: str | None
    """The response's ``Content-Type`` header, used as an encoding hint."""
    fetched_at: datetime
    """When the response was received."""
    permanent_redirect: str | None = None
    """Where a 301/308 redirect pointed, so the stored feed URL can follow it."""

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304: nothing to parse."""
        return self.status == 304


@quick_pickle
@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, as parsed, with every string already plain text."""

    feed_url: str
    """The configured URL of the feed the item came from."""
    feed_name: str
    """The feed's display name (the ``source:`` field of a query)."""
    title: str
    """Title as plain text (HTML removed, entities decoded); may be empty."""
    link: str | None
    """The item's link as published (may carry tracking parameters)."""
    canonical_link: str | None
    """``link`` normalised: tracking parameters, fragments and case noise removed."""
    guid: str | None
    """The item's guid / Atom id, if the feed gave one."""
    summary: str
    """Summary or description as plain text; may be empty."""
    content: str = ""
    """Full content as plain text when the feed carries it (content:encoded)."""
    published: datetime | None = None
    """Published (or else updated) time in UTC; ``None`` when the feed gave none."""
    language: str | None = None
    """Language tag (``en``, ``fr-CA``) from the item or the feed, lower-cased."""
    author: str | None = None
    """Author name, if given."""
    tags: tuple[str, ...] = ()
    """The publisher's own keywords (JSON Feed ``tags``, news sitemap ``news:keywords``,
    RSS/Atom categories, ``dc:subject``, media categories and keywords), each once."""

    @property
    def text(self) -> str:
        """Summary and content together: the body that "no field" queries search."""
        if self.content and self.summary and self.summary in self.content:
            return self.content
        return "\n".join(part for part in (self.summary, self.content) if part)


@quick_pickle
@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A whole feed document after parsing."""

    url: str
    """The configured feed URL."""
    title: str
    """The feed's own title, if any."""
    entries: tuple[Entry, ...]
    """The items that could be read, in document order."""
    warning: str | None = None
    """Why the document was not clean (malformed XML that still yielded items)."""
    cut: str | None = None
    """What the size caps removed (items past the cap, clipped fields), in words."""


@quick_pickle
@dataclass(frozen=True, slots=True)
class Span:
    """Where one query term matched inside one field of an entry."""

    field: str
    """Which field: ``title``, ``summary``, ``content``, ``source``, ``url`` or ``lang``."""
    start: int
    """Start offset (characters) in that field's text as stored on the Entry."""
    end: int
    """End offset (exclusive)."""
    term: str
    """The query term or phrase that matched here, as written in the query."""


@quick_pickle
@dataclass(frozen=True, slots=True)
class Match:
    """A watch that fired on an entry, and why."""

    watch: str
    """The watch's name."""
    score: float = 1.0
    """Relevance score; compared against the watch's ``min_score``."""
    spans: tuple[Span, ...] = field(default_factory=tuple)
    """Every place a positive term of the query matched."""

    @property
    def terms(self) -> tuple[str, ...]:
        """The distinct matched terms, in order of first appearance."""
        seen: dict[str, None] = {}
        for span in self.spans:
            seen.setdefault(span.term, None)
        return tuple(seen)


class _Frozen(BaseModel):
    # Validators built at the first digest, not at import: a poll builds none, and every
    # command imports this module (#14: some 7 ms of start-up).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class DigestItem(_Frozen):
    """One story in a digest."""

    entry_id: int
    """Database id of the entry that represents the story."""
    title: str
    """Plain-text title (escaped only when rendered)."""
    link: str | None
    """Link to the story (the canonical form)."""
    source: str
    """Name of the feed that carried it first."""
    published: datetime | None
    """Published time (UTC) if known, else None."""
    summary: str
    """A plain-text snippet of the story."""
    matches: tuple[Match, ...]
    """The watches of this alert that fired, with their spans."""
    also: tuple[str, ...] = ()
    """Other sources carrying the same story."""
    snippet: tuple[tuple[str, bool], ...] = ()
    """A window of the item's text as ``(segment, is_highlighted)`` parts (see
    :func:`monitor.rules.snippet.make_snippet`): plain text, escaped only when rendered.
    Empty in digests built before snippets existed; renderers then show ``summary``."""
    snippet_field: str | None = None
    """The entry field the snippet was cut from: ``summary``, ``content`` or ``title``."""
    title_parts: tuple[tuple[str, bool], ...] = ()
    """The whole title as ``(segment, is_highlighted)`` parts, when a match hit the title;
    empty otherwise (the title is then shown as it is)."""


class DigestSection(_Frozen):
    """The items of one watch, newest first."""

    watch: str
    items: tuple[DigestItem, ...]
    omitted: int = 0
    """Items of this watch left out by the digest's ``max_items`` ("and N more")."""


class FeedNotice(_Frozen):
    """A feed that keeps failing, shown once in each alert's next digest."""

    name: str
    url: str
    failures: int
    """Consecutive failed polls."""
    last_error: str | None
    disabled: bool = False
    """The publisher answered 410 Gone: monitor stopped polling it."""


class Digest(_Frozen):
    """Everything one alert sends in one run, independent of the channel."""

    id: str
    """Stable id: the same digest resent after a crash keeps it (Message-ID, webhook-id)."""
    alert: str
    """The alert's name."""
    created_at: datetime
    """When the digest was built."""
    sections: tuple[DigestSection, ...]
    """One section per watch that has items, in the alert's watch order."""

    omitted: int = 0
    """Stories left out by ``max_items``: counted, named in "and N more", not shown."""

    attention: tuple[FeedNotice, ...] = ()
    """Feeds needing attention (failing or gone), each carried once per alert."""

    part: str = ""
    """``2 of 3`` when a digest too big for one message was split (see
    :mod:`monitor.digest.split`); empty for a whole digest."""

    @property
    def item_count(self) -> int:
        """How many stories the digest carries."""
        return sum(len(section.items) for section in self.sections)

    @property
    def total_count(self) -> int:
        """How many new stories there were: those carried plus those left out."""
        return self.item_count + self.omitted


@dataclass(frozen=True, slots=True)
class DuplicateOf:
    """Why an entry is not new: the duplicate decision, as stored and explained."""

    of_id: int
    """The stored entry (or seed) it duplicates; a negative number -(i + 1) points at
    the i-th entry of the same batch, not stored yet."""
    signal: str
    """``canonical_url``, ``guid``, ``text_hash`` or ``near_duplicate``."""
    score: float
    reason: str
    outcome: str
    """``joined``: a copy of a story still waiting to be delivered, shown as "also";
    ``suppressed``: a copy of something delivered, known (a seed) or never alerted."""


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry on its way into the store, with the decisions made about it."""

    key: str
    """Identity key (see :mod:`monitor.dedup.keys`); unique across the store."""
    entry: Entry
    """The parsed item."""
    alertable: bool
    """False for backfill (too old on a feed's first poll): stored, never alerted."""
    matches: tuple[Match, ...] = ()
    """The watches that fired on it."""
    duplicate: DuplicateOf | None = None
    """Set when it copies an article already known: then it is never queued itself."""
    dedup_keys: tuple[int, ...] = ()
    """Near-duplicate index keys to store for it."""
    comparison: bytes | None = None
    """Its comparison features, packed (:mod:`monitor.dedup.packed`), to store with it
    when it has index keys: a lookup that finds it reads them instead of fingerprinting
    its text again. None: it is fingerprinted again when found."""


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry read back from the store, with its matches."""

    id: int
    """Database id."""
    entry: Entry
    """The item as stored."""
    first_seen: datetime
    """When this monitor first stored it."""
    matches: tuple[Match, ...]
    """The watches that fired on it."""
    also: tuple[str, ...] = ()
    """Other sources whose copies of this story joined it (near-duplicates)."""
