"""The matcher's slot-filled Span and Match are the values their constructors make."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from monitor.rules.frozen import new, slot_setters
from monitor.types import Match, Span


def test_slot_filled_values_equal_constructed_ones() -> None:
    field, start, end, term = slot_setters(Span)
    span = new(Span)
    for setter, value in zip((field, start, end, term), ("title", 3, 8, "usmca"), strict=True):
        setter(span, value)
    made = Span("title", 3, 8, "usmca")
    assert (span, hash(span), repr(span)) == (made, hash(made), repr(made))
    watch, score, spans = slot_setters(Match)
    match = new(Match)
    watch(match, "trade")
    score(match, 2.5)
    spans(match, (span,))
    assert match == Match("trade", 2.5, (made,))


def test_a_class_with_more_than_its_fields_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    @dataclass(frozen=True)
    class Unslotted:
        value: int

    for cls in (Checked, Unslotted):
        with pytest.raises(TypeError, match="not a plain slotted dataclass"):
            slot_setters(cls)
