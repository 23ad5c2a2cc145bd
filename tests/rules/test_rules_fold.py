"""Folding: words, the token lattice of a field, and the alternatives of a term."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.fold import (
    FoldedField,
    _offsets,
    _scan,
    alternatives,
    fold_word,
    query_compounds,
)

WORDS = [
    ("Mexico", "mexico"),
    ("México", "mexico"),
    ("MÉXICO", "mexico"),
    ("Me\u0301xico", "mexico"),
    ("Straße", "strasse"),
    ("Ørsted", "orsted"),
    ("Łódź", "lodz"),
    ("Æther", "aether"),
    ("ﬁnance", "finance"),
    ("\u0130stanbul", "istanbul"),
    ("Ⅻ", "xii"),
    ("２０２５", "2025"),
    ("Москва", "москва"),
    ("\u0301", ""),
]


@pytest.mark.parametrize(("raw", "folded"), WORDS)
def test_fold_word(raw: str, folded: str) -> None:
    assert fold_word(raw) == folded


FIELDS = [
    # (text, tokens, joined words)
    ("U.S. tariffs", ["u", "s", "tariffs"], {"us"}),
    ("T-MEC, today", ["t", "mec", "today"], {"tmec"}),
    # Only a single separator character joins: ".-" ends the compound.
    ("Canada-U.S.-Mexico", ["canada", "u", "s", "mexico"], {"canadau", "canadaus", "us"}),
    ("it's - a", ["it", "s", "a"], {"its"}),
    ("a.b.c.d", ["a", "b", "c", "d"], {"ab", "abc", "bc", "bcd", "cd"}),
    ("rock and roll", ["rock", "and", "roll"], set()),
    ("Montréal  (QC)\n", ["montreal", "qc"], set()),
    ("snake_case", ["snake", "case"], {"snakecase"}),
]


@pytest.mark.parametrize(("text", "tokens", "joined"), FIELDS)
def test_folded_field_tokens_and_joined_words(
    text: str, tokens: list[str], joined: set[str]
) -> None:
    field = FoldedField("title", text)
    assert field.words == tokens
    assert field.vocabulary == set(tokens) | joined


def test_find_walks_the_lattice() -> None:
    field = FoldedField("title", "the U.S.-Mexico T-MEC talks")
    assert field.find(("us", "mexico"), False) == [(1, 3)]
    assert field.find(("u", "s", "mexico"), False) == [(1, 3)]
    assert field.find(("tmec", "talks"), False) == [(4, 6)]
    assert field.find(("mexico", "t", "me"), True) == [(3, 5)]
    assert field.find(("ta",), True) == [(6, 6)]
    assert field.find(("mexico", "talks"), False) == []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_offsets_map_every_token_back_to_the_original_text(text: str) -> None:
    field = FoldedField("summary", text)
    offsets = field.offsets()
    assert len(offsets) == len(field.words)
    previous_end = 0
    for word, (start, end) in zip(field.words, offsets, strict=True):
        assert previous_end <= start < end <= len(text)
        assert fold_word(text[start:end]) == word
        previous_end = end


# Text made of what the ASCII way has to tell apart: letters, digits, the
# one-character separators that join, runs of them, and every kind of space.
ASCII_TEXT = st.text(alphabet=st.sampled_from(list("aZ9xY0 .-_'&,\t\n\x1c\x1f\x0b")))


@st.composite
def _mostly_ascii_text(draw: st.DrawFn) -> str:
    """ASCII text with a few characters that are not (accented letters, typographic
    punctuation, a mark, a dotted capital I), few enough for the mixed scan to take it."""
    words = draw(st.lists(st.sampled_from(["trade", "U.S.", "T-MEC", "a1", "x_y"]), min_size=40))
    odd = [
        "Montréal",
        "São-Paulo",
        "Zürich's",
        "’",
        "—",
        "é",
        "ÉTÉ",
        "Erdoğan",
        "\u0130",
        "e\u0301",
    ]
    for _ in range(draw(st.integers(1, 3))):
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(odd)))
    return draw(st.sampled_from([" ", ", ", "\n"])).join(words)


MIXED_TEXT = _mostly_ascii_text()


@settings(max_examples=500, deadline=None)
@given(st.one_of(ASCII_TEXT, MIXED_TEXT, st.text()))
def test_the_ascii_way_finds_the_tokens_joins_and_offsets_of_the_general_scan(text: str) -> None:
    field = FoldedField("summary", text)
    words, joins = _scan(text)
    assert field.words == words
    assert field.offsets() == _offsets(text)
    assert [(start, end) for start, end in zip(field.starts(), field.ends(), strict=True)] == (
        _offsets(text)
    )
    # Every join makes a joined word starting at its token.
    assert {first for _, first, _ in field.joined} == set(joins)


COMPOUNDS = [
    ("T-MEC", [["t", "mec"]]),
    (
        '"United States-Mexico-Canada Agreement"',
        [["united"], ["states", "mexico", "canada"], ["agreement"]],
    ),
    ("U.S.", [["u", "s"]]),
    ("tariffs!", [["tariffs"]]),
    ("&", []),
]


@pytest.mark.parametrize(("text", "compounds"), COMPOUNDS)
def test_query_compounds(text: str, compounds: list[list[str]]) -> None:
    assert query_compounds(text) == compounds


def test_alternatives_group_adjacent_parts() -> None:
    assert alternatives([["t", "mec"]]) == (("t", "mec"), ("tmec",))
    assert alternatives([["a"], ["b", "c", "d"]]) == (
        ("a", "b", "c", "d"),
        ("a", "b", "cd"),
        ("a", "bc", "d"),
        ("a", "bcd"),
    )


def test_alternatives_are_capped() -> None:
    many = [["a", "b", "c"] for _ in range(8)]
    found = alternatives(many)
    assert len(found) <= 64
    assert found[0] == tuple("abc" * 8)
    assert ("abc",) * 8 in found


def test_text_whose_lower_casing_changes_length_is_still_folded() -> None:
    field = FoldedField("title", "\u0130STANBUL and ANKARA")
    assert field.words == ["istanbul", "and", "ankara"]
    assert [field.text[start:end] for start, end in field.offsets()] == [
        "\u0130STANBUL",
        "and",
        "ANKARA",
    ]
