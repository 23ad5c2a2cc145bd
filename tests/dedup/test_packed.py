"""Packed comparison features (:mod:`monitor.dedup.packed`): unpacked, they are the
features the feature cache would hold for the article, field for field, so every decision
against them is the same; bytes that are not theirs unpack to nothing, never to wrong
values."""

from __future__ import annotations

import gzip
import json
from dataclasses import fields, replace
from datetime import UTC, datetime
from itertools import islice

import pytest

from monitor.dedup import DedupSettings
from monitor.dedup.cache import compact
from monitor.dedup.decide import decide
from monitor.dedup.evaluation import load_pairs
from monitor.dedup.features import Features, fingerprint
from monitor.dedup.packed import FORMAT, pack, unpack
from monitor.dedup.scheme import V1
from tests.conftest import REPO, SHARED

WHEN = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
REUTERS = SHARED / "devsets" / "reuters21578" / "reuters21578.jsonl.gz"
# The fields unpack takes from the stored row rather than from the bytes.
FROM_THE_ROW = {"doc_id", "title", "published"}

OURS = [
    # (title, text, link, guid, feed URL)
    (
        "Ottawa and Mexico City open the CUSMA review",
        "OTTAWA (Reuters) - Trade ministers met on Tuesday, Dec. 1, to open the review.\n"
        'They said talks would resume in Monterrey in January. "We are ready," one said.\n'
        "Dairy quotas, steel and the rules of origin for cars are on the table.",
        "https://news.example/2026/12/review?utm_source=rss",
        "tag:news.example,2026:review",
        "https://news.example/feed.xml",
    ),
    # A bare headline: no body, no link, no guid.
    ("Tariff deadline passes without a deal", "", None, None, None),
    # Accents and typographic quotes, a link to a site's root.
    (
        "Sheinbaum et Carney : l'ACEUM en débat",
        "MEXICO — « Nous sommes prêts », a déclaré la présidente mexicaine à Mexico. "
        "Les négociations sur l’acier reprendront à Québec.",
        "https://nouvelles.example/",
        None,
        "https://nouvelles.example/rss",
    ),
    # A lead that repeats its first shingle: its set is smaller than its length.
    (
        "Talks talks talks",
        "Talks go on and on. Talks go on and on. Talks go on and on. Then they stopped.",
        "https://wire.example/a#part-2",
        "wire-77",
        "https://wire.example/feed",
    ),
]


def _reuters(count: int) -> list[tuple[str, str, str | None, str | None, str | None]]:
    found: list[tuple[str, str, str | None, str | None, str | None]] = []
    with gzip.open(REUTERS, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(islice(lines, count)):
            story = json.loads(line)
            link = f"https://reuters.example/{number}"
            found.append((story.get("title", ""), story.get("body", ""), link, link, None))
    return found


def _fingerprinted(
    articles: list[tuple[str, str, str | None, str | None, str | None]],
) -> list[Features]:
    return [
        fingerprint(title, text, link, guid, feed, published=WHEN)
        for title, text, link, guid, feed in articles
    ]


def _assert_unpacks_to_the_cached_form(features: Features, doc_id: int) -> Features:
    data = pack(features, V1.tag)
    assert data is not None
    assert data[0] == FORMAT
    back = unpack(data, V1.tag, doc_id, features.title, features.published)
    assert back is not None
    cached = compact(features, doc_id)
    for field in fields(Features):
        assert getattr(back, field.name) == getattr(cached, field.name), field.name
    # cosine() sums in the vector's order: the order is kept too, not only the pairs.
    assert list(back.word_vector.items()) == list(cached.word_vector.items())
    return back


def test_our_articles_unpack_to_what_the_cache_holds() -> None:
    for number, features in enumerate(_fingerprinted(OURS), start=1):
        _assert_unpacks_to_the_cached_form(features, number)
    bare = _fingerprinted(OURS[1:2])[0]
    assert bare.token_count == 0
    assert bare.text_hash is None


@pytest.mark.skipif(not REUTERS.exists(), reason="../shared/devsets is absent (CI has it)")
def test_real_wire_stories_unpack_to_what_the_cache_holds() -> None:
    for number, features in enumerate(_fingerprinted(_reuters(400)), start=1):
        _assert_unpacks_to_the_cached_form(features, number)


def test_every_labelled_pair_is_decided_alike_against_packed_features() -> None:
    settings = DedupSettings()
    pairs = load_pairs(REPO / "tests" / "data" / "dedup" / "pairs.jsonl")
    assert len(pairs) > 50
    duplicates = 0
    for pair in pairs:
        a = fingerprint(pair.a.title, pair.a.text, pair.a.url, published=WHEN)
        b = fingerprint(pair.b.title, pair.b.text, pair.b.url, doc_id=7, published=WHEN)
        back = _assert_unpacks_to_the_cached_form(b, 7)
        expected = decide(a, [compact(b, 7)], settings)
        assert decide(a, [back], settings) == expected, pair.id
        duplicates += expected.is_duplicate
    assert duplicates > 10  # the pairs do exercise the copies' branches


def test_bytes_of_another_scheme_or_format_are_not_unpacked() -> None:
    features = _fingerprinted(OURS[:1])[0]
    data = pack(features, V1.tag)
    assert data is not None
    assert unpack(data, "v2", 1, "t", WHEN) is None
    assert unpack(bytes([FORMAT + 1]) + data[1:], V1.tag, 1, "t", WHEN) is None
    assert unpack(b"", V1.tag, 1, "t", WHEN) is None


def test_truncated_or_damaged_bytes_unpack_to_nothing() -> None:
    features = _fingerprinted(OURS[:1])[0]
    data = pack(features, V1.tag)
    assert data is not None
    for length in range(len(data)):
        assert unpack(data[:length], V1.tag, 1, "t", WHEN) is None, length
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x20
        back = unpack(bytes(damaged), V1.tag, 1, "t", WHEN)
        assert back is None, position
    assert unpack(data + b"x", V1.tag, 1, "t", WHEN) is None


def test_features_the_layout_cannot_hold_are_not_packed() -> None:
    features = _fingerprinted(OURS[:1])[0]
    assert pack(replace(features, facts=frozenset({"2026", "a\x00b"})), V1.tag) is None
    assert pack(replace(features, guid_key=""), V1.tag) is None
    assert pack(replace(features, text_hash="not hex"), V1.tag) is None
    assert pack(replace(features, text_hash=None), V1.tag) is None  # yet it has tokens
    assert pack(replace(features, lead_shingles=frozenset({1, 2})), V1.tag) is None
    assert pack(replace(features, url_fragment="part-\udc80"), V1.tag) is None  # lone surrogate
    no_lead = replace(features, lead_shingles=frozenset())
    assert pack(no_lead, V1.tag) is not None  # a lead of no shingle packs
    for outside in (1 << 64, -1):  # not a 64-bit hash
        order = (outside, *features.shingle_order[1:])
        assert pack(replace(no_lead, shingle_order=order), V1.tag) is None
    assert pack(features, "é") is None
