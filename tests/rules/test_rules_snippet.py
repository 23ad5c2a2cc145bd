"""Golden tests of snippet parts: the window, its trimming and its highlights."""

from __future__ import annotations

import pytest

from monitor.rules.snippet import make_snippet
from monitor.types import Span

LONG = (
    "Officials in Ottawa said on Monday that the government would respond to the new duties "
    "within days. Canada and Mexico have both said they would defend the USMCA, the trade pact "
    "that replaced NAFTA in 2020, as a joint review of the agreement approaches next year. "
    "Analysts expect a difficult negotiation over autos, dairy and steel."
)


def span(text: str, found: str, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(found, start + 1)
    return Span("summary", start, start + len(found), found)


GOLDEN = [
    (
        "whole short text, two hits",
        "Canada and Mexico",
        [span("Canada and Mexico", "Canada"), span("Canada and Mexico", "Mexico")],
        240,
        (("Canada", True), (" and ", False), ("Mexico", True)),
    ),
    (
        "no spans: the start of the text, cut at a word",
        LONG,
        [],
        60,
        (("Officials in Ottawa said on Monday that the government would…", False),),
    ),
    (
        "hit in the middle: context on both sides, cut at words",
        LONG,
        [span(LONG, "USMCA")],
        80,
        (
            ("…would defend the ", False),
            ("USMCA", True),
            (", the trade pact that replaced NAFTA in 2020, as a…", False),
        ),
    ),
    (
        "hit near the end: the window slides back",
        LONG,
        [span(LONG, "steel")],
        80,
        (
            ("…next year. Analysts expect a difficult negotiation over autos, dairy and ", False),
            ("steel", True),
            (".", False),
        ),
    ),
    (
        "later hits inside the window are highlighted too",
        LONG,
        [span(LONG, "Canada"), span(LONG, "Mexico"), span(LONG, "steel")],
        60,
        (
            ("…within days. ", False),
            ("Canada", True),
            (" and ", False),
            ("Mexico", True),
            (" have both said they would…", False),
        ),
    ),
    (
        "overlapping spans are one highlight",
        "the T-MEC deal",
        [Span("summary", 4, 9, "T-MEC"), Span("summary", 6, 9, "MEC")],
        240,
        (("the ", False), ("T-MEC", True), (" deal", False)),
    ),
    (
        "whitespace runs shown as one space",
        "Canada\n\nand   Mexico",
        [span("Canada\n\nand   Mexico", "Mexico")],
        240,
        (("Canada and ", False), ("Mexico", True)),
    ),
    (
        "a hit longer than the window is shown whole",
        "Say T-MEC now",
        [Span("summary", 4, 9, "T-MEC")],
        3,
        (("…", False), ("T-MEC", True), ("…", False)),
    ),
    ("empty text", "", [], 240, ()),
    (
        "spans outside the text are ignored",
        "Canada",
        [Span("summary", 3, 99, "x")],
        240,
        (("Canada", False),),
    ),
    (
        "no whitespace to cut at: cut inside the word",
        "x" * 50 + "Canada" + "y" * 50,
        [Span("summary", 50, 56, "Canada")],
        20,
        (("…xxxxx", False), ("Canada", True), ("yyyyyyyyy…", False)),
    ),
]


@pytest.mark.parametrize(
    ("text", "spans", "width", "expected"),
    [case[1:] for case in GOLDEN],
    ids=[case[0] for case in GOLDEN],
)
def test_snippet_golden(
    text: str, spans: list[Span], width: int, expected: tuple[tuple[str, bool], ...]
) -> None:
    assert make_snippet(text, spans, width) == expected


def test_highlighted_parts_are_the_spans_text() -> None:
    spans = [span(LONG, "Canada"), span(LONG, "Mexico")]
    parts = make_snippet(LONG, spans)
    assert [segment for segment, marked in parts if marked] == ["Canada", "Mexico"]


def test_window_never_exceeds_width_plus_ellipses() -> None:
    for width in (10, 40, 100, 240):
        for found in ("Officials", "USMCA", "steel"):
            text = "".join(segment for segment, _ in make_snippet(LONG, [span(LONG, found)], width))
            assert len(text.strip("…")) <= width
            assert found in text


def test_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="width"):
        make_snippet("Canada", [], 0)


@pytest.mark.parametrize("found", ["Officials", "USMCA", "steel", "days. Canada"])
def test_a_window_as_wide_as_the_text_is_the_whole_text(found: str) -> None:
    parts = make_snippet(LONG, [span(LONG, found)], width=len(LONG))
    assert "".join(segment for segment, _ in parts) == LONG
    assert [segment for segment, marked in parts if marked] == [found]
