"""Text normalisation: furniture removed, spelling folded, lead and facts found."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dedup.text import (
    _split_at_breaks,
    clean_paragraphs,
    facts,
    normalise,
    prepare,
    split_sentences,
    strip_dateline,
    text_hash,
    title_tokens,
    tokens,
)


def test_gallery_marker_and_its_caption_are_dropped() -> None:
    text = (
        "Open this photo in gallery:\n\n"
        "Officials meet in Ottawa on Tuesday.FRED LUM/THE GLOBE WIRE\n\n"
        "Canada and Mexico will hold talks on steel next week, officials said."
    )
    assert clean_paragraphs(text) == [
        "Canada and Mexico will hold talks on steel next week, officials said."
    ]


def test_furniture_lines_are_dropped() -> None:
    text = "\n".join(
        [
            "By Jane Doe and John Roe, Reuters",
            "Sept. 18, 2025, 5:04 a.m. ET",
            "Updated 3 hours ago",
            "Listen to this article",
            "Canada's steel output fell sharply in July, the industry group said.",
            "Image",
            "Advertisement",
            "Story continues below advertisement",
            "Producers blamed the U.S. tariff for the drop.",
            "(Reporting by Jane Doe in Ottawa; Editing by Sam Roe)",
            "This report by The Canadian Press was first published Aug. 5, 2025.",
            "The post Steel output falls appeared first on Valley Observer.",
            "Continue reading",
        ]
    )
    assert clean_paragraphs(text) == [
        "Canada's steel output fell sharply in July, the industry group said.",
        "Producers blamed the U.S. tariff for the drop.",
    ]


def test_sentences_starting_like_furniture_survive() -> None:
    text = "By Tuesday, the talks had stalled.\nPublished figures show exports rose in 2024."
    assert clean_paragraphs(text) == [
        "By Tuesday, the talks had stalled.",
        "Published figures show exports rose in 2024.",
    ]


def test_headline_lines_go_only_when_sentences_remain() -> None:
    related = "With never-ending tariff drama, the economy limps along"
    body = "Exports fell for a third month, the agency said."
    assert clean_paragraphs(f"{body}\n{related}") == [body]
    assert clean_paragraphs(related) == [related]


def test_datelines_are_stripped() -> None:
    assert strip_dateline("OTTAWA, Aug 5 (Reuters) - Canada said") == "Canada said"
    assert strip_dateline("MEXICO CITY (AP) — Mexico's president") == "Mexico's president"
    assert strip_dateline("WASHINGTON/OTTAWA, Sept 18 (Reuters) - Talks") == "Talks"
    assert strip_dateline("Ottawa, Aug. 5 — The minister") == "The minister"
    assert strip_dateline("Mexico City (Reuters) - The peso") == "The peso"
    assert strip_dateline("Reuters - The loonie") == "The loonie"
    assert strip_dateline("WINDSOR, Ont. — Northfield") == "Northfield"


def test_ordinary_openings_are_not_datelines() -> None:
    opening = "Canada's economy — battered by tariffs — shrank in the quarter."
    assert strip_dateline(opening) == opening
    assert (
        strip_dateline("Talks resumed - briefly - on Monday.")
        == "Talks resumed - briefly - on Monday."
    )


def test_dateline_after_an_unrecognised_caption_is_stripped() -> None:
    text = "A worker at a mill in Hamilton. (Photo by Peter Power)\nOTTAWA — Steel output fell."
    assert clean_paragraphs(text)[1] == "Steel output fell."


def test_sentence_split_respects_abbreviations() -> None:
    text = 'Mr. Carney met Ms. Sheinbaum on Sept. 18 in the U.S. capital. They talked. "We agree," she said.'
    assert split_sentences(text) == [
        "Mr. Carney met Ms. Sheinbaum on Sept. 18 in the U.S. capital.",
        "They talked.",
        '"We agree," she said.',
    ]


# The sentence break as first written: a look-behind for the end punctuation, which the
# split drops along with the closing quotes and spaces after it.
_BREAK_BY_LOOKBEHIND = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=".!?…\"'”’“‘()[] \n\t\u00a0aZ9é", max_size=30))
def test_sentence_breaks_are_those_of_the_lookbehind_pattern(text: str) -> None:
    assert _split_at_breaks(text) == _BREAK_BY_LOOKBEHIND.split(text)


def test_tokens_fold_house_style() -> None:
    assert tokens("The U.S.M.C.A. and the USMCA") == ["the", "usmca", "and", "the", "usmca"]
    assert tokens("35 per cent, 35 percent and 35%") == [
        "35",
        "percent",
        "35",
        "percent",
        "and",
        "35",
        "percent",
    ]
    assert tokens("Mr. Carney’s and Ms. Sheinbaum's talks") == [
        "carney",
        "and",
        "sheinbaum",
        "talks",
    ]
    assert tokens("US$1,200.50 in 2024, at 5 a.m.") == [
        "us",
        "1200.50",
        "in",
        "2024",
        "at",
        "5",
        "am",
    ]
    assert tokens("México’s François") == ["mexico", "francois"]


def test_normalise_folds_case_accents_and_quotes() -> None:
    assert normalise("“Québec’s” — ÉTÉ") == '"quebec"   ete'


def test_lead_is_first_sentence_extended_to_the_minimum() -> None:
    prepared = prepare(
        "Talks stall. Canada and Mexico failed to agree on steel quotas on Monday.", 12, 40
    )
    assert prepared.lead_length == 13  # both sentences: the first alone is too short
    long_sentence = " ".join(["word"] * 60) + "."
    assert prepare(long_sentence, 12, 40).lead_length == 40


def test_opening_sentences_skip_short_ones() -> None:
    text = "Talks stall. Canada and Mexico failed to agree on steel quotas on Monday. Why?"
    prepared = prepare(text, 12, 40, opening_sentences=4, opening_min_tokens=8)
    assert prepared.opening == (
        tuple(tokens("Canada and Mexico failed to agree on steel quotas on Monday")),
    )


def test_text_hash_ignores_furniture_and_style() -> None:
    a = "OTTAWA (Reuters) - Canada's exports fell 3 per cent.\n(Reporting by Jane Doe)"
    b = "By John Roe\nCanada’s exports fell 3%."
    assert text_hash(prepare(a, 12, 40).tokens) == text_hash(prepare(b, 12, 40).tokens)
    assert text_hash(["a"]) != text_hash(["b"])


def test_facts_are_numbers_weekdays_and_months() -> None:
    assert facts(
        tokens("The loonie rose 0.4 per cent on Tuesday in August, and may fall in March")
    ) == {
        "0.4",
        "tuesday",
        "august",
    }


def test_title_tokens_drop_publisher_suffix_and_stopwords() -> None:
    assert title_tokens("Canada, Mexico leaders meet - The Herald") == {
        "canada",
        "mexico",
        "leaders",
        "meet",
    }
    assert title_tokens("Steel: what to know") == {"steel", "what", "know"}
