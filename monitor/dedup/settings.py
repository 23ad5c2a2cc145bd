"""Thresholds of the duplicate decision, with the reason for each default.

The defaults were set from first principles and then checked against the
labelled pairs in ``tests/data/dedup/pairs.jsonl`` (see ``bench/dedup_quality.py``
for the measured distributions). When in doubt they lean towards keeping two
articles apart: a reader who sees a story twice is mildly annoyed, a reader who
never sees a story because it was taken for another one is badly served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from monitor.dedup.scheme import V1, SignatureScheme
from monitor.errors import ConfigError

_FRACTIONS = (
    "jaccard",
    "copy_lead_containment",
    "unanchored_jaccard",
    "containment",
    "lead_containment",
    "opening_containment",
    "titled_containment",
    "title_similarity",
    "conflict_jaccard",
    "teaser_containment",
    "headline_similarity",
    "story_similarity",
    "story_cosine",
)

# Counting settings and the least value that makes sense for each.
_COUNTS = {
    "min_shingles": 1,
    "min_exact_tokens": 1,
    "max_candidates": 1,
    "max_postings_per_key": 1,
    "single_band_candidates": 0,
    "head_tokens": 1,
    "feature_cache_size": 0,
    "teaser_tokens": 0,
    "story_window_hours": 0,
    "boilerplate_min_items": 2,
    "story_headline_words": 0,
    "story_event_words": 0,
}


@dataclass(frozen=True, slots=True)
class DedupSettings:
    """Everything the decision and the lookup may be tuned by."""

    scheme: SignatureScheme = field(default=V1)
    """How keys are made; changing it means re-indexing stored articles."""

    jaccard: float = 0.5
    """Body Jaccard at which two texts are copies, if their leads agree (see
    ``copy_lead_containment``): a copy with a paragraph cut and a few words
    changed stays above 0.7; different stories on one topic measure under 0.2,
    a follow-up brief that recycles four paragraphs of an earlier story 0.4-0.5."""

    copy_lead_containment: float = 0.5
    """Share of the shorter text's lead that a Jaccard copy must have at the
    longer text's head. Looser than ``lead_containment``: two reworded phrases
    in a lead leave about 0.65, a new lead on recycled paragraphs leaves 0."""

    unanchored_jaccard: float = 0.8
    """Body Jaccard at which two texts are copies even with different leads (an
    "UPDATE" that rewrote only the first paragraph of a long story)."""

    containment: float = 0.8
    """Share of the shorter body's shingles in the longer one that makes it a
    trimmed copy or a summary of it. A verbatim summary or trimmed copy scores
    0.95-1.0; a short story that reuses one background paragraph of another
    stays under 0.6."""

    lead_containment: float = 0.8
    """Share of the shorter body's *lead* that must be in the longer one for a
    containment match: stories are told apart by their leads, and a different
    story built around a reused background paragraph has a lead of its own."""

    head_tokens: int = 60
    """How far into the longer body the shorter one's lead must be found for a
    containment match: the lead sentence or two (up to 40 words) plus room for
    a deck or caption before it. A roundup or live page quoting a story's lead
    as its second or later item does not thereby become a copy of it."""

    opening_containment: float = 0.5
    """When the *incoming* body is the longer one and only containment links it
    to a stored one, this share of the incoming body's own lead must be in the
    stored text: the full article of a stored summary opens with what the
    summary quotes, a roundup that quotes the stored story opens with its own
    introduction. (Half, so a summary cut off mid-sentence still counts.)"""

    titled_containment: float = 0.6
    """A lower containment accepted when the headlines also agree (a lightly
    reworded summary under the article's own headline)."""

    title_similarity: float = 0.8
    """Headline similarity that counts as agreeing, for ``titled_containment``."""

    conflict_jaccard: float = 0.85
    """Body Jaccard required when the shorter text has numbers, weekdays or
    months the longer lacks: templated reports of different days ("rose 0.3
    percent on Tuesday") read alike everywhere except there."""

    min_shingles: int = 10
    """Fewest shingles (about 14 words) the shorter body needs before any text
    comparison counts: below that, shared stock phrases decide too much."""

    min_exact_tokens: int = 20
    """Fewest tokens for equal text hashes to count: equal one-liners ("Read the
    full story") prove nothing."""

    max_candidates: int = 12
    """Stored articles examined per key query, most shared keys first: true
    copies share many keys and rank first; bounds the worst-case lookup time."""

    max_postings_per_key: int = 256
    """Article ids read per key, newest first. A stock key (a boilerplate
    sentence, a common opening) can be shared by thousands of articles; reading
    them all would make one lookup slow without finding anything better."""

    single_band_candidates: int = 4
    """Of the articles sharing just one MinHash band (typically two short items
    with one stock phrase in common), how many are still examined."""
    feature_cache_size: int = 2048
    """Stored articles whose features are kept in memory between lookups
    (:mod:`monitor.dedup.cache`), so a candidate is not fingerprinted again
    each time it comes up: about 11 KB each for a news item of a few sentences
    (2,048: some 22 MB), more for a long text. On the 200 real feeds, 2,048 served
    98 % of the candidates a poll compared, 1,024 only 60 %. 0 keeps none."""

    teaser_tokens: int = 80
    """A text this short (three or four sentences) is a teaser when it lies wholly in a
    longer article (``teaser_containment``), wherever in the article it was taken from:
    it carries nothing of its own, so it is a copy. Longer texts must match at the
    lead (``lead_containment``), as a story built around a reused paragraph does not."""

    teaser_containment: float = 0.95
    """Share of a teaser's shingles that must lie in the longer article: all of it but a
    word or two changed (a teaser of 20 words has 16 shingles; one edit costs five)."""

    headline_similarity: float = 0.8
    """Headline similarity (content words, publisher suffix removed) at which an item
    that is only a headline joins the story of another item: "near-identical". On ECB+,
    same-topic different-event headlines reach it in 1 pair in 5,600; rewritten
    headlines of one event mostly stay below it (recall is bought elsewhere)."""

    story_similarity: float = 0.25
    """Content-word Jaccard of headline and lead (the first 60 words) at which two texts
    written independently report one event. On ECB+ (same kind of event, other facts),
    different events reach 0.3 in 3 pairs in 5,600, same events in 1 in 10."""

    story_cosine: float = 0.4
    """Cosine of the whole bodies' content words (each weighted by 1 + log of its count)
    at which two texts report one event, when headline and lead alone fall short of
    ``story_similarity``."""

    story_headline_words: int = 2
    """Content words (by stem) two headlines must share for a same-story join by text:
    one shared name ("Bangladesh", "Europe") is a topic; two independent headlines of one
    event name its actor and what happened. Measured on realfeeds, where joins sharing
    one headline word or none were different articles on one topic."""

    story_event_words: int = 2
    """Shared headline and lead words, beyond names, figures, dates and reporting words,
    required for a same-story join by text: two reports of Macron meeting Modi and of
    Macron inviting Modi share every name and only one other word."""

    story_window_hours: float = 72.0
    """Headline and same-story grouping only joins items published this close together:
    the same headline a month later ("Fed holds rates") is another story. Copies by text
    (the other signals) ignore time."""

    boilerplate_min_items: int = 2
    """A line or sentence found in this many items of one feed document, under different
    headlines, is the feed's boilerplate (a sponsor block, a footer, a roundup's standing
    introduction) and counts for neither matching nor duplicates. Two: a channel's two
    videos of one sponsor share nothing else, and a feed does not carry one story twice
    under two headlines (one story twice under one headline counts once)."""

    lookup_unmatched: bool = False
    """Whether entries that can reach no digest (they matched no watch, or are backfill) are
    looked up in the whole archive too (on implies ``index_unmatched``). Off by default: they
    (backfill entries, and unmatched ones under ``index_unmatched``) are looked up only among
    the stories waiting for a digest and the known articles, and every digest is the same as
    with the full lookup (:mod:`monitor.dedup.pending` says why, and
    ``tests/integration/test_pending_lookup.py`` checks it on both databases), for a small
    share of the per-entry work (1,000 Reuters feeds, cycle 1: 79 s on, 33 s off). What off
    gives up is only the record: an unmatched copy of a story that waits for no digest
    (delivered, or never queued) is stored as an article of its own and joins no story,
    ``monitor explain`` shows it as an original, and the poll's duplicate count counts only
    the copies looked for. On records every copy of every entry."""

    index_unmatched: bool = False
    """Whether entries that matched no watch and can still alert (not backfill) are
    fingerprinted, looked up among the stories waiting for a digest, and indexed. Off:
    such an entry is stored without a fingerprint, compared with nothing and
    indexed under no key, which takes most of a cold cycle's per-entry work away (most
    entries match nothing: 25 of 6,530 on the 200 real feeds). What off changes, besides
    the record (``monitor explain``, the poll's duplicate count): a matching copy of a
    story whose earlier copies matched nothing is an original that alerts (nobody was shown
    the story), where on it is suppressed as a copy of something never alerted; and an
    unmatched copy of a story waiting for a digest is not listed among the story's other
    sources. Backfill entries and known articles are fingerprinted and indexed either way,
    so a copy of an old story never alerts. ``lookup_unmatched: true`` implies it. Off by
    default: every digest is the same either way on the 200 real feeds, and on, such an
    entry's work is done only for the record."""

    memory_index: bool = False
    """Hold the lookup's key postings in memory (:mod:`monitor.dedup.tailed`): read from
    ``dedup_keys`` at the first lookup, then only the rows of newer entries, so a lookup
    asks the database for its candidates' documents only. Costs memory (some 40 postings
    per stored entry); off keeps the key queries in the database."""

    memory_gap_seconds: float = 300.0
    """How long an entry id skipped by the in-memory index is asked for again: a replica's
    transaction that took the id and has not committed yet (PostgreSQL gives ids out of
    commit order). Longer than any write transaction."""

    def __post_init__(self) -> None:
        problems = [
            f"dedup.{name}: must be between 0 and 1, got {getattr(self, name)}"
            for name in _FRACTIONS
            if not 0.0 <= getattr(self, name) <= 1.0
        ]
        problems += [
            f"dedup.{name}: must be at least {least}, got {getattr(self, name)}"
            for name, least in _COUNTS.items()
            if getattr(self, name) < least
        ]
        if self.memory_gap_seconds < 0:
            problems.append(
                f"dedup.memory_gap_seconds: must be at least 0, got {self.memory_gap_seconds}"
            )
        if self.memory_index not in (True, False):
            problems.append(f"dedup.memory_index: must be true or false, got {self.memory_index}")
        if self.index_unmatched not in (True, False):
            problems.append(
                f"dedup.index_unmatched: must be true or false, got {self.index_unmatched}"
            )
        if self.lookup_unmatched not in (True, False):
            problems.append(
                f"dedup.lookup_unmatched: must be true or false, got {self.lookup_unmatched}"
            )
        if problems:
            raise ConfigError(problems)

    @property
    def skips_unmatched(self) -> bool:
        """Alertable entries that matched no watch get no fingerprint, lookup or keys."""
        return not (self.index_unmatched or self.lookup_unmatched)


def with_overrides(values: Mapping[str, float]) -> DedupSettings:
    """Defaults changed by the config's ``dedup:`` mapping (the scheme is not a setting).

    Raises ConfigError naming ``dedup.<key>`` for an unknown key or a bad value.
    """
    tunable = DedupSettings.__dataclass_fields__.keys() - {"scheme"}
    unknown = sorted(set(values) - tunable)
    if unknown:
        raise ConfigError(
            [f"dedup.{key}: unknown key (known: {', '.join(sorted(tunable))})" for key in unknown]
        )
    changes: dict[str, Any] = dict(values)  # each is range-checked in __post_init__
    if changes.get("lookup_unmatched") in (0, 1):  # the config reads true/false as 1.0/0.0
        changes["lookup_unmatched"] = bool(changes["lookup_unmatched"])
    if changes.get("index_unmatched") in (0, 1):
        changes["index_unmatched"] = bool(changes["index_unmatched"])
    if changes.get("memory_index") in (0, 1):
        changes["memory_index"] = bool(changes["memory_index"])
    return replace(DedupSettings(), **changes)
