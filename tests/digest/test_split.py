"""Splitting a digest into parts: every story once, in order; notes where they belong."""

from __future__ import annotations

from monitor.digest.split import carried, split_digest
from monitor.types import Digest, DigestItem, DigestSection, FeedNotice
from tests.conftest import FROZEN_NOW


def story(n: int, size: int = 10) -> DigestItem:
    return DigestItem(
        entry_id=n,
        title="t" * size,
        link=f"https://n.example/{n}",
        source="S",
        published=FROZEN_NOW,
        summary="",
        matches=(),
    )


def digest(*sections: tuple[str, list[DigestItem], int]) -> Digest:
    parts = tuple(DigestSection(watch=w, items=tuple(i), omitted=o) for w, i, o in sections)
    return Digest(
        id="20261121T090000-0123456789abcdef",
        alert="desk",
        created_at=FROZEN_NOW,
        sections=parts,
        omitted=sum(s.omitted for s in parts),
        attention=(FeedNotice(name="F", url="https://f.example/", failures=3, last_error="x"),),
    )


def weight(d: Digest) -> int:
    return sum(len(i.title) for s in d.sections for i in s.items)


def test_a_digest_that_fits_stays_whole() -> None:
    whole = digest(("a", [story(1), story(2)], 0))
    assert split_digest(whole, lambda d: True) == (whole,)


def test_parts_carry_every_story_once_in_order_and_fit() -> None:
    whole = digest(
        ("a", [story(n) for n in range(7)], 2), ("b", [story(n) for n in range(7, 12)], 1)
    )
    parts = split_digest(whole, lambda d: weight(d) <= 30)
    assert carried(parts) == list(range(12))
    assert all(weight(p) <= 30 for p in parts)
    assert [p.part for p in parts] == [f"{k} of {len(parts)}" for k in range(1, len(parts) + 1)]
    assert len({p.id for p in parts}) == len(parts)
    assert all(p.id.startswith(whole.id) for p in parts)
    assert parts[0].attention == whole.attention
    assert all(p.attention == () for p in parts[1:])
    # Each watch's left-out count goes with the part holding its last story.
    assert sum(p.omitted for p in parts) == 3
    holding_a_end = next(p for p in parts if 6 in carried([p]))
    assert {s.watch: s.omitted for s in holding_a_end.sections}["a"] == 2


def test_a_story_too_big_alone_still_gets_a_part() -> None:
    whole = digest(("a", [story(1), story(2, size=500), story(3)], 0))
    parts = split_digest(whole, lambda d: weight(d) <= 100)
    assert carried(parts) == [1, 2, 3]
    assert [p.item_count for p in parts] == [1, 1, 1]


def test_a_part_split_again_says_which_part_it_came_from() -> None:
    whole = digest(("a", [story(n) for n in range(4)], 0))
    first, _ = split_digest(whole, lambda d: d.item_count <= 2)
    again = split_digest(first, lambda d: d.item_count <= 1)
    assert [p.part for p in again] == ["1 of 2, 1 of 2", "1 of 2, 2 of 2"]
    assert all(len(p.id) <= 64 for p in again)
