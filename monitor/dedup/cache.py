"""Stored articles' features, computed once and kept, instead of at every lookup.

A duplicate lookup compares the incoming article with up to a few dozen stored
candidates, and recomputing a candidate's fingerprint from its stored text
costs as much as fingerprinting the incoming one. The same candidates come up
again and again (a wire story that forty feeds carry, a story a feed repeats
every poll), and the newest articles are the likeliest candidates, so a small
least-recently-used cache of features by article id saves most of that work.
The pipeline also puts each article it stores into the cache, under its new id,
with the features it has just computed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from monitor.dedup.features import Features
from monitor.dedup.index import DedupIndex, StoredDocument, stored_features
from monitor.dedup.settings import DedupSettings


class FeatureCache:
    """At most ``size`` articles' features, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[int, Features] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, doc_id: int) -> Features | None:
        features = self._items.get(doc_id)
        if features is not None:
            self._items.move_to_end(doc_id)
        return features

    def put(self, doc_id: int, features: Features) -> None:
        if self.size <= 0:
            return
        if features.doc_id != doc_id:
            features = replace(features, doc_id=doc_id)
        self._items[doc_id] = features
        self._items.move_to_end(doc_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


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
            self.cache.put(document.doc_id, features)
            found[document.doc_id] = features  # not read back: a cache of size 0 keeps none
        # In the order asked for; the text stays behind (the features are what is compared).
        return [
            StoredDocument(doc_id, features.title, "", features=features)
            for doc_id, features in found.items()
            if features is not None
        ]
