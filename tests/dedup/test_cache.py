"""Stored articles' features kept between lookups, and the same decisions with or without."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import fields, replace

from monitor.dedup import DedupSettings, MemoryIndex, StoredDocument, find_duplicate, fingerprint
from monitor.dedup.cache import CachedIndex, FeatureCache, compact
from monitor.dedup.decide import decide
from monitor.dedup.features import Features
from monitor.dedup.index import index_document
from monitor.dedup.packed import pack
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


def kept_id(cache: FeatureCache, doc_id: int) -> int | None:
    """The id of the features the cache holds under ``doc_id`` (it holds a compact copy)."""
    kept = cache.get(doc_id)
    return None if kept is None else kept.doc_id


def test_least_recently_used_goes_first() -> None:
    cache = FeatureCache(2)
    one, two, three = (fingerprint("t", ARTICLE, doc_id=n) for n in (1, 2, 3))
    cache.put(1, one)
    cache.put(2, two)
    assert kept_id(cache, 1) == 1  # 1 is now the most recently used
    cache.put(3, three)
    assert cache.get(2) is None
    assert kept_id(cache, 1) == 1
    assert len(cache) == 2


def _linked() -> Features:
    """An article's features with every identifier set: link, guid and feed."""
    return fingerprint(
        "Mexico steel exports slump in July",
        ARTICLE,
        link="https://example.com/steel",
        guid="tag:example.com,2026:steel",
        feed_url="https://example.com/feed",
    )


def test_the_compact_copy_keeps_every_value_but_the_lookup_keys() -> None:
    full = _linked()
    # As a parser worker sends them back: no object shared between the fields.
    full = pickle.loads(pickle.dumps(full))
    words: dict[str, str] = {}
    kept = compact(full, 5, words)
    assert kept.doc_id == 5
    assert kept.keys == ()
    _equal_but_keys(kept, full)
    # One object per hash and per word.
    by_value = {value: value for value in kept.shingles}
    assert all(by_value[value] is value for value in kept.shingle_order)
    assert all(by_value[value] is value for value in kept.lead_shingles)
    assert all(words[word] is word for word in kept.word_vector)
    assert all(words[word] is word for word in kept.story_words | kept.title_words)
    # And across the articles compacted with the same table (the cache's).
    again = compact(pickle.loads(pickle.dumps(full)), 6, words)
    assert all(words[word] is word for word in again.word_vector)


def test_decisions_against_compact_copies_are_the_same() -> None:
    incoming = fingerprint("Mexico steel exports fall", SUMMARY)
    texts = {1: ARTICLE, 2: SUMMARY, 3: ARTICLE.replace("July", "August")}
    for doc_id, text in texts.items():
        stored = fingerprint("Steel exports slump", text, doc_id=doc_id)
        kept = compact(pickle.loads(pickle.dumps(stored)), doc_id)
        assert decide(incoming, [kept], SETTINGS) == decide(incoming, [stored], SETTINGS)


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


def _equal_but_keys(kept: Features, full: Features) -> None:
    for name in (f.name for f in fields(Features)):
        if name not in ("doc_id", "exact_keys", "opening_keys", "band_keys", "story_keys"):
            assert getattr(kept, name) == getattr(full, name), name


def test_the_cache_gives_back_what_compact_would_keep_packed_or_not() -> None:
    full = _linked()
    packed = pack(full, SETTINGS.scheme.tag)
    assert packed is not None
    # A fact holding a NUL cannot be packed: such features are kept compacted instead.
    odd = replace(full, facts=full.facts | {"a\x00b"})
    assert pack(odd, SETTINGS.scheme.tag) is None
    cache = FeatureCache(8, SETTINGS.scheme.tag)
    cache.put(1, full)  # packed here
    cache.put(2, full, packed)  # packed already, by a parser worker
    cache.put(3, odd)
    for doc_id, expected in ((1, full), (2, full), (3, odd)):
        kept = cache.get(doc_id)
        assert kept is not None
        assert kept.doc_id == doc_id
        assert kept.keys == ()
        _equal_but_keys(kept, expected)
    # Bytes of another scheme are not read as this one's: the cache was told its version.
    other = FeatureCache(8, "v0")
    other.put(4, full, packed)
    assert other.get(4) is None
