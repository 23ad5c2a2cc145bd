"""The note a capped document gets: counts with nouns that agree with them."""

from __future__ import annotations

from monitor.parse.limits import ItemLimits, describe_cut

LIMITS = ItemLimits(max_items=100, title_chars=60, summary_chars=1_000, content_chars=5_000)


def test_nothing_cut_is_no_note() -> None:
    assert describe_cut(10, 10, {}, LIMITS) is None


def test_one_of_each_field_is_singular() -> None:
    note = describe_cut(10, 10, {"title": 1, "summary": 1, "content": 1}, LIMITS)
    assert note == (
        "1 title clipped to 60 characters (fetch.max_title_chars); "
        "1 summary clipped to 1,000 characters (fetch.max_summary_chars); "
        "1 content clipped to 5,000 characters (fetch.max_content_chars)"
    )


def test_several_are_plural_summaries_included() -> None:
    note = describe_cut(1_200, 100, {"title": 2, "summary": 4, "content": 1_500}, LIMITS)
    assert note == (
        "kept the newest 100 of 1,200 items (fetch.max_items_per_feed 100); "
        "2 titles clipped to 60 characters (fetch.max_title_chars); "
        "4 summaries clipped to 1,000 characters (fetch.max_summary_chars); "
        "1,500 contents clipped to 5,000 characters (fetch.max_content_chars)"
    )
