"""The lookup path over the storage Protocol, with the in-memory index."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.dedup import (
    DedupSettings,
    MemoryIndex,
    StoredDocument,
    WritableDedupIndex,
    find_duplicate,
    fingerprint,
    fingerprint_entry,
    index_document,
    remember,
)
from monitor.dedup.index import stored_features
from monitor.types import Entry

SETTINGS = DedupSettings()
ARTICLE = "\n".join(
    [
        "MEXICO CITY — Mexico's steel exports to the United States fell 18 per cent in July from a "
        "year earlier, the country's steel chamber said on Tuesday, as a 50 per cent U.S. tariff cut "
        "into sales of pipe, wire and sheet.",
        "The chamber said shipments totalled about 280,000 tonnes in the month, down from 342,000 "
        "a year earlier, while imports of steel from Asia into Mexico kept rising.",
        "The economy secretary said Mexico was negotiating a quota arrangement with Washington that "
        "would let a fixed volume of Mexican steel enter at a lower rate.",
        "Industry officials in Coahuila said about 2,000 contract workers had been let go since April.",
    ]
)
SUMMARY = (
    "Mexico's steel exports to the United States fell 18 per cent in July from a year earlier, "
    "the country's steel chamber said on Tuesday, as a 50 per cent U.S. tariff cut into sales […]"
)


def store(index: MemoryIndex, doc_id: int, text: str, **fields: str) -> StoredDocument:
    document = StoredDocument(doc_id, fields.pop("title", "Steel exports slump"), text, **fields)
    index_document(document, index, SETTINGS)
    return document


class CountingIndex(MemoryIndex):
    """Records how the lookup uses the Protocol."""

    def __init__(self) -> None:
        super().__init__()
        self.key_queries: list[int] = []

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        self.key_queries.append(len(keys))
        return super().candidates(keys, limit, per_key)


def test_remember_stores_all_keys_and_stored_features_have_none() -> None:
    index = MemoryIndex()
    document = StoredDocument(1, "Steel exports slump", ARTICLE)
    features = fingerprint(document.title, document.text, doc_id=1)
    remember(document, features, index)
    assert index.candidates(features.band_keys, 5, 10) == [(1, len(features.band_keys))]
    assert stored_features(document, SETTINGS).keys == ()


def test_memory_index_satisfies_the_protocol() -> None:
    index: WritableDedupIndex = MemoryIndex()
    index.add(StoredDocument(1, "t", "x"), [5, 6])
    assert index.candidates([5], 10, 10) == [(1, 1)]
    assert index.documents([1, 99]) == [StoredDocument(1, "t", "x")]


def test_ranking_by_shared_keys_then_newest() -> None:
    index = MemoryIndex()
    index.add(StoredDocument(1, "", ""), [1, 2, 3])
    index.add(StoredDocument(2, "", ""), [1, 2])
    index.add(StoredDocument(3, "", ""), [1, 2])
    index.add(StoredDocument(4, "", ""), [1])
    index.add(StoredDocument(4, "", ""), [1])  # re-adding does not double count
    assert index.candidates([1, 2, 3], 10, 10) == [(1, 3), (3, 2), (2, 2), (4, 1)]
    assert index.candidates([1, 2, 3], 2, 10) == [(1, 3), (3, 2)]
    assert index.candidates([42], 10, 10) == []
    assert len(index) == 4
    # Only the newest ids of a key are read.
    assert index.candidates([1], 10, 2) == [(4, 1), (3, 1)]


def test_summary_finds_its_article_among_others() -> None:
    index = MemoryIndex()
    for doc_id, text in enumerate(
        [
            ARTICLE.replace("18 per cent", "11 per cent").replace("July", "June"),
            "Canada's dairy quotas survived a trade panel challenge, the government said on Monday.",
        ],
        start=1,
    ):
        store(index, doc_id, text)
    store(index, 3, ARTICLE, link="https://bajio.mx/steel-exports")
    decision = find_duplicate(fingerprint("Steel exports slump", SUMMARY), index, SETTINGS)
    assert (decision.is_duplicate, decision.of_id, decision.signal) == (True, 3, "near_duplicate")


def test_exact_match_settles_in_one_round_trip() -> None:
    index = CountingIndex()
    store(index, 1, ARTICLE, link="https://bajio.mx/steel-exports")
    incoming = fingerprint("x", "", link="https://amp.bajio.mx/steel-exports/amp/")
    decision = find_duplicate(incoming, index, SETTINGS)
    assert (decision.signal, decision.of_id) == ("canonical_url", 1)
    assert len(index.key_queries) == 1


def test_unknown_article_is_new() -> None:
    index = MemoryIndex()
    store(index, 1, ARTICLE)
    other = (
        "Canada's dairy quotas survived a trade panel challenge brought by the United States, "
        "the agriculture minister said on Monday, calling it a vindication of supply management."
    )
    decision = find_duplicate(fingerprint("Dairy ruling", other), index, SETTINGS)
    assert not decision.is_duplicate


def test_entry_fingerprint_uses_summary_content_link_and_guid() -> None:
    entry = Entry(
        feed_url="https://bajio.mx/feed",
        feed_name="Bajío Business",
        title="Steel exports slump",
        link="https://bajio.mx/steel-exports?utm_source=rss",
        canonical_link="https://bajio.mx/steel-exports",
        guid="8812",
        summary=SUMMARY,
        content=ARTICLE,
    )
    features = fingerprint_entry(entry, doc_id=9)
    assert features.doc_id == 9
    assert features.canonical_url == "https://bajio.mx/steel-exports"
    assert features.guid_key == "feed:https://bajio.mx/feed#8812"
    assert len(features.exact_keys) == 3
    index = MemoryIndex()
    store(index, 1, ARTICLE, guid="8812", feed_url="https://bajio.mx/feed")
    decision = find_duplicate(fingerprint_entry(entry), index, SETTINGS)
    assert decision.signal == "guid"


def test_read_only_indexes_offer_no_add() -> None:
    # The lookup reads through DedupIndex; only an index entries are added to in memory
    # has ``add`` (WritableDedupIndex), so none has one that refuses.
    from monitor.dedup.cache import CachedIndex
    from monitor.dedup.pending import PendingIndex
    from monitor.store.dedup_index import DatabaseDedupIndex

    for read_only in (CachedIndex, PendingIndex, DatabaseDedupIndex):
        assert not hasattr(read_only, "add"), read_only
    assert callable(MemoryIndex().add)
