"""Every field of the fingerprint of a few fixed texts, pinned.

Stored lookup keys and every duplicate decision depend on these values, so a change
that is only meant to be quicker must leave them bit for bit as they are. The golden
digests (one per field: sha256 of the field's JSON form, sets sorted, word weights as
``float.hex`` in their order) were computed by the code before the #14 speed work;
a change to any of them fails here, naming the text and the field. A change that is
meant to change them must also raise :data:`monitor.dedup.packed.FORMAT`, or entries
stored before it would be compared by their old packed values.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.dedup import features as features_module
from monitor.dedup.boilerplate import learn, learn_units, mask, units
from monitor.dedup.features import Article, Features, fingerprint, fingerprint_entries, fingerprints
from monitor.dedup.text import tokens
from monitor.types import Entry

DEVSET = Path(__file__).resolve().parents[3] / "shared" / "devsets" / "reuters21578"

WIRE = (
    "Open this photo in gallery:\n"
    "A caption under the photo, which is furniture.\n"
    "By Jane Doe and John Roe\n"
    "OTTAWA, Aug 5 (Reuters) - Canada\u2019s economy grew 0.4 per cent in June, "
    "Statistics Canada said on Tuesday, as Mr. Carney met U.S. officials.\n"
    "Exports rose to C$1,234.50 million, up 12% from May. "
    "The Bank of Canada \u2014 which meets on Sept. 17 \u2014 held rates.\n"
    "\u201cWe\u2019re cautious,\u201d said Gov. Tiff Macklem in Montr\u00e9al.\n"
    "(Reporting by Jane Doe; Editing by John Roe)"
)
CASES = {
    "wire": {
        "title": "Canada's economy grows in June - Reuters",
        "text": WIRE,
        "link": "https://www.example.com/business/canada-gdp?utm_source=rss#top",
        "guid": "https://www.example.com/business/canada-gdp",
        "feed_url": "https://example.com/feed.xml",
        "source": "Reuters",
    },
    "summary": {
        "title": "Mexico and Canada sign minerals pact",
        "text": "Canada and Mexico signed an agreement on Friday to cooperate on critical "
        "minerals such as lithium, copper and graphite. The pact covers permits.",
        "link": "https://news.example.org/2025/08/minerals",
        "guid": "minerals-42",
        "feed_url": "https://news.example.org/rss",
    },
    "short": {
        "title": "AION",
        "text": "Weekly update",
        "guid": "w1",
        "feed_url": "https://a.example/f",
    },
    "empty": {"title": "Just a headline with words", "text": "", "link": "https://a.example/"},
    "numbers": {
        "title": "Stocks: S&P 500 up 1.2%",
        "text": "The S&P 500 rose 1.2% to 5,432.10 on Monday; the Dow added 310 points.\n"
        "Per cent figures vary. Mrs. Smith, 45, and Dr. Jones (U.K.) disagreed.\n"
        "Rates: 4.25%-4.50%. Q2 GDP: 2.1 per cent.",
        "published": datetime(2025, 8, 5, 12, 0, tzinfo=UTC),
        "feed_url": "https://markets.example/feed",
    },
}

GOLDEN: dict[str, dict[str, str]] = {
    "wire": {
        "band_keys": "345eabace223a993",
        "canonical_url": "4dee012fb0fe53e9",
        "doc_id": "74234e98afe7498f",
        "exact_keys": "2f9ad1c344805ff1",
        "facts": "b2a998c502ce63d5",
        "feed": "a0c6907b19b4d140",
        "guid_key": "e291e296be5e6bea",
        "lead_shingles": "36eb03527e9dc3ef",
        "name_words": "87f03cacc35af52c",
        "opening_keys": "be368d8622e9a1c7",
        "published": "74234e98afe7498f",
        "shingle_order": "84b5326b25cada4a",
        "shingles": "d17bbb3e34bcc41e",
        "story_keys": "90a0307dc28b9b65",
        "story_words": "b64ca3d8a38e13f8",
        "text_hash": "10f7cf46f2df7cf8",
        "title": "216e7d5d582825e6",
        "title_words": "208cf171f185ac14",
        "token_count": "31489056e0916d59",
        "url_fragment": "68ec3e247a02fb9e",
        "url_is_specific": "b5bea41b6c623f7c",
        "word_vector": "4072b57169a811f2",
    },
    "summary": {
        "band_keys": "8e5ea21a487a59e7",
        "canonical_url": "06e500fee74f4380",
        "doc_id": "74234e98afe7498f",
        "exact_keys": "68413311bec152d9",
        "facts": "9a9fc384be1c64b9",
        "feed": "69e35c61aa5db08a",
        "guid_key": "f8ab5ecb06b9893d",
        "lead_shingles": "ff3e097ee99ecda3",
        "name_words": "407044fd7b7b21fc",
        "opening_keys": "4befd3742645cfdb",
        "published": "74234e98afe7498f",
        "shingle_order": "6427dbee41e771d2",
        "shingles": "8bbb095adf050096",
        "story_keys": "d5d9b8c0fed0e74d",
        "story_words": "dce85f76fd619eca",
        "text_hash": "03241593cb8bb608",
        "title": "1707bf464676b6de",
        "title_words": "e95a38c0efba5352",
        "token_count": "535fa30d7e25dd8a",
        "url_fragment": "12ae32cb1ec02d01",
        "url_is_specific": "b5bea41b6c623f7c",
        "word_vector": "81a3940f75a18469",
    },
    "short": {
        "band_keys": "8d20858b49543bc0",
        "canonical_url": "74234e98afe7498f",
        "doc_id": "74234e98afe7498f",
        "exact_keys": "451900fb384cdc67",
        "facts": "4f53cda18c2baa0c",
        "feed": "d68b85ba311921e8",
        "guid_key": "5077bd230da2f34a",
        "lead_shingles": "e141dcf7a8f7a01a",
        "name_words": "4f53cda18c2baa0c",
        "opening_keys": "4f53cda18c2baa0c",
        "published": "74234e98afe7498f",
        "shingle_order": "e141dcf7a8f7a01a",
        "shingles": "e141dcf7a8f7a01a",
        "story_keys": "38930b8bbd3b0fa3",
        "story_words": "034dae3e60dbbd08",
        "text_hash": "6aff79821e2274cf",
        "title": "ad7a4dc6e5285e81",
        "title_words": "6136e1268dee158e",
        "token_count": "d4735e3a265e16ee",
        "url_fragment": "12ae32cb1ec02d01",
        "url_is_specific": "fcbcf165908dd18a",
        "word_vector": "c357e5d9333412c1",
    },
    "empty": {
        "band_keys": "4f53cda18c2baa0c",
        "canonical_url": "d83281aea3e7ff09",
        "doc_id": "74234e98afe7498f",
        "exact_keys": "4f53cda18c2baa0c",
        "facts": "4f53cda18c2baa0c",
        "feed": "74234e98afe7498f",
        "guid_key": "74234e98afe7498f",
        "lead_shingles": "4f53cda18c2baa0c",
        "name_words": "4f53cda18c2baa0c",
        "opening_keys": "4f53cda18c2baa0c",
        "published": "74234e98afe7498f",
        "shingle_order": "4f53cda18c2baa0c",
        "shingles": "4f53cda18c2baa0c",
        "story_keys": "4f53cda18c2baa0c",
        "story_words": "f807c99fabc69bdc",
        "text_hash": "74234e98afe7498f",
        "title": "b706413a6126386c",
        "title_words": "e44e8b8e9a48edb4",
        "token_count": "5feceb66ffc86f38",
        "url_fragment": "12ae32cb1ec02d01",
        "url_is_specific": "fcbcf165908dd18a",
        "word_vector": "4f53cda18c2baa0c",
    },
    "numbers": {
        "band_keys": "69cc1c6052e4bc88",
        "canonical_url": "74234e98afe7498f",
        "doc_id": "74234e98afe7498f",
        "exact_keys": "510f2dd0f085a2b1",
        "facts": "cf96aa99741bfadd",
        "feed": "33c994eb1499f477",
        "guid_key": "74234e98afe7498f",
        "lead_shingles": "25178b4d1cd19049",
        "name_words": "5a81c4e409ac5438",
        "opening_keys": "392400d9148b500b",
        "published": "2cee0dd553987884",
        "shingle_order": "37a3cf4a18d59efc",
        "shingles": "7b1bef3874919649",
        "story_keys": "45e8befde386598f",
        "story_words": "93d1c930384a0b59",
        "text_hash": "46909c40625f8555",
        "title": "8b97c023965fcaf3",
        "title_words": "1338f0a4f3570b7e",
        "token_count": "86e5014965866131",
        "url_fragment": "12ae32cb1ec02d01",
        "url_is_specific": "fcbcf165908dd18a",
        "word_vector": "b72ace911e0149bc",
    },
}

KEY_FIELDS = ("exact_keys", "opening_keys", "band_keys", "story_keys")


def _canonical(value: object) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return [[word, weight.hex()] for word, weight in value.items()]
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def field_digests(features: Features) -> dict[str, str]:
    return {
        name: hashlib.sha256(json.dumps(_canonical(getattr(features, name))).encode()).hexdigest()[
            :16
        ]
        for name in Features.__slots__
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_field_of_the_fingerprint_is_pinned(name: str) -> None:
    assert field_digests(fingerprint(**CASES[name])) == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_without_keys_every_other_field_is_the_same(name: str) -> None:
    digests = field_digests(fingerprint(**CASES[name], keys=False))
    empty = field_digests(fingerprint(title="", text=""))
    for field, value in GOLDEN[name].items():
        assert digests[field] == (empty[field] if field in KEY_FIELDS else value), field


def _reuters_articles(count: int) -> list[Article]:
    path = DEVSET / "reuters21578.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    found = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number >= count:
                break
            story = json.loads(line)
            found.append(
                Article(
                    story.get("title", ""),
                    story.get("body", ""),
                    link=f"https://r.example/{number}",
                    guid=f"r{number}",
                    feed_url="https://r.example/feed",
                    source="Reuters",
                )
            )
    return found


@pytest.mark.parametrize("batch_tokens", [8192, 40, 1])
def test_a_batch_gives_each_article_its_own_fingerprint(
    batch_tokens: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fingerprints() shares array work across articles (and batches) and must not
    let one article's shingles reach another's: short, empty and long texts mixed."""
    monkeypatch.setattr(features_module, "_BATCH_TOKENS", batch_tokens)
    articles = [Article(**case) for case in CASES.values()] + _reuters_articles(120)
    articles += [Article("t", text) for text in ("", "one", "two words", "four words here now")]
    batched = fingerprints(articles)
    for article, features in zip(articles, batched, strict=True):
        single = fingerprint(
            article.title,
            article.text,
            article.link,
            article.guid,
            article.feed_url,
            published=article.published,
            source=article.source,
        )
        assert field_digests(features) == field_digests(single), article.title


def test_fingerprint_entries_matches_one_entry_at_a_time() -> None:
    entries = [
        Entry(
            feed_url="https://a.example/feed",
            feed_name="A",
            title=case["title"],
            link=case.get("link"),
            canonical_link=None,
            guid=case.get("guid"),
            summary=case["text"],
            published=case.get("published"),
        )
        for case in CASES.values()
    ]
    assert [field_digests(f) for f in fingerprint_entries(entries)] == [
        field_digests(features_module.fingerprint_entry(entry)) for entry in entries
    ]


def _reference_tokens(text: str) -> list[str]:
    """tokens() as it was before its fast path: one branch per token."""
    from monitor.dedup.text import _DROPPED_TOKENS, _SPECIAL_TOKENS, _TOKEN, normalise

    words: list[str] = []
    for found in _TOKEN.findall(normalise(text)):
        if found.isalnum() and found not in _SPECIAL_TOKENS:
            words.append(found)
        elif found in _DROPPED_TOKENS:
            continue
        elif found == "%":
            words.append("percent")
        elif found == "cent":
            if words and words[-1] == "per":
                words[-1] = "percent"
            else:
                words.append(found)
        elif "." in found and not found[0].isdigit():
            words.append(found.replace(".", ""))
        else:
            words.append(found.replace(",", ""))
    return words


_PIECES = ["per", "cent", "Mr.", "mrs", "Dr", "U.S.", "1,200.50", "%", "’s", "5", "a.b", "x", "é"]


@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=6), max_size=12))
def test_tokens_fast_path_folds_as_the_reference(pieces: list[str]) -> None:
    text = " ".join(pieces)
    assert tokens(text) == _reference_tokens(text)


def test_only_ascii_letters_match_appeared_ignoring_case() -> None:
    """mask() skips its footer regex when "appeared" is not in the text's lower case:
    sound only while no other character matches these letters under re.IGNORECASE."""
    for letter in set("appeared"):
        pattern = re.compile(re.escape(letter), re.IGNORECASE)
        matching = {chr(c) for c in range(sys.maxunicode + 1) if pattern.fullmatch(chr(c))}
        assert matching == {letter, letter.upper()}


def test_units_worked_out_once_learn_and_mask_as_before() -> None:
    footer = "Sponsored by Acme. Use code NEWS for 10% off."
    items = [(f"Story {n} about topic {n}", f"Body {n} says {n}.\n{footer}") for n in range(4)]
    found = learn(items, 3)
    assert found == learn_units(((title, units(text)) for title, text in items), 3)
    for _, text in items:
        assert mask(text, found, units(text)) == mask(text, found)
        assert "Acme" not in mask(text, found)


def test_every_furniture_pattern_is_anchored_at_the_start() -> None:
    """_is_furniture uses match() where search() was: the same only while every
    alternative begins with ^ (no MULTILINE)."""
    from re import _parser  # type: ignore[attr-defined]

    from monitor.dedup.text import _FURNITURE_PATTERNS

    assert not _FURNITURE_PATTERNS.flags & re.MULTILINE
    # The parser takes a prefix common to every alternative out in front of them.
    parsed = _parser.parse(_FURNITURE_PATTERNS.pattern, _FURNITURE_PATTERNS.flags)
    assert parsed[0] == (_parser.AT, _parser.AT_BEGINNING)
