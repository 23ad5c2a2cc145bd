"""Is this article one we already have? A pure decision over fingerprints.

:func:`decide` compares an incoming article's :class:`Features` with the
stored candidates a lookup brought back and returns one
:class:`DuplicateDecision`. Signals are tried strongest first, across all
candidates, so the reported signal is the most certain one available:

1. ``canonical_url``: the same article address (after unwrapping redirects and
   folding AMP, mobile, tracking and scheme variants). Not for links to a site's
   root, and not when both links carry different ``#fragments`` (one page,
   several items).
2. ``guid``: the same feed guid (scoped to its feed unless globally unique).
3. ``text_hash``: bodies equal after cleaning and folding, with at least
   ``min_exact_tokens`` words.
4. ``near_duplicate``: exact shingle scores (see :func:`assess`).

No signal looks at dates or sources: a copy is a copy whenever it arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from monitor.dedup.features import Features
from monitor.dedup.settings import DedupSettings
from monitor.dedup.similarity import containment, coverage, jaccard, title_similarity

Signal = Literal["canonical_url", "guid", "text_hash", "near_duplicate"]


@dataclass(frozen=True, slots=True)
class DuplicateDecision:
    """The verdict on one incoming article."""

    is_duplicate: bool
    of_id: int | None
    """The stored article it duplicates (or, if not a duplicate, the closest one)."""
    signal: Signal | None
    """Which signal decided; None when no stored article matched."""
    score: float
    """Strength of the decisive (or best failing) comparison, 0..1."""
    reason: str
    """One line a person can read in a log or an explanation."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """The exact comparison of two bodies, and its verdict."""

    is_duplicate: bool
    score: float
    reason: str
    jaccard: float
    containment: float
    lead_containment: float
    title_similarity: float


def _url_match(a: Features, b: Features) -> bool:
    if a.canonical_url is None or a.canonical_url != b.canonical_url:
        return False
    if not a.url_is_specific:
        return False
    # Items of one page told apart only by their anchors are different items.
    return not (a.url_fragment and b.url_fragment and a.url_fragment != b.url_fragment)


def assess(a: Features, b: Features, settings: DedupSettings) -> Assessment:
    """Compare two bodies exactly and say whether they are near-duplicates.

    With S the shorter body (by shingles) and L the longer:

    * fewer than ``min_shingles`` shingles in S: too little text, not a duplicate;
    * S has facts (numbers, weekdays, months) that L lacks: a duplicate only at
      Jaccard ``conflict_jaccard`` (different-day reports from one template);
    * Jaccard ``>= jaccard`` with S's lead at L's head (``copy_lead_containment``),
      or Jaccard ``>= unanchored_jaccard`` whatever the leads: a copy;
    * containment ``>= containment`` and S's lead found in L's first
      ``head_tokens`` words (``lead_containment``): a trimmed copy or a summary;
    * containment ``>= titled_containment``, headlines agreeing
      (``title_similarity``) and S's lead at L's head: a reworded summary.

    Containment is read in one direction only: when ``a`` (the incoming
    article) is the longer, its own lead must be in ``b``
    (``opening_containment``) as well, or a roundup quoting a stored story's
    lead would be taken for a copy of it.
    """
    short, long = (a, b) if len(a.shingles) <= len(b.shingles) else (b, a)
    j = jaccard(a.shingles, b.shingles)
    c = containment(a.shingles, b.shingles)
    head_length = max(settings.head_tokens - settings.scheme.shingle_size + 1, 1)
    lead = coverage(short.lead_shingles, frozenset(long.shingle_order[:head_length]))
    titles = title_similarity(a.title_words, b.title_words)

    def verdict(is_dup: bool, score: float, reason: str) -> Assessment:
        return Assessment(is_dup, score, reason, j, c, lead, titles)

    figures = f"jaccard {j:.2f}, containment {c:.2f}, lead {lead:.2f}, title {titles:.2f}"
    if len(short.shingles) < settings.min_shingles:
        return verdict(False, max(j, c), f"too little text to compare ({figures})")
    missing = short.facts - long.facts
    if len(a.shingles) == len(b.shingles):
        missing |= long.facts - short.facts
    if missing:
        listed = ", ".join(sorted(missing)[:5])
        if j >= settings.conflict_jaccard:
            return verdict(True, j, f"near-identical text despite differing facts {listed}")
        return verdict(False, max(j, c), f"facts differ ({listed}); {figures}")
    if j >= settings.jaccard and (
        lead >= settings.copy_lead_containment or j >= settings.unanchored_jaccard
    ):
        return verdict(True, j, f"copy: {figures}")
    lead_ok = lead >= settings.lead_containment
    if short is b and len(a.shingles) > len(b.shingles):
        # The incoming text is the longer one: it may carry more than the stored
        # one (a roundup quoting it). Only its own opening can say it is the same story.
        opening = coverage(a.lead_shingles, b.shingles)
        if opening < settings.opening_containment:
            lead_ok = False
            figures += f", opening {opening:.2f}"
    if c >= settings.containment and lead_ok:
        return verdict(True, c, f"shorter text contained in longer: {figures}")
    if c >= settings.titled_containment and titles >= settings.title_similarity and lead_ok:
        return verdict(True, c, f"same headline, text largely contained: {figures}")
    return verdict(False, max(j, c), f"different text: {figures}")


def decide(
    candidate: Features, stored: Iterable[Features], settings: DedupSettings
) -> DuplicateDecision:
    """The decision for ``candidate`` against the ``stored`` fingerprints."""
    pool = [item for item in stored if item.doc_id is not None]
    for item in pool:
        if _url_match(candidate, item):
            return DuplicateDecision(
                True, item.doc_id, "canonical_url", 1.0, f"same article URL {item.canonical_url}"
            )
    for item in pool:
        if candidate.guid_key is not None and candidate.guid_key == item.guid_key:
            return DuplicateDecision(True, item.doc_id, "guid", 1.0, f"same guid {item.guid_key}")
    if candidate.token_count >= settings.min_exact_tokens:
        for item in pool:
            if candidate.text_hash is not None and candidate.text_hash == item.text_hash:
                return DuplicateDecision(
                    True, item.doc_id, "text_hash", 1.0, "same text after normalisation"
                )

    best: tuple[Assessment, Features] | None = None
    for item in pool:
        result = assess(candidate, item, settings)
        if best is None or (result.is_duplicate, result.score) > (
            best[0].is_duplicate,
            best[0].score,
        ):
            best = (result, item)
    if best is None:
        return DuplicateDecision(False, None, None, 0.0, "no stored article to compare with")
    result, item = best
    if result.is_duplicate:
        return DuplicateDecision(True, item.doc_id, "near_duplicate", result.score, result.reason)
    return DuplicateDecision(False, item.doc_id, None, result.score, result.reason)
