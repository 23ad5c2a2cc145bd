"""The display values every renderer shares: clean text, safe links, local times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.digest.view import clean, clean_parts, digest_view, local_time, safe_link
from tests.digest.samples import TIMEZONE, sample_digest


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("  Line one\r\nSubject: injected  ", "Line one Subject: injected"),
        ("tab\there\x00and\x1bnul\x85next\u2028sep", "tab here and nul next sep"),
        ("abc\u202egnp.exe", "abcgnp.exe"),  # a right-to-left override cannot flip what follows
        ("\u2067isolated\u2069 \u202aembedded\u202c", "isolated embedded"),
        ("مرحبا بالعالم", "مرحبا بالعالم"),  # right-to-left text needs no controls: kept as is
        ("", ""),
    ],
)
def test_clean_makes_one_safe_line(raw: str, shown: str) -> None:
    assert clean(raw) == shown


def test_clean_parts_keeps_inner_spaces_and_merges_neighbours() -> None:
    parts = (("  The\nleaders of ", False), ("Canada", True), ("\u202e", False), (" and", False))
    assert clean_parts(parts) == (("The leaders of ", False), ("Canada", True), (" and", False))
    assert clean_parts((("a ", False), (" b", True))) == (("a ", False), ("b", True))
    assert clean_parts((("\u202e", False), (" ", True))) == ()


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("https://news.example/a?b=1&c=2", "https://news.example/a?b=1&c=2"),
        (" http://news.example/ ", "http://news.example/"),
        (
            "https://news.example/a b\r\nX-Injected: 1",
            "https://news.example/a%20b%0D%0AX-Injected:%201",
        ),
        ("https://news.example/\u202egnp", "https://news.example/%E2%80%AEgnp"),
        ("javascript:alert(1)", None),
        ("JAVASCRIPT:alert(1)", None),
        ("data:text/html,x", None),
        ("//news.example/protocol-relative", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_link_keeps_web_links_as_one_token(link: str | None, shown: str | None) -> None:
    assert safe_link(link) == shown


def test_times_are_shown_in_the_alert_timezone() -> None:
    moment = datetime(2026, 7, 1, 16, 30, tzinfo=UTC)
    assert local_time(moment, ZoneInfo("America/Mexico_City")) == "2026-07-01 10:30 CST"
    assert local_time(moment, ZoneInfo("America/Toronto")) == "2026-07-01 12:30 EDT"
    assert local_time(moment, ZoneInfo("UTC")) == "2026-07-01 16:30 UTC"
    assert local_time(None, ZoneInfo("UTC")) == "date unknown"


def test_view_numbers_items_and_counts_sections() -> None:
    view = digest_view(sample_digest(), TIMEZONE)
    assert [(s.heading, s.anchor) for s in view.sections] == [
        ("usmca (2)", "watch-1"),
        ("canada-mexico (1)", "watch-2"),
    ]
    assert [i.number for i in view.items] == [1, 2, 3]
    assert view.headline == "desk: 3 new items"
    assert view.items[2].link is None  # javascript: dropped
    assert view.items[2].published_text == "date unknown"
    assert view.items[0].also == ("Globe and Mail", "Reuters")
    assert view.items[0].reasons[1].watch == "usmca"
    assert view.items[0].reasons[1].terms == ("T-MEC",)


def test_view_of_a_limited_digest_says_how_many_are_shown() -> None:
    view = digest_view(sample_digest(max_items=2), TIMEZONE)
    assert view.headline == "desk: 3 new items, 2 shown"
    assert [s.more for s in view.sections] == ["and 1 more", ""]
    assert view.sections[0].heading == "usmca (2)"


def test_preheader_lists_titles_while_they_fit() -> None:
    view = digest_view(sample_digest(), TIMEZONE)
    assert view.preheader == (
        "Carney and Sheinbaum talk trade · "
        "USMCA review: <script>alert('x')</script> ministers meet · Ottawa y México: sin enlace"
    )
    long = sample_digest().model_copy(deep=True)
    item = long.sections[0].items[0].model_copy(update={"title": "word " * 100})
    section = long.sections[0].model_copy(update={"items": (item,)})
    preheader = digest_view(long.model_copy(update={"sections": (section,)})).preheader
    assert len(preheader) == 200
    assert preheader.endswith("…")


def test_a_digest_stored_before_snippets_shows_its_summary() -> None:
    digest = sample_digest()
    item = (
        digest.sections[0]
        .items[1]
        .model_copy(update={"snippet": (), "snippet_field": None, "title_parts": ()})
    )
    section = digest.sections[0].model_copy(update={"items": (item,)})
    (shown,) = digest_view(digest.model_copy(update={"sections": (section,)})).items
    assert shown.snippet == ((" ".join(item.summary.split()), False),)
    assert shown.title_parts == ((item.title, False),)


def test_a_title_only_item_does_not_repeat_its_title_as_snippet() -> None:
    (item,) = digest_view(sample_digest()).sections[1].items
    assert item.snippet == ()
    assert ("Ottawa", True) in item.title_parts
