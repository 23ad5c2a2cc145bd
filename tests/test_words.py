"""Counts in words: the noun agrees with the count."""

from __future__ import annotations

import pytest

from monitor.words import counted, noun


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 feeds"), (1, "1 feed"), (2, "2 feeds"), (1_000, "1000 feeds")],
)
def test_regular_plural(count: int, expected: str) -> None:
    assert counted(count, "feed") == expected


def test_irregular_plural_is_given() -> None:
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(3, "entry", "entries") == "3 entries"
    assert noun(0, "summary", "summaries") == "summaries"
    assert noun(1, "summary", "summaries") == "summary"
