"""Stored articles' features, computed once and kept, instead of at every lookup.

A duplicate lookup compares the incoming article with up to a few dozen stored
candidates, and recomputing a candidate's fingerprint from its stored text
costs as much as fingerprinting the incoming one. The same candidates come up
again and again (a wire story that forty feeds carry, a story a feed repeats
every poll), and the newest articles are the likeliest candidates, so a small
least-recently-used cache of features by article id saves most of that work.
The pipeline also puts each article it stores into the cache, under its new id,
with the features it has just computed.

What is kept is what a lookup reads of a stored candidate, in as little memory as the same
values fit in: an article's features come to about 17 KB as the parser workers send them
back, so the cache's 2,048 articles were the largest single thing a poll held in memory
after the imports. They are kept packed (:mod:`monitor.dedup.packed`, the form the store
keeps them in), which also spares the writer thread the compaction (:func:`compact`) of
every article it stores: 7 % of its samples in a cold cycle of ``bench/poll.py``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from monitor.dedup.features import Features
from monitor.dedup.index import DedupIndex, StoredDocument, stored_features
from monitor.dedup.packed import pack, unpack
from monitor.dedup.scheme import V1
from monitor.dedup.settings import DedupSettings


def compact(features: Features, doc_id: int, words: dict[str, str] | None = None) -> Features:
    """``features`` under ``doc_id``, as a stored candidate is read, in less memory.

    * No lookup keys: a stored candidate is compared, never looked up with its own keys
      (:func:`~monitor.dedup.index.stored_features` fingerprints one without them), and
      they are a sixth of the whole.
    * One int object per shingle hash: ``shingle_order`` and ``lead_shingles`` hold the
      objects of ``shingles``. Features unpickled from a parser worker hold three copies
      of each hash (pickle keeps no identity of ints), a fifth of the whole.
    * One str object per word across the word sets and the word vector, and across every
      article compacted with the same ``words`` table (the cache's): the same words come
      back in article after article. A table of its own rather than ``sys.intern``, whose
      strings newer Pythons keep for the life of the process.

    Every field keeps its value (equal sets, tuples and dicts of equal items), so a
    decision made against the compact copy is the one made against ``features``.
    """
    one = {value: value for value in features.shingles}.get
    table = {} if words is None else words

    def shared(found: Iterable[str]) -> frozenset[str]:
        return frozenset([table.setdefault(word, word) for word in found])

    return replace(
        features,
        doc_id=doc_id,
        exact_keys=(),
        opening_keys=(),
        band_keys=(),
        story_keys=(),
        shingle_order=tuple([one(value, value) for value in features.shingle_order]),
        lead_shingles=frozenset([one(value, value) for value in features.lead_shingles]),
        title_words=shared(features.title_words),
        story_words=shared(features.story_words),
        name_words=shared(features.name_words),
        facts=shared(features.facts),
        word_vector={
            table.setdefault(word, word): weight for word, weight in features.word_vector.items()
        },
    )


_WORD_TABLE_LIMIT = 250_000
"""Words the cache's table holds before it starts again (a few megabytes): articles
compacted after that share words among themselves, with the same values."""


_Kept = tuple[bytes, str, datetime | None] | Features
"""What the cache keeps of an article: its packed features with the headline and date they
are unpacked with, or (for features that do not pack) their compact form."""


class FeatureCache:
    """At most ``size`` articles' features, least recently used dropped first.

    Kept packed (:mod:`monitor.dedup.packed`), a few kilobytes an article, and unpacked
    when asked for: the same values as :func:`compact` gives (``tests/dedup/test_packed.py``),
    at a fraction of its cost to put. Every stored article goes in, most come out never
    (a cold cycle stores tens of thousands), so putting is what counts."""

    def __init__(self, size: int, scheme: str = V1.tag) -> None:
        self.size = size
        self.scheme = scheme
        self._items: OrderedDict[int, _Kept] = OrderedDict()
        self._words: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, doc_id: int) -> Features | None:
        kept = self._items.get(doc_id)
        if kept is None:
            return None
        self._items.move_to_end(doc_id)
        if isinstance(kept, Features):
            return kept
        data, title, published = kept
        return unpack(data, self.scheme, doc_id, title, published)

    def put(self, doc_id: int, features: Features, packed: bytes | None = None) -> None:
        """Keep ``features`` under ``doc_id``; ``packed``: the same features packed already
        (by a parser worker, or as the store had them), so they need not be packed again."""
        if self.size <= 0:
            return
        if packed is None:
            packed = pack(features, self.scheme)
        if packed is None:
            if len(self._words) > _WORD_TABLE_LIMIT:
                self._words = {}
            self._items[doc_id] = compact(features, doc_id, self._words)
        else:
            self._items[doc_id] = (packed, features.title, features.published)
        self._items.move_to_end(doc_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
        self._words = {}


class CachedIndex:
    """A :class:`~monitor.dedup.index.DedupIndex` whose documents come with their features,
    from ``cache`` when it has them, else fingerprinted from ``inner`` and kept."""

    def __init__(self, inner: DedupIndex, cache: FeatureCache, settings: DedupSettings) -> None:
        self.inner = inner
        self.cache = cache
        self.settings = settings

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        return self.inner.candidates(keys, limit, per_key)

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        found = {doc_id: self.cache.get(doc_id) for doc_id in ids}
        missing = [doc_id for doc_id, features in found.items() if features is None]
        for document in self.inner.documents(missing):
            features = stored_features(document, self.settings)
            self.cache.put(document.doc_id, features, document.packed)
            found[document.doc_id] = features  # not read back: a cache of size 0 keeps none
        # In the order asked for; the text stays behind (the features are what is compared).
        return [
            StoredDocument(doc_id, features.title, "", features=features)
            for doc_id, features in found.items()
            if features is not None
        ]
