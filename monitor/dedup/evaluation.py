"""Measuring duplicate detection: labelled pairs, seed-derived pairs, precision, recall.

Used by the tests (which assert the targets) and by ``bench/dedup_quality.py``
(which prints the figures). Two ways of scoring:

* :func:`evaluate` runs every pair through the real lookup path: the pair's
  ``b`` alone goes into a fresh :class:`MemoryIndex`, ``a`` is looked up, so a
  duplicate the LSH bands fail to surface counts as a miss;
* :func:`evaluate_corpus` puts every distinct ``b`` into one index and looks
  every ``a`` up against all of them; a match to an article of another story
  is a false merge, a story present but not found is a miss.

:func:`seed_pairs` derives pairs from real articles (the seeds) at run time:
trimmed, summarised, edited and re-furnished copies of each, and each against
the others. The seed text is never written anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.dedup.decide import DuplicateDecision, decide
from monitor.dedup.features import Features, fingerprint
from monitor.dedup.index import MemoryIndex, StoredDocument, find_duplicate, index_document
from monitor.dedup.index import stored_features as _stored_features
from monitor.dedup.settings import DedupSettings

# A plain sentence splitter for building test pairs, independent of the one in
# text.py, so the pairs do not inherit that module's blind spots.
_SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’]))\s+(?=[A-Z\"“‘])")
_ABBREVIATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "U.S.", "St.", "Sept.", "Aug.", "Ont.")
# Lines shorter than this are headings, credits or furniture, not a lead.
_LEAD_MIN_WORDS = 8
# An opening paragraph this short is a deck (standfirst), not the lead.
_DECK_MAX_WORDS = 25


@dataclass(frozen=True, slots=True)
class Document:
    """One side of a pair."""

    title: str
    url: str
    text: str
    story: str = ""
    """Which story the text tells; equal stories mean duplicates."""


@dataclass(frozen=True, slots=True)
class Pair:
    """Two documents and whether they are the same story."""

    id: str
    kind: str
    a: Document
    b: Document
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the detector said about one pair."""

    pair: Pair
    decision: DuplicateDecision

    @property
    def correct(self) -> bool:
        return self.decision.is_duplicate == self.pair.duplicate


@dataclass(frozen=True, slots=True)
class Quality:
    """Confusion counts of a run, with precision and recall."""

    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    errors: tuple[str, ...]
    """One line per wrong answer: pair id and the decision's reason."""

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 1.0

    def summary(self, name: str) -> str:
        """One line of figures for a report."""
        return (
            f"{name}: precision {self.precision:.3f}, recall {self.recall:.3f} "
            f"(tp {self.true_positives}, fp {self.false_positives}, "
            f"fn {self.false_negatives}, tn {self.true_negatives})"
        )


def _document(raw: dict[str, str]) -> Document:
    return Document(raw["title"], raw.get("url", ""), raw["text"], raw.get("story", ""))


def load_pairs(path: Path) -> list[Pair]:
    """Pairs from a JSON-lines file of ``{id, kind, a, b, duplicate}`` objects."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            pairs.append(
                Pair(
                    raw["id"],
                    raw["kind"],
                    _document(raw["a"]),
                    _document(raw["b"]),
                    raw["duplicate"],
                )
            )
    return pairs


def _stored(doc_id: int, document: Document) -> StoredDocument:
    return StoredDocument(doc_id, document.title, document.text, document.url or None)


def _features(document: Document, settings: DedupSettings) -> Features:
    return fingerprint(document.title, document.text, document.url or None, scheme=settings.scheme)


def _quality(outcomes: Sequence[Outcome]) -> Quality:
    tp = sum(1 for o in outcomes if o.pair.duplicate and o.decision.is_duplicate)
    fp = sum(1 for o in outcomes if not o.pair.duplicate and o.decision.is_duplicate)
    fn = sum(1 for o in outcomes if o.pair.duplicate and not o.decision.is_duplicate)
    tn = len(outcomes) - tp - fp - fn
    errors = tuple(
        f"{'FP' if o.decision.is_duplicate else 'FN'} {o.pair.id}: {o.decision.reason}"
        for o in outcomes
        if not o.correct
    )
    return Quality(tp, fp, fn, tn, errors)


def judge(pairs: Iterable[Pair], settings: DedupSettings, lookup: bool = True) -> list[Outcome]:
    """The decision on every pair: through a one-article index, or ``decide`` alone."""
    outcomes = []
    for pair in pairs:
        stored = _stored(1, pair.b)
        candidate = _features(pair.a, settings)
        if lookup:
            index = MemoryIndex()
            index_document(stored, index, settings)
            decision = find_duplicate(candidate, index, settings)
        else:
            decision = decide(candidate, [_stored_features(stored, settings)], settings)
        outcomes.append(Outcome(pair, decision))
    return outcomes


def evaluate(pairs: Iterable[Pair], settings: DedupSettings, lookup: bool = True) -> Quality:
    """Precision and recall over ``pairs`` (see the module docstring)."""
    return _quality(judge(pairs, settings, lookup))


def evaluate_corpus(pairs: Sequence[Pair], settings: DedupSettings) -> Quality:
    """Every distinct ``b`` in one index, every ``a`` looked up against all of them.

    A positive is an ``a`` whose story is in the index; it is a true positive
    when matched to an article of its own story. Any match to another story's
    article is a false positive.
    """
    index = MemoryIndex()
    stories: dict[int, str] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for pair in pairs:
        key = (pair.b.title, pair.b.url, pair.b.text)
        if key not in seen:
            doc_id = len(seen) + 1
            seen[key] = doc_id
            index_document(_stored(doc_id, pair.b), index, settings)
            stories[doc_id] = pair.b.story
    present = set(stories.values())
    outcomes = []
    queried: set[tuple[str, str, str]] = set()
    for pair in pairs:
        key = (pair.a.title, pair.a.url, pair.a.text)
        if key in queried or key in seen:
            continue
        queried.add(key)
        decision = find_duplicate(_features(pair.a, settings), index, settings)
        matched = stories.get(decision.of_id or 0) if decision.is_duplicate else None
        expected = pair.a.story in present
        right = matched == pair.a.story
        as_pair = Pair(pair.id, pair.kind, pair.a, pair.b, expected)
        # Fold "matched, but to the wrong story" into a false positive.
        shown = decision if right or matched is None else _wrong_story(decision, matched)
        outcomes.append(Outcome(as_pair, shown))
    return _quality(outcomes)


def _wrong_story(decision: DuplicateDecision, matched: str) -> DuplicateDecision:
    return DuplicateDecision(
        True,
        decision.of_id,
        decision.signal,
        decision.score,
        f"merged with {matched}: {decision.reason}",
    )


# --- pairs derived from real articles ----------------------------------------


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _sentences(paragraph: str) -> list[str]:
    out: list[str] = []
    for piece in _SENTENCE.split(paragraph):
        if out and out[-1].endswith(_ABBREVIATIONS):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


def _body_paragraphs(text: str) -> list[str]:
    """Paragraphs a feed would carry: no gallery marker or its caption, no short lines."""
    lines = _paragraphs(text)
    kept = []
    skip_next = False
    for line in lines:
        if skip_next:
            skip_next = False
            continue
        if line.lower().startswith("open this photo in gallery"):
            skip_next = True
            continue
        if len(line.split()) >= _LEAD_MIN_WORDS:
            kept.append(line)
    return kept


def lead_summary(text: str, sentences: int = 2) -> str:
    """The first ``sentences`` sentences of the article body, as a feed summary."""
    lead: list[str] = []
    for paragraph in _body_paragraphs(text):
        lead.extend(_sentences(paragraph))
        if len(lead) >= sentences:
            break
    return " ".join(lead[:sentences])


def lead_after_deck(text: str, sentences: int = 2) -> str | None:
    """The first sentences after a short opening deck, or None if there is no deck.

    Feeds of publications that open with a deck sometimes carry the deck as the
    summary and sometimes the first real paragraph.
    """
    paragraphs = _body_paragraphs(text)
    if len(paragraphs) < 2 or len(paragraphs[0].split()) > _DECK_MAX_WORDS:
        return None
    return " ".join(_sentences(paragraphs[1])[:sentences])


def trimmed_copy(text: str, share: float = 0.5) -> str:
    """The first ``share`` of the paragraphs."""
    paragraphs = _paragraphs(text)
    return "\n".join(paragraphs[: max(2, round(len(paragraphs) * share))])


def edited_copy(text: str, dateline: str = "OTTAWA, Sept 18 (Reuters) - ") -> str:
    """A wire re-edit: dateline and byline added, paragraphs swapped and cut, style changed."""
    paragraphs = _body_paragraphs(text)
    if len(paragraphs) > 5:
        paragraphs[3], paragraphs[4] = paragraphs[4], paragraphs[3]
        del paragraphs[len(paragraphs) // 2]
    paragraphs[0] = dateline + paragraphs[0]
    body = "\n".join(paragraphs).replace(" per cent", "%").replace("Mr. ", "").replace("Ms. ", "")
    return f"By Staff Reporter\n{body}\n(Reporting by Staff Reporter; Editing by Desk Editor)"


def refurnished_copy(text: str) -> str:
    """The same article on another site: its furniture dropped, other furniture added."""
    paragraphs = _body_paragraphs(text)
    for position in range(3, len(paragraphs), 6):
        paragraphs.insert(position, "Advertisement")
    return "\n".join(["Listen to this article", *paragraphs, "Share this article"])


def seed_pairs(seed_dir: Path, others: Sequence[Document] = ()) -> list[Pair]:
    """Pairs built from the articles in ``seed_dir`` (see the module docstring).

    ``others`` are unrelated articles (the labelled set's) that every seed and
    every seed summary must be kept apart from.
    """
    seeds = [
        Document(f"Seed article {path.stem}", "", path.read_text(encoding="utf-8"), path.stem)
        for path in sorted(seed_dir.glob("*.txt"))
    ]
    pairs: list[Pair] = []
    for seed in seeds:
        name = seed.story
        variants = {
            "trimmed": trimmed_copy(seed.text),
            "trimmed-short": trimmed_copy(seed.text, 0.25),
            "summary-2": lead_summary(seed.text, 2),
            "summary-1": lead_summary(seed.text, 1),
            "edited": edited_copy(seed.text),
            "refurnished": refurnished_copy(seed.text),
        }
        after_deck = lead_after_deck(seed.text)
        if after_deck is not None:
            variants["summary-after-deck"] = after_deck
        for kind, text in variants.items():
            copy = Document(f"New headline for {name}", "", text, name)
            pairs.append(Pair(f"seed-{kind}:{name}", f"seed-{kind}", copy, seed, True))
        summary = Document("A different headline", "", variants["summary-2"], name)
        for other in seeds:
            if other is not seed:
                pairs.append(
                    Pair(f"seed-vs-seed:{name}~{other.story}", "seed-negative", seed, other, False)
                )
                pairs.append(
                    Pair(
                        f"seed-summary-vs-seed:{name}~{other.story}",
                        "seed-negative",
                        summary,
                        other,
                        False,
                    )
                )
        for other in others:
            pairs.append(
                Pair(f"seed-vs-story:{name}~{other.story}", "seed-negative", seed, other, False)
            )
            pairs.append(
                Pair(f"story-vs-seed:{other.story}~{name}", "seed-negative", other, seed, False)
            )
            pairs.append(
                Pair(
                    f"seed-summary-vs-story:{name}~{other.story}",
                    "seed-negative",
                    summary,
                    other,
                    False,
                )
            )
    return pairs


def distinct_originals(pairs: Iterable[Pair]) -> list[Document]:
    """The distinct ``b`` documents of the pairs that tell a story (one per story)."""
    seen: dict[str, Document] = {}
    for pair in pairs:
        if pair.b.story and pair.b.text and pair.b.story not in seen:
            seen[pair.b.story] = pair.b
    return list(seen.values())
