"""Stored articles' features kept between lookups, and the same decisions with or without."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.dedup import DedupSettings, MemoryIndex, StoredDocument, find_duplicate, fingerprint
from monitor.dedup.cache import CachedIndex, FeatureCache
from monitor.dedup.index import index_document
from tests.dedup.test_index import ARTICLE, SUMMARY

SETTINGS = DedupSettings()


class CountingIndex(MemoryIndex):
    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[int] = []

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        self.fetched.extend(ids)
        return super().documents(ids)


def features(doc_id: int | None = None, text: str = ARTICLE) -> object:
    return fingerprint("Steel exports slump", text, doc_id=doc_id)


def test_least_recently_used_goes_first() -> None:
    cache = FeatureCache(2)
    one, two, three = (fingerprint("t", ARTICLE, doc_id=n) for n in (1, 2, 3))
    cache.put(1, one)
    cache.put(2, two)
    assert cache.get(1) is one  # 1 is now the most recently used
    cache.put(3, three)
    assert cache.get(2) is None
    assert cache.get(1) is one
    assert len(cache) == 2


def test_features_are_kept_under_the_id_they_are_put_with() -> None:
    cache = FeatureCache(4)
    cache.put(7, fingerprint("t", ARTICLE))  # computed before the article had an id
    kept = cache.get(7)
    assert kept is not None
    assert kept.doc_id == 7


def test_size_zero_keeps_nothing() -> None:
    cache = FeatureCache(0)
    cache.put(1, fingerprint("t", ARTICLE, doc_id=1))
    assert cache.get(1) is None


def test_a_candidate_is_fingerprinted_once_then_served_from_the_cache() -> None:
    inner = CountingIndex()
    index_document(StoredDocument(1, "Steel exports slump", ARTICLE), inner, SETTINGS)
    cached = CachedIndex(inner, FeatureCache(16), SETTINGS)
    incoming = fingerprint("Mexico steel exports fall", SUMMARY)

    first = find_duplicate(incoming, cached, SETTINGS)
    second = find_duplicate(incoming, cached, SETTINGS)

    assert inner.fetched == [1]  # the stored text was read (and fingerprinted) only once
    assert first == second == find_duplicate(incoming, inner, SETTINGS)
    assert first.is_duplicate
    assert first.of_id == 1


def test_cached_documents_come_back_in_the_order_asked() -> None:
    inner = MemoryIndex()
    for doc_id in (1, 2, 3):
        index_document(StoredDocument(doc_id, f"t{doc_id}", ARTICLE), inner, SETTINGS)
    cached = CachedIndex(inner, FeatureCache(16), SETTINGS)
    cached.documents([2])
    assert [d.doc_id for d in cached.documents([3, 2, 1, 99])] == [3, 2, 1]


def test_with_no_cache_the_stored_candidates_are_still_compared() -> None:
    inner = CountingIndex()
    index_document(StoredDocument(1, "Steel exports slump", ARTICLE), inner, SETTINGS)
    uncached = CachedIndex(inner, FeatureCache(0), SETTINGS)
    incoming = fingerprint("Mexico steel exports fall", SUMMARY)
    decision = find_duplicate(incoming, uncached, SETTINGS)
    assert decision.is_duplicate
    assert decision.of_id == 1
    assert [d.doc_id for d in uncached.documents([1])] == [1]
