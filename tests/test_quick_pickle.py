"""The value objects that cross from the parser processes pickle as the tuple of their
fields and come back equal, through every pickle protocol and through copy."""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass, fields
from datetime import UTC, datetime

import pytest

from monitor.dedup.features import Features, fingerprint
from monitor.dedup.packed import pack
from monitor.prepare import PreparedEntry
from monitor.types import Entry, Match, ParsedFeed, Span, quick_pickle

WHEN = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
ENTRY = Entry(
    "https://news.example/feed.xml",
    "Example",
    "USMCA joint review begins in Ottawa",
    "https://news.example/a?utm_source=x",
    "https://news.example/a",
    "tag:news.example,2026:a",
    "Trade ministers of Canada, Mexico and the United States met.",
    "The review of the agreement began on Monday.",
    WHEN,
    "en-ca",
    "A. Writer",
    ("trade", "usmca"),
)
MATCH = Match("usmca", 2.5, (Span("title", 0, 5, "USMCA"), Span("summary", 9, 18, "ministers")))
FEATURES = fingerprint(ENTRY.title, ENTRY.text, ENTRY.link, ENTRY.guid)
PACKED = pack(FEATURES, "v1")
PREPARED = PreparedEntry("key-1", ENTRY, (MATCH,), FEATURES, ENTRY, True, PACKED)
UNFINGERPRINTED = PreparedEntry("key-2", ENTRY, (), None)
PARSED = ParsedFeed(ENTRY.feed_url, "Example news", (ENTRY, ENTRY), "malformed", "2 items cut")


def _fields(value: object) -> tuple[object, ...]:
    return tuple(getattr(value, f.name) for f in fields(value))  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("value", [ENTRY, MATCH, MATCH.spans[0], UNFINGERPRINTED, PARSED])
def test_values_come_back_equal(value: object, protocol: int) -> None:
    back = pickle.loads(pickle.dumps(value, protocol=protocol))
    assert back == value
    assert type(back) is type(value)
    assert copy.deepcopy(value) == value
    assert copy.copy(value) == value


def test_fingerprints_come_back_field_for_field() -> None:
    prepared = pickle.loads(pickle.dumps(PREPARED, protocol=pickle.HIGHEST_PROTOCOL))
    assert _fields(prepared)[:3] == _fields(PREPARED)[:3]
    assert _fields(prepared)[4:] == _fields(PREPARED)[4:]
    back = prepared.features
    assert isinstance(back, Features)
    assert _fields(back) == _fields(FEATURES)  # Features compare by identity
    assert back.shingles
    assert back.keys == FEATURES.keys


def test_the_state_is_the_fields_in_order() -> None:
    assert ENTRY.__getstate__() == _fields(ENTRY)  # type: ignore[attr-defined]
    state = PREPARED.__getstate__()  # type: ignore[attr-defined]
    assert state == ("key-1", ENTRY, (MATCH,), FEATURES, ENTRY, True, PACKED)
    assert PACKED


def test_a_class_of_one_field_and_the_classes_it_refuses() -> None:
    @dataclass(frozen=True, slots=True)
    class One:
        value: int

    quick_pickle(One)
    assert One(5).__getstate__() == (5,)  # type: ignore[attr-defined]
    restored = One.__new__(One)
    restored.__setstate__((7,))  # type: ignore[attr-defined]
    assert restored == One(7)

    @dataclass(frozen=True)
    class Unslotted:
        value: int

    with pytest.raises(TypeError, match="Unslotted: quick_pickle is for slotted dataclasses"):
        quick_pickle(Unslotted)
    with pytest.raises(TypeError, match="quick_pickle is for slotted dataclasses"):
        quick_pickle(int)
    with pytest.raises(ValueError, match=r"zip\(\) argument 2 is longer"):  # another shape
        restored.__setstate__((1, 2))  # type: ignore[attr-defined]
