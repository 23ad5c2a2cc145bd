"""The decision, one signal at a time, and the guards that keep stories apart."""

from __future__ import annotations

import pytest

from monitor.dedup.decide import DuplicateDecision, assess, decide
from monitor.dedup.features import Features, fingerprint, guid_key
from monitor.dedup.settings import DedupSettings
from monitor.errors import ConfigError

SETTINGS = DedupSettings()

STORY = "\n".join(
    [
        "OTTAWA — Canada will cut the volume of foreign steel that can enter the country "
        "tariff-free by half starting next month, the industry minister said on Monday.",
        "Imports from countries without a free-trade agreement will face a 25 per cent surtax "
        "once they exceed half of their 2024 volumes, under rules published in the Canada Gazette.",
        "Producers have complained that steel shut out of the U.S. market by a 50 per cent "
        "tariff is being sold in Canada at prices local mills cannot match.",
        "The industry association called the quotas a first step and asked for more.",
        "Some manufacturers that rely on specialty grades warned of shortages and higher costs "
        "and asked for an exemption process for products not made in Canada.",
        "Officials said the quota system would be reviewed after six months.",
    ]
)
OTHER_STORY = "\n".join(
    [
        "OTTAWA — Canada's steel producers will ask the federal government on Thursday to extend "
        "its import quotas to aluminum, their association said, citing a surge in shipments from Asia.",
        "Imports of aluminum sheet rose 40 per cent in the second quarter, according to figures the "
        "association plans to present to the industry minister at a meeting in Montreal.",
        "Producers have complained that steel shut out of the U.S. market by a 50 per cent "
        "tariff is being sold in Canada at prices local mills cannot match.",
        "The minister's office said it would study the request.",
    ]
)


def features(
    text: str = STORY,
    title: str = "Ottawa halves tariff-free steel quotas",
    link: str | None = None,
    guid: str | None = None,
    feed_url: str | None = None,
    doc_id: int | None = None,
) -> Features:
    return fingerprint(title, text, link, guid, feed_url, doc_id)


def stored(**fields: object) -> Features:
    return features(**{"doc_id": 7, **fields})  # type: ignore[arg-type]


def test_canonical_url_signal() -> None:
    decision = decide(
        features(text="", link="https://m.site.ca/steel-quotas?amp=1&utm_source=x"),
        [stored(text=OTHER_STORY, link="http://www.site.ca/steel-quotas/")],
        SETTINGS,
    )
    assert decision == DuplicateDecision(
        True, 7, "canonical_url", 1.0, "same article URL https://site.ca/steel-quotas"
    )


def test_root_urls_and_different_fragments_are_not_identities() -> None:
    root = decide(
        features(text="", link="https://site.ca/"), [stored(link="https://site.ca")], SETTINGS
    )
    assert not root.is_duplicate
    live = decide(
        features(text="", link="https://site.ca/live#post-2"),
        [stored(text="", link="https://site.ca/live#post-1")],
        SETTINGS,
    )
    assert not live.is_duplicate
    same_anchor = decide(
        features(text="", link="https://site.ca/live#post-1"),
        [stored(text="", link="https://site.ca/live#post-1")],
        SETTINGS,
    )
    assert same_anchor.signal == "canonical_url"


def test_guid_signal_and_its_scope() -> None:
    incoming = features(text="", guid="4711", feed_url="https://site.ca/feed")
    assert (
        decide(
            incoming, [stored(text="", guid="4711", feed_url="https://site.ca/feed/")], SETTINGS
        ).signal
        == "guid"
    )
    # A short guid means nothing in another feed.
    assert not decide(
        incoming, [stored(text="", guid="4711", feed_url="https://other.ca/rss")], SETTINGS
    ).is_duplicate
    assert guid_key("4711", None) is None
    assert guid_key("  ", "https://site.ca/feed") is None
    assert guid_key("tag:site.ca,2025:4711", None) == "id:tag:site.ca,2025:4711"
    assert guid_key("http://www.site.ca/a/", None) == "url:https://site.ca/a"


def test_text_hash_signal_ignores_headline_furniture_and_style() -> None:
    copy = "By Jane Doe, Reuters\n" + STORY.replace(
        "OTTAWA — ", "OTTAWA, July 14 (Reuters) - "
    ).replace(" per cent", "%")
    decision = decide(features(copy, title="A new headline"), [stored()], SETTINGS)
    assert decision.signal == "text_hash"
    assert decision.of_id == 7


def test_text_hash_needs_enough_words() -> None:
    decision = decide(
        features("Read the full story."), [stored(text="Read the full story.")], SETTINGS
    )
    assert not decision.is_duplicate


def test_strongest_signal_wins_across_candidates() -> None:
    by_text = stored(doc_id=1)
    by_url = stored(doc_id=2, text=OTHER_STORY, link="https://site.ca/a")
    decision = decide(features(link="https://site.ca/a"), [by_text, by_url], SETTINGS)
    assert (decision.signal, decision.of_id) == ("canonical_url", 2)


def test_near_duplicate_edited_copy() -> None:
    paragraphs = STORY.split("\n")
    edited = [paragraphs[0], paragraphs[2], paragraphs[1], *paragraphs[3:5]]
    text = "\n".join(edited).replace("said on Monday", "said Monday")
    decision = decide(features(text), [stored()], SETTINGS)
    assert decision.is_duplicate
    assert decision.signal == "near_duplicate"
    assert "copy" in decision.reason


def test_near_duplicate_summary_by_containment() -> None:
    summary = (
        "Canada will cut the volume of foreign steel that can enter the country tariff-free by "
        "half starting next month, the industry minister said on Monday."
    )
    decision = decide(features(summary), [stored()], SETTINGS)
    assert decision.is_duplicate
    assert decision.score == 1.0
    assert "contained" in decision.reason


def test_shared_background_paragraph_is_not_a_copy() -> None:
    decision = decide(features(OTHER_STORY), [stored()], SETTINGS)
    assert not decision.is_duplicate
    assert decision.of_id == 7  # the closest stored article, for explanations


def test_differing_figures_keep_templated_reports_apart() -> None:
    monday = (
        "The Canadian dollar rose 0.4 per cent against the U.S. dollar on Monday, trading at 1.3812, "
        "as oil prices climbed 1.2 per cent and investors weighed the outlook for trade talks."
    )
    tuesday = (
        monday.replace("rose 0.4", "fell 0.3")
        .replace("Monday", "Tuesday")
        .replace("1.3812", "1.3857")
    )
    result = assess(features(tuesday), stored(text=monday), SETTINGS)
    assert not result.is_duplicate
    assert "facts differ" in result.reason
    corrected = monday.replace("1.3812", "1.3813")
    long_monday = monday + " " + STORY
    # A one-figure correction of a long text is still the same text.
    assert assess(
        features(long_monday.replace("1.3812", "1.3813")), stored(text=long_monday), SETTINGS
    ).is_duplicate
    assert not assess(features(corrected), stored(text=monday), SETTINGS).is_duplicate


def test_too_little_text_is_never_a_near_duplicate() -> None:
    result = assess(features("Steel quotas tightened."), stored(), SETTINGS)
    assert not result.is_duplicate
    assert "too little text" in result.reason


def test_roundup_quoting_a_stored_summary_is_not_its_copy() -> None:
    summary = (
        "Canada will cut the volume of foreign steel that can enter the country tariff-free by "
        "half starting next month, the industry minister said on Monday."
    )
    roundup = "\n".join(
        [
            "Good morning. Here is what you need to know about trade today.",
            "Mexico's peso gained for a fourth day as investors bet on a quick review of the trade pact.",
            summary,
            "Ontario's premier said he would meet automakers in Windsor on Friday to discuss tariffs.",
        ]
    )
    # The roundup arrives after the summary: it carries more than the summary.
    assert not decide(
        features(roundup, title="Trade Brief"), [stored(text=summary)], SETTINGS
    ).is_duplicate
    # The article arriving after its summary opens with it: the same story.
    assert decide(features(STORY), [stored(text=summary)], SETTINGS).is_duplicate


def test_no_candidates() -> None:
    assert decide(features(), [], SETTINGS) == DuplicateDecision(
        False, None, None, 0.0, "no stored article to compare with"
    )
    # Features without an id (never stored) are ignored.
    assert not decide(features(), [features()], SETTINGS).is_duplicate


def test_title_agreement_accepts_a_looser_summary() -> None:
    title = "Ottawa halves tariff-free steel quotas"
    summary = (
        "Canada will cut the volume of foreign steel that can enter the country tariff-free by "
        "half starting next month, the industry minister said on Monday. Importers called it a "
        "heavy blow to business."
    )
    result = assess(features(summary, title=title), stored(title=title), SETTINGS)
    assert result.is_duplicate
    assert 0.6 <= result.containment < 0.8
    assert "same headline" in result.reason
    assert not assess(
        features(summary, title="Something else entirely"), stored(title=title), SETTINGS
    ).is_duplicate


@pytest.mark.parametrize("field", ["jaccard", "containment", "conflict_jaccard"])
def test_settings_reject_fractions_outside_zero_one(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        DedupSettings(**{field: 1.5})  # type: ignore[arg-type]


def test_settings_reject_non_positive_counts() -> None:
    with pytest.raises(ConfigError, match="max_candidates"):
        DedupSettings(max_candidates=0)


def test_new_lead_on_recycled_paragraphs_is_news() -> None:
    """A follow-up brief: one new sentence, then most of an earlier story."""
    paragraphs = STORY.split("\n")
    lead = (
        "OTTAWA — The European Union lodged the first formal complaint against the new steel "
        "quota regime, saying the caps would hurt producers in Italy and Spain."
    )
    brief = "\n".join([lead, *paragraphs[1:]])
    result = assess(features(brief), stored(), SETTINGS)
    assert result.jaccard >= SETTINGS.jaccard  # mostly the same words...
    assert result.lead_containment == 0.0  # ...under a lead of its own
    assert not result.is_duplicate


def test_rewritten_lead_of_a_long_story_is_still_a_copy_when_nearly_all_else_matches() -> None:
    more = [
        "Ottawa said the quota levels would be published each quarter on a government website.",
        "Customs brokers said importers had started to rush shipments in before the deadline.",
        "The opposition said the measures came too late for mills that had already cut shifts.",
    ]
    paragraphs = [*STORY.split("\n"), *OTHER_STORY.split("\n")[1:], *more]
    original = "\n".join(paragraphs)
    rewritten = "\n".join(
        [
            "UPDATE: Ottawa confirmed the quota plan after a cabinet meeting late in the day.",
            *paragraphs[1:],
        ]
    )
    result = assess(features(rewritten), stored(text=original), SETTINGS)
    assert result.jaccard >= SETTINGS.unanchored_jaccard
    assert result.is_duplicate
