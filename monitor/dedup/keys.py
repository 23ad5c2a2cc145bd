"""Identify: one stable key per entry, so an item already stored is not new.

The key is the feed's guid when it gave one, else the canonical link, else a
hash of the visible text. guids and links are scoped by feed URL: some feeds
number their items 1, 2, 3, and two feeds must never shadow each other's items.
(Recognising the *same story* across feeds is near-duplicate detection's job,
not identity's.) Keys are SHA-256 hex digests, so any length of guid fits.
"""

from __future__ import annotations

import hashlib

from monitor.parse.urls import canonical_url
from monitor.types import Entry


def entry_key(entry: Entry) -> str:
    """The identity key of ``entry``: 64 hex characters."""
    if entry.guid:
        basis = f"guid\x00{entry.feed_url}\x00{entry.guid.strip()}"
    elif entry.link:
        basis = f"url\x00{entry.feed_url}\x00{entry.canonical_link or canonical_url(entry.link)}"
    else:
        basis = f"text\x00{entry.feed_url}\x00{entry.title.strip()}\x00{entry.summary.strip()}"
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()
