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
4. ``near_duplicate``: exact shingle scores (see :func:`assess`), except between a
   feed's linkless, guidless entries of different times (a changelog's entries);
5. ``headline``: an item that is only a headline, and a near-identical headline;
6. ``same_story``: two texts told in other words whose headlines and leads (or whole
   bodies) share most of their content words, whose headlines share two, and who share
   words of what happened beyond names (see :func:`same_story`).

The first four look at neither dates nor sources: a copy is a copy whenever it
arrives. The last two, weaker, join only items published within
``story_window_hours`` of each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from monitor.dedup.features import HEADLINE_MIN_WORDS, Features, cosine
from monitor.dedup.settings import DedupSettings
from monitor.dedup.similarity import containment, coverage, jaccard, title_similarity
from monitor.dedup.text import facts, stem

Signal = Literal["canonical_url", "guid", "text_hash", "near_duplicate", "headline", "same_story"]
STORY_SIGNALS: tuple[Signal, ...] = ("headline", "same_story")
"""Signals of one story told in other words: such a member adds words to find the story by."""


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
    why: str
    """The reason, with ``{figures}`` where the four scores go: most assessments are
    discarded, so the line a person reads is only formatted when asked for."""
    jaccard: float
    containment: float
    lead_containment: float
    title_similarity: float

    @property
    def reason(self) -> str:
        """One line a person can read: the verdict and the scores behind it."""
        figures = (
            f"jaccard {self.jaccard:.2f}, containment {self.containment:.2f}, "
            f"lead {self.lead_containment:.2f}, title {self.title_similarity:.2f}"
        )
        return self.why.replace("{figures}", figures)


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
      (``title_similarity``) and S's lead at L's head: a reworded summary;
    * ``a`` is a teaser (at most ``teaser_tokens``) lying wholly in ``b``
      (``teaser_containment``), wherever in ``b``: a copy, unless both come
      from one feed (a feed's roundup quoting its own items' teasers).

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

    figures = "{figures}"  # filled in by Assessment.reason, if it is ever read
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
            figures = f"{{figures}}, opening {opening:.2f}"
    if c >= settings.containment and lead_ok:
        return verdict(True, c, f"shorter text contained in longer: {figures}")
    # A feed's own roundup quotes its own teasers: those are its items, not copies.
    if (
        short is a
        and a.token_count <= settings.teaser_tokens
        and c >= settings.teaser_containment
        and not (a.feed is not None and a.feed == b.feed)
    ):
        return verdict(True, c, f"short text wholly inside a longer one: {figures}")
    if c >= settings.titled_containment and titles >= settings.title_similarity and lead_ok:
        return verdict(True, c, f"same headline, text largely contained: {figures}")
    return verdict(False, max(j, c), f"different text: {figures}")


def _separate_updates(a: Features, b: Features) -> bool:
    """Two items of one feed that has given them neither a link nor a guid, published at
    different times: entries of a changelog or a status page ("AION: anti-cheat changed
    from … to …"), each a new event however alike the text. An edited item keeps its
    time."""
    return (
        a.feed is not None
        and a.feed == b.feed
        and a.canonical_url is None
        and b.canonical_url is None
        and a.guid_key is None
        and b.guid_key is None
        and a.published is not None
        and b.published is not None
        and a.published != b.published
    )


def _title_facts_conflict(a: Features, b: Features) -> str:
    """The figures and days each headline has and the other lacks, when both have some:
    "Hot Topics (26/06/11)" and "Hot Topics (03/07/11)" are two weeks, not one story."""
    mine, theirs = facts(a.title_words), facts(b.title_words)
    if mine - theirs and theirs - mine:
        return ", ".join(sorted(mine ^ theirs)[:5])
    return ""


def _may_share_a_story(a: Features, b: Features, settings: DedupSettings) -> bool:
    """Two articles published within the story window by different feeds, not two
    anchors of one page. Undated articles cannot be placed in a window; a feed does
    not retell its own story, and its recurring headlines ("Weekly update") are
    different issues; a live page's posts share its headline."""
    if a.published is None or b.published is None:
        return False
    if abs(a.published - b.published) > timedelta(hours=settings.story_window_hours):
        return False
    if a.feed is not None and a.feed == b.feed:
        return False
    return not (a.canonical_url is not None and a.canonical_url == b.canonical_url)


# Words any report has, whatever happened: when, who said it, in which order.
_UNEVENTFUL = frozenset(
    re.findall(
        r"\S+",
        """said say says told according reported report reports year years week weeks day days
        month months ago last first since ahead before during another time times later earlier
        today yesterday tomorrow""",
    )
)


def shared_headline_words(a: Features, b: Features) -> int:
    """How many content words (by a crude stem) the two headlines share."""
    return len({stem(word) for word in a.title_words} & {stem(word) for word in b.title_words})


def shared_event_words(a: Features, b: Features) -> frozenset[str]:
    """The headline and lead words both texts share that are neither names (of either
    text), figures, dates nor words of reporting: what they say happened. Two texts on
    Macron and Modi share names and titles; two on one meeting also share "talks"."""
    shared = a.story_words & b.story_words
    named = a.name_words | b.name_words
    return frozenset(
        word
        for word in shared - named - _UNEVENTFUL
        if not word[0].isdigit() and word not in facts((word,))
    )


def same_story(a: Features, b: Features, settings: DedupSettings) -> DuplicateDecision | None:
    """Whether ``a`` reports the story of ``b`` in other words, by headline and lead.

    * One of them is only a headline (too little text to compare shingles): the
      headlines' content words, publisher suffix removed, must agree at
      ``headline_similarity``.
    * Both have text: the content words of headline and lead together must agree
      at ``story_similarity``, or the whole bodies' at ``story_cosine``; and the
      headlines share ``story_headline_words`` words and the texts
      ``story_event_words`` words of what happened (:func:`shared_event_words`).

    Either way both headlines name something (``HEADLINE_MIN_WORDS`` content
    words), their figures and days do not conflict, and both were published
    within ``story_window_hours`` by different feeds (see
    :func:`_may_share_a_story`). None when they are not the same story.
    """
    if b.doc_id is None or not _may_share_a_story(a, b, settings):
        return None
    if min(len(a.title_words), len(b.title_words)) < HEADLINE_MIN_WORDS:
        return None
    if _title_facts_conflict(a, b):
        return None
    titles = title_similarity(a.title_words, b.title_words)
    bare = min(len(a.shingles), len(b.shingles)) < settings.min_shingles
    if bare:
        if titles >= settings.headline_similarity:
            return DuplicateDecision(
                True, b.doc_id, "headline", titles, f"same headline: title {titles:.2f}"
            )
        return None
    words = title_similarity(a.story_words, b.story_words)  # Jaccard over words
    body = cosine(a, b)
    if words < settings.story_similarity and body < settings.story_cosine:
        return None
    if shared_headline_words(a, b) < settings.story_headline_words:
        return None
    events = shared_event_words(a, b)
    if len(events) < settings.story_event_words:
        return None
    return DuplicateDecision(
        True,
        b.doc_id,
        "same_story",
        max(words, body),
        f"same story in other words: headline and lead words {words:.2f}, body {body:.2f}, "
        f"title {titles:.2f}, "
        f"event words {', '.join(sorted(events)[:4])}",
    )


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
        if _separate_updates(candidate, item):
            continue
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
    stories = [found for other in pool if (found := same_story(candidate, other, settings))]
    if stories:
        return max(stories, key=lambda found: found.score)
    return DuplicateDecision(False, item.doc_id, None, result.score, result.reason)
