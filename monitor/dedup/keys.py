"""Identify: one stable key per entry, so an item already stored is not new.

The key is the feed's guid when it gave one, else the entry's link, else a
hash of its visible text, scoped by feed URL: some feeds number their items
1, 2, 3, and two feeds must never shadow each other's items. (Recognising the
*same story* across feeds is near-duplicate detection's job, not identity's.)
Keys are SHA-256 hex digests, so any length of guid fits.

An identity key that merges two different items loses one of them for good:
the second is never stored, never matched, never shown. A key that splits one
item in two costs far less, because the duplicate stage still recognises the
second copy. So whenever a key is in doubt, it keeps items apart:

* a guid is opaque: ``page#8086-vm`` and ``page#alpine-js`` are two items,
  and so are links that differ only after ``#`` (one page, one anchor per
  item);
* a link is an item's identity only while no other item of the same document
  carries it with other text: a feed that points every item at its home page
  or at one "now" page says nothing about which item is which, so those items
  are told apart by their text instead;
* the text key covers the title, the summary and the content.

Upgrading: earlier versions dropped the fragment of a link key and keyed text
on title and summary only. Items stored under those older forms must not look
new after an upgrade (a flood of re-alerts), yet the items the older forms
wrongly merged must now come through. :func:`legacy_keys` gives an entry's
older-form keys; the pipeline counts an entry as known under one of them only
when the entry stored under it has the same title and text, i.e. it *is* that
item. Keys are only ever compared within a feed, so no data migration is
needed and nothing is rewritten.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import urlsplit

from monitor.parse.urls import canonical_url
from monitor.types import Entry

# A guid with a scheme or this long is taken to be unique across feeds;
# anything shorter ("12345") is only unique within its own feed.
_GLOBAL_GUID_MIN_LENGTH = 24


def _digest(*parts: str) -> str:
    basis = "\x00".join(parts)
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def link_identity(link: str) -> str:
    """The canonical form of ``link`` with its fragment kept: which item, not only which page."""
    canonical = canonical_url(link)
    fragment = urlsplit(link.strip()).fragment
    return f"{canonical}#{fragment}" if fragment else canonical


def guid_key(guid: str | None, feed_url: str | None) -> str | None:
    """The comparable form of a guid across feeds, or None when it cannot identify an article.

    A URL guid is compared in its canonical form (``http``/``https``,
    ``www.`` and tracking parameters fold away) but keeps its fragment: feeds
    such as a "now" page or a comment thread give every item the page's
    address plus its own anchor.
    """
    if guid is None or not guid.strip():
        return None
    value = guid.strip()
    if value.lower().startswith(("http://", "https://")):
        return "url:" + link_identity(value)
    if value.lower().startswith(("urn:", "tag:")) or len(value) >= _GLOBAL_GUID_MIN_LENGTH:
        return "id:" + value
    if feed_url:
        return f"feed:{canonical_url(feed_url)}#{value}"
    return None


def _link(entry: Entry) -> str | None:
    link = entry.link or entry.canonical_link
    return link_identity(link) if link and link.strip() else None


def _text(entry: Entry) -> tuple[str, str, str]:
    return entry.title.strip(), entry.summary.strip(), entry.content.strip()


def entry_key(entry: Entry, link_trusted: bool = True) -> str:
    """The identity key of ``entry``: 64 hex characters.

    ``link_trusted=False`` says the entry's link is shared by other items of
    its document (see :func:`shared_links`): the text then tells it apart.
    """
    if entry.guid and entry.guid.strip():
        return _digest("guid", entry.feed_url, entry.guid.strip())
    link = _link(entry)
    if link is not None and link_trusted:
        return _digest("url", entry.feed_url, link)
    return _digest("text", entry.feed_url, link or "", *_text(entry))


def shared_links(entries: Sequence[Entry]) -> frozenset[str]:
    """The links (as :func:`link_identity`) that several items of one document carry with
    different text: such a link names a page, not an item."""
    texts: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for entry in entries:
        link = _link(entry)
        if link is not None:
            texts[link].add(_text(entry))
    return frozenset(link for link, seen in texts.items() if len(seen) > 1)


def link_trusted(entry: Entry, shared: frozenset[str]) -> bool:
    """False when ``entry``'s link is one of the document's ``shared`` links."""
    link = _link(entry)
    return link is None or link not in shared


def entry_keys(entries: Sequence[Entry]) -> list[str]:
    """The identity key of each of ``entries``, one document's items, in order."""
    shared = shared_links(entries)
    return [entry_key(entry, link_trusted(entry, shared)) for entry in entries]


def legacy_keys(entry: Entry) -> tuple[str, ...]:
    """The keys earlier versions stored ``entry`` under, where they differ from today's.

    Before: a link key dropped the fragment, and the text key hashed the title
    and the summary only. A guid key has not changed.
    """
    if entry.guid and entry.guid.strip():
        return ()
    older: list[str] = []
    if entry.link:
        older.append(
            _digest("url", entry.feed_url, entry.canonical_link or canonical_url(entry.link))
        )
    else:
        older.append(_digest("text", entry.feed_url, entry.title.strip(), entry.summary.strip()))
    current = {entry_key(entry, True), entry_key(entry, False)}
    return tuple(key for key in dict.fromkeys(older) if key not in current)


def item_text(entry: Entry) -> tuple[str, str, str]:
    """What makes an item itself: its title, summary and content (outer spaces aside)."""
    return _text(entry)
