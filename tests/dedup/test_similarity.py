"""Exact similarity scores."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.dedup.similarity import containment, coverage, jaccard, title_similarity


def test_jaccard_and_containment_of_a_summary_and_its_article() -> None:
    article = set(range(500))
    summary = set(range(40))
    assert jaccard(summary, article) == pytest.approx(40 / 500)
    assert containment(summary, article) == 1.0
    assert containment(article, summary) == 1.0  # symmetric: the shorter's share


def test_empty_sets_score_zero() -> None:
    assert jaccard(set(), set()) == 0.0
    assert containment(set(), {1}) == 0.0
    assert coverage(set(), {1}) == 0.0
    assert title_similarity(set(), {"a"}) == 0.0


def test_coverage_is_directional() -> None:
    assert coverage({1, 2}, {1, 2, 3, 4}) == 1.0
    assert coverage({1, 2, 3, 4}, {1, 2}) == 0.5


def test_title_similarity() -> None:
    assert title_similarity({"canada", "mexico", "steel"}, {"canada", "mexico", "autos"}) == 0.5


@given(st.sets(st.integers(0, 50)), st.sets(st.integers(0, 50)))
def test_scores_are_bounded_and_ordered(a: set[int], b: set[int]) -> None:
    j, c = jaccard(a, b), containment(a, b)
    assert 0.0 <= j <= c <= 1.0
    assert jaccard(a, b) == jaccard(b, a)
