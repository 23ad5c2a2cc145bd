"""Looking an article up among the stored ones, through a small storage Protocol.

The index is one many-to-many relation, *key → article id*, where an
article's keys (all signed 64-bit integers, see :mod:`monitor.dedup.signature`)
are of three strengths:

* exact keys: canonical URL, guid, text hash;
* opening keys: the first words of each of the first sentences;
* band keys: MinHash LSH bands of the whole body and of its lead.

Alongside, the store keeps each article's title, body, link, guid and feed URL
(which it stores anyway), and the comparison features it was fingerprinted with,
packed (:mod:`monitor.dedup.packed`): a candidate is compared exactly, on the
body's exact shingles rather than an estimate, from its packed features, or
fingerprinted again from its text where it has none.

A lookup (:func:`find_duplicate`) makes three key queries at most:

1. ids sharing an exact or opening key; if one of them is a duplicate, that
   settles it (a URL, guid or text-hash match needs no second query);
2. ids sharing band keys, most shared bands first: every candidate sharing at
   least two bands, up to ``max_candidates``, then at most
   ``single_band_candidates`` sharing only one. A single band is what two
   short items with one stock phrase ("prime minister mark carney said") have
   in common, so only a few such candidates are worth the comparison;
3. ids sharing headline and lead words (story keys), most shared first: the
   same story told in other words, or an item that is only a headline.

:class:`MemoryIndex` implements it, with ``add``, for tests, benchmarks and a feed
document's own batch (:class:`WritableDedupIndex`); the database store implements the
read side over its tables, and stores keys with the entries. Each key
query reads at most ``max_postings_per_key`` ids per key, newest first, so a
key shared by thousands of articles (a stock opening) cannot slow a lookup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from monitor.dedup.decide import DuplicateDecision, decide
from monitor.dedup.features import Features, fingerprint
from monitor.dedup.settings import DedupSettings


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What the store hands back for a candidate: enough to fingerprint it again."""

    doc_id: int
    title: str
    text: str
    """The body as stored (an entry's summary and content, ``Entry.text``)."""
    link: str | None = None
    guid: str | None = None
    feed_url: str | None = None
    published: datetime | None = None
    """When it was published, else first seen (for the story window)."""
    features: Features | None = None
    """Precomputed features: for an article stored without its text (a shipped seed), one
    stored with its packed features, or one fingerprinted already (then ``text`` may be
    left empty)."""
    packed: bytes | None = None
    """``features`` as the store keeps them packed (:mod:`monitor.dedup.packed`), when it
    read them so: the feature cache keeps them without packing them again."""


class DedupIndex(Protocol):
    """The storage a duplicate lookup reads. Indexes the lookup only reads (the database's,
    the pending stories', a cache over another) implement this alone; entries reach the
    database's index with the entries themselves (``Store.add_entries``)."""

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        """``(id, shared)`` for articles holding any of ``keys``, where ``shared`` counts
        the keys they hold: most shared first, ties newest (highest id) first, at most
        ``limit`` of them. Only the ``per_key`` newest ids of each key are read."""
        ...

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        """The stored articles with these ids (unknown ids are left out)."""
        ...


class WritableDedupIndex(DedupIndex, Protocol):
    """An index articles are added to as they are judged: in memory (a batch of one feed
    document, tests, benchmarks)."""

    def add(self, document: StoredDocument, keys: Sequence[int]) -> None:
        """Store ``document`` and index it under ``keys``."""
        ...


def stored_features(document: StoredDocument, settings: DedupSettings) -> Features:
    """The fingerprint of a stored article, recomputed from its stored fields.

    Without lookup keys: a candidate is only compared, never looked up.
    """
    if document.features is not None:
        return document.features
    return _fingerprint(document, settings, keys=False)


def _fingerprint(document: StoredDocument, settings: DedupSettings, keys: bool) -> Features:
    return fingerprint(
        title=document.title,
        text=document.text,
        link=document.link,
        guid=document.guid,
        feed_url=document.feed_url,
        doc_id=document.doc_id,
        scheme=settings.scheme,
        keys=keys,
        published=document.published,
    )


def _judge(
    features: Features, index: DedupIndex, ids: Sequence[int], settings: DedupSettings
) -> DuplicateDecision:
    stored = [stored_features(doc, settings) for doc in index.documents(ids)]
    return decide(features, stored, settings)


def find_duplicate(
    features: Features, index: DedupIndex, settings: DedupSettings
) -> DuplicateDecision:
    """Look ``features`` up in ``index`` and decide (see the module docstring)."""
    per_key = settings.max_postings_per_key
    strong_keys = features.exact_keys + features.opening_keys
    strong = index.candidates(strong_keys, settings.max_candidates, per_key)
    first = _judge(features, index, [doc_id for doc_id, _ in strong], settings) if strong else None
    if first is not None and first.is_duplicate:
        return first

    seen = {doc_id for doc_id, _ in strong}
    limit = settings.max_candidates + settings.single_band_candidates
    chosen: list[int] = []
    single = 0
    for doc_id, shared in index.candidates(features.band_keys, limit + len(seen), per_key):
        if doc_id in seen:
            continue
        if shared >= 2 and len(chosen) < settings.max_candidates:
            chosen.append(doc_id)
        elif shared < 2 and single < settings.single_band_candidates:
            chosen.append(doc_id)
            single += 1
    second = _judge(features, index, chosen, settings)
    if second.is_duplicate:
        return second
    best = second if first is None or second.score >= first.score else first
    if not features.story_keys:
        return best
    # 3. The same story told in other words, or a bare headline: articles sharing
    # the most headline and lead words.
    seen.update(chosen)
    story = [
        doc_id
        for doc_id, _ in index.candidates(
            features.story_keys, settings.max_candidates + len(seen), per_key
        )
        if doc_id not in seen
    ][: settings.max_candidates]
    third = _judge(features, index, story, settings) if story else None
    if third is not None and third.is_duplicate:
        return third
    return best


def remember(document: StoredDocument, features: Features, index: WritableDedupIndex) -> None:
    """Add an article (fingerprinted as ``features``, with keys) to ``index``."""
    index.add(document, features.keys)


def index_document(
    document: StoredDocument, index: WritableDedupIndex, settings: DedupSettings
) -> Features:
    """Fingerprint a stored article with its keys and add it to ``index``."""
    features = _fingerprint(document, settings, keys=True)
    remember(document, features, index)
    return features


class MemoryIndex:
    """An in-memory :class:`WritableDedupIndex`: a dict of postings and a dict of documents.

    A posting holds one id as a bare int and switches to a list only when a
    second article shares the key; almost all band keys are unique, and this
    keeps a million articles' postings within a few gigabytes.

    An id is in a posting only if its document was added, and nothing is removed:
    :meth:`add` relies on it to search postings only when a document comes again.
    """

    def __init__(self) -> None:
        self._postings: dict[int, int | list[int]] = {}
        self._documents: dict[int, StoredDocument] = {}

    def __len__(self) -> int:
        return len(self._documents)

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        counts: Counter[int] = Counter()
        for key in keys:
            posting = self._postings.get(key)
            if posting is None:
                continue
            if isinstance(posting, int):
                counts[posting] += 1
            else:
                # Appended in insertion order: the newest ids are at the end.
                counts.update(posting[-per_key:])
        ranked = sorted(counts.items(), key=lambda item: (-item[1], -item[0]))
        return ranked[:limit]

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        return [self._documents[doc_id] for doc_id in ids if doc_id in self._documents]

    def add(self, document: StoredDocument, keys: Sequence[int]) -> None:
        doc_id = document.doc_id
        # Only a document added before can already sit in a posting. Searching
        # the posting otherwise made adding quadratic: the story key of a common
        # headline or lead word is shared by a good part of a large archive.
        again = doc_id in self._documents
        self._documents[doc_id] = document
        for key in dict.fromkeys(keys):
            posting = self._postings.get(key)
            if posting is None:
                self._postings[key] = doc_id
            elif isinstance(posting, int):
                if posting != doc_id:
                    self._postings[key] = [posting, doc_id]
            elif not again or doc_id not in posting:
                posting.append(doc_id)
