"""build_digest: grouping, order, max_items, snippets and title highlights."""

from __future__ import annotations

import json

import pytest

from monitor.digest.build import build_digest
from monitor.types import Digest, StoredEntry
from tests.conftest import FROZEN_NOW
from tests.digest.samples import WATCHES, big_digest, sample_digest, stored


def build(*entries: StoredEntry, **options: int) -> Digest:
    return build_digest("d-1", "desk", WATCHES, entries, FROZEN_NOW, **options)


def test_an_item_is_listed_once_under_its_first_watch_with_every_reason() -> None:
    both = stored(
        1,
        "Canada and Mexico on the USMCA",
        matches=(
            ("canada-mexico", ("Canada", "Mexico")),
            ("usmca", ("USMCA",)),
        ),
    )
    digest = build(both)
    assert [s.watch for s in digest.sections] == ["usmca"]
    (item,) = digest.sections[0].items
    assert [m.watch for m in item.matches] == ["canada-mexico", "usmca"]


def test_watches_outside_the_alert_are_ignored_and_empty_sections_left_out() -> None:
    other = stored(1, "Hockey", matches=(("sports", ("Hockey",)),))
    mixed = stored(2, "USMCA and hockey", matches=(("sports", ("hockey",)), ("usmca", ("USMCA",))))
    digest = build(other, mixed)
    assert [s.watch for s in digest.sections] == ["usmca"]
    (item,) = digest.sections[0].items
    assert [m.watch for m in item.matches] == ["usmca"]
    assert digest.item_count == 1


def test_newest_first_undated_by_first_seen_ties_by_newer_id() -> None:
    digest = build(
        stored(1, "USMCA old", hours_ago=10),
        stored(2, "USMCA undated", hours_ago=None),  # first seen 5 minutes ago
        stored(3, "USMCA new", hours_ago=1),
        stored(4, "USMCA new too", hours_ago=1),
    )
    assert [i.entry_id for i in digest.sections[0].items] == [2, 4, 3, 1]


def test_max_items_deals_round_robin_and_counts_the_rest() -> None:
    digest = big_digest(500, max_items=51)
    assert digest.item_count == 51
    assert digest.omitted == 449
    assert digest.total_count == 500
    assert [(s.watch, len(s.items), s.omitted) for s in digest.sections] == [
        ("usmca", 26, 224),
        ("canada-mexico", 25, 225),
    ]
    for section in digest.sections:  # each keeps its newest
        stamps = [i.published.timestamp() for i in section.items if i.published]
        assert len(stamps) == len(section.items)
        assert stamps == sorted(stamps, reverse=True)


def test_a_quiet_watch_is_not_crowded_out() -> None:
    noisy = [stored(n, f"USMCA {n}", hours_ago=n / 100) for n in range(1, 40)]
    quiet = stored(99, "Canada and Mexico", hours_ago=30, matches=(("canada-mexico", ("Canada",)),))
    digest = build(*noisy, quiet, max_items=5)
    assert [(s.watch, len(s.items), s.omitted) for s in digest.sections] == [
        ("usmca", 4, 35),
        ("canada-mexico", 1, 0),
    ]


def test_no_limit_and_a_limit_larger_than_the_digest_omit_nothing() -> None:
    assert big_digest(20).omitted == 0
    assert big_digest(20, max_items=20).omitted == 0


def test_max_items_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_items"):
        big_digest(3, max_items=0)


def test_snippet_comes_from_the_field_with_hits_and_is_highlighted() -> None:
    summary_hit = stored(
        1, "Trade", "Talks on the USMCA resumed.", matches=(("usmca", ("USMCA",)),)
    )
    content_hit = stored(
        2,
        "Trade",
        "A summary without the term.",
        content="A long article. " * 40 + "Then the USMCA came up.",
    )
    digest = build(summary_hit, content_hit)
    by_id = {i.entry_id: i for i in digest.sections[0].items}
    assert by_id[1].snippet_field == "summary"
    assert by_id[1].snippet == (("Talks on the ", False), ("USMCA", True), (" resumed.", False))
    assert by_id[2].snippet_field == "content"
    assert ("USMCA", True) in by_id[2].snippet
    assert by_id[2].snippet[0][0].startswith("…")  # the window starts inside the content


def test_snippet_without_hits_is_the_summary_then_content_then_title() -> None:
    title_only = stored(1, "USMCA talks", "", matches=(("usmca", ("USMCA",)),))
    content_only = stored(2, "USMCA", "", content="Plain content.")
    summary = stored(3, "USMCA", "Plain summary.", content="Plain content.")
    items = {i.entry_id: i for i in build(title_only, content_only, summary).sections[0].items}
    assert (items[1].snippet_field, items[1].snippet) == (
        "title",
        (("USMCA", True), (" talks", False)),
    )
    assert (items[2].snippet_field, items[2].snippet) == ("content", (("Plain content.", False),))
    assert (items[3].snippet_field, items[3].snippet) == ("summary", (("Plain summary.", False),))


def test_title_parts_are_the_whole_title_only_when_the_title_was_hit() -> None:
    title = "The  USMCA\nreview: what the USMCA means " + "for everyone " * 30
    hit, miss = stored(1, title), stored(2, "Nothing here", "USMCA in the summary")
    items = {i.entry_id: i for i in build(hit, miss).sections[0].items}
    assert "".join(text for text, _ in items[1].title_parts) == " ".join(title.split())
    assert [text for text, marked in items[1].title_parts if marked] == ["USMCA", "USMCA"]
    assert items[2].title_parts == ()


def test_only_web_links_are_kept() -> None:
    links = {
        1: "javascript:alert(1)",
        2: " JavaScript:alert(1)",
        3: "data:text/html,<script>",
        4: "  https://news.example/a  ",
        5: "HTTP://NEWS.EXAMPLE/B",
        6: None,
    }
    digest = build(*(stored(n, "USMCA", link=link) for n, link in links.items()))
    kept = {i.entry_id: i.link for i in digest.sections[0].items}
    assert kept == {
        1: None,
        2: None,
        3: None,
        4: "https://news.example/a",
        5: "HTTP://NEWS.EXAMPLE/B",
        6: None,
    }


def test_the_digest_survives_the_outbox_round_trip() -> None:
    digest = sample_digest(max_items=2)
    again = Digest.model_validate(json.loads(digest.model_dump_json()))
    assert again == digest
    assert again.omitted == 1


def test_a_digest_stored_before_snippets_still_loads() -> None:
    payload = json.loads(sample_digest().model_dump_json())
    payload.pop("omitted")
    for section in payload["sections"]:
        section.pop("omitted")
        for item in section["items"]:
            for key in ("snippet", "snippet_field", "title_parts"):
                item.pop(key)
    old = Digest.model_validate(payload)
    assert old.omitted == 0
    assert all(item.snippet == () for s in old.sections for item in s.items)
