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

Two measures on real data nobody here wrote, read at run time:
:func:`ecbplus_grouping` groups ECB+ articles (labelled by event, two events of
one kind per topic) into stories as the daemon would, and scores the grouping by
pairs and B-cubed; :func:`realfeed_joins` lists the near-duplicate joins a poll
of ``shared/realfeeds`` makes, to be read (a join of different articles is a
defect). ``bench/grouping.py`` prints both.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from monitor.dedup.decide import STORY_SIGNALS, DuplicateDecision, decide
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


# --- story grouping on ECB+ and near-duplicate joins on real feeds ------------


@dataclass(frozen=True, slots=True)
class LabelledArticle:
    """One article of a set labelled by event (ECB+: ``topic``, ``event``, ``title``, ``body``)."""

    doc: str
    topic: str
    event: str
    title: str
    body: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Grouping:
    """How well articles were grouped into stories: pairwise and B-cubed figures."""

    name: str
    articles: int
    true_pairs: int
    """Pairs in one predicted story that report one event."""
    false_pairs: int
    """Pairs in one predicted story that report different events."""
    missed_pairs: int
    """Pairs that report one event, in different predicted stories."""
    bcubed_precision: float
    bcubed_recall: float
    false_examples: tuple[str, ...] = ()

    @property
    def precision(self) -> float:
        joined = self.true_pairs + self.false_pairs
        return self.true_pairs / joined if joined else 1.0

    @property
    def recall(self) -> float:
        actual = self.true_pairs + self.missed_pairs
        return self.true_pairs / actual if actual else 1.0

    @property
    def bcubed_f1(self) -> float:
        p, r = self.bcubed_precision, self.bcubed_recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> str:
        return (
            f"{self.name}: pairwise precision {self.precision:.3f} recall {self.recall:.3f} "
            f"(joined {self.true_pairs} right, {self.false_pairs} wrong, missed "
            f"{self.missed_pairs}); B-cubed P {self.bcubed_precision:.3f} "
            f"R {self.bcubed_recall:.3f} F1 {self.bcubed_f1:.3f}"
        )


def load_ecbplus(path: Path) -> list[LabelledArticle]:
    """The articles of ECB+'s ``ecbplus_docs.json`` (see ``shared/devsets/README.md``)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [
        LabelledArticle(
            str(item["doc"]),
            str(item["topic"]),
            str(item["event"]),
            str(item.get("title") or ""),
            str(item.get("body") or ""),
            item.get("url") or None,
        )
        for item in raw
    ]


# ECB+ carries no dates: every article is taken to appear at this one time, so the
# story window never separates them and the figures measure the text alone.
_UNDATED = datetime(2000, 1, 1, tzinfo=UTC)


def group_stories(
    articles: Sequence[LabelledArticle], settings: DedupSettings, headlines_only: bool
) -> list[int]:
    """The story each article joins, as the daemon forms them: in order, each article is
    looked up among the originals before it and joins the story of the one it copies;
    one that copies nothing starts a story and is indexed, and so is one that joined
    by a story signal (its other words find later ones). Each article is its own
    feed (one outlet each)."""
    index = MemoryIndex()
    story_of: dict[int, int] = {}
    stories = []
    for position, article in enumerate(articles, start=1):
        features = fingerprint(
            article.title,
            "" if headlines_only else article.body,
            article.url,
            feed_url=f"https://outlet-{position}.invalid/feed",
            doc_id=position,
            scheme=settings.scheme,
            published=_UNDATED,
        )
        decision = find_duplicate(features, index, settings)
        if decision.is_duplicate and decision.of_id in story_of:
            story_of[position] = story_of[decision.of_id]
            if decision.signal in STORY_SIGNALS:  # told in other words: new words to find
                document = StoredDocument(position, article.title, "", features=features)
                index.add(document, features.keys)
        else:
            story_of[position] = position
            document = StoredDocument(position, article.title, "", features=features)
            index.add(document, features.keys)
        stories.append(story_of[position])
    return stories


def grouping_quality(
    name: str, articles: Sequence[LabelledArticle], stories: Sequence[int]
) -> Grouping:
    """Pairwise (every pair of articles) and B-cubed figures of a grouping."""
    members: dict[int, list[int]] = defaultdict(list)
    events: dict[str, list[int]] = defaultdict(list)
    for position, (article, story) in enumerate(zip(articles, stories, strict=True)):
        members[story].append(position)
        events[article.event].append(position)
    right = wrong = 0
    examples: list[str] = []
    for group in members.values():
        for first, second in combinations(group, 2):
            if articles[first].event == articles[second].event:
                right += 1
            else:
                wrong += 1
                if len(examples) < 20:
                    examples.append(
                        f"{articles[first].title[:70]!r} ~ {articles[second].title[:70]!r}"
                    )
    same_event = sum(len(group) * (len(group) - 1) // 2 for group in events.values())
    precision = recall = 0.0
    for article, story in zip(articles, stories, strict=True):
        group = members[story]
        shared = sum(1 for other in group if articles[other].event == article.event)
        precision += shared / len(group)
        recall += shared / len(events[article.event])
    count = len(articles) or 1
    return Grouping(
        name,
        len(articles),
        right,
        wrong,
        same_event - right,
        precision / count,
        recall / count,
        tuple(examples),
    )


def ecbplus_grouping(path: Path, settings: DedupSettings | None = None) -> list[Grouping]:
    """Story grouping on ECB+: headlines only, and headline with body."""
    settings = settings or DedupSettings()
    articles = load_ecbplus(path)
    return [
        grouping_quality(name, articles, group_stories(articles, settings, headlines_only))
        for name, headlines_only in (("headlines only", True), ("title + body", False))
    ]


@dataclass(frozen=True, slots=True)
class Join:
    """One entry taken for a copy of an earlier one by a text signal."""

    signal: str
    title: str
    feed: str
    of_title: str
    of_feed: str
    reason: str

    def line(self) -> str:
        return (
            f"{self.signal}: [{self.feed}] {self.title[:70]!r} -> "
            f"[{self.of_feed}] {self.of_title[:70]!r} ({self.reason})"
        )


_TEXT_SIGNALS = ("near_duplicate", "headline", "same_story")


def realfeed_joins(folder: Path, settings: DedupSettings | None = None) -> tuple[int, list[Join]]:
    """Every feed file of ``folder`` prepared as a poll would (boilerplate removed),
    in file-name order, each entry looked up among the originals before it: the number
    of entries, and the joins made by a text signal (identity signals left out)."""
    from monitor.errors import MonitorError
    from monitor.parse.feed import parse_feed
    from monitor.prepare import prepare
    from monitor.rules import compile_watches

    settings = settings or DedupSettings()
    rules = compile_watches([], {})
    index = MemoryIndex()
    origin: dict[int, tuple[str, str]] = {}
    joins: list[Join] = []
    count = 0
    for path in sorted(folder.glob("*.xml")):
        feed_url = f"https://{path.stem}.invalid/feed"
        try:
            parsed = parse_feed(path.read_bytes(), feed_url, path.stem, None)
        except MonitorError:
            continue
        for item in prepare(parsed.entries, rules, settings.scheme, settings.boilerplate_min_items):
            count += 1
            assert item.features is not None  # prepare's default scope fingerprints every entry
            features = replace(item.features, doc_id=count)
            if features.published is None:
                features = replace(features, published=_UNDATED)
            decision = find_duplicate(features, index, settings)
            if decision.is_duplicate and decision.of_id is not None:
                if decision.signal in _TEXT_SIGNALS:
                    of_title, of_feed = origin[decision.of_id]
                    joins.append(
                        Join(
                            decision.signal or "",
                            item.entry.title,
                            path.stem,
                            of_title,
                            of_feed,
                            decision.reason,
                        )
                    )
                continue
            origin[count] = (item.entry.title, path.stem)
            index.add(StoredDocument(count, item.entry.title, "", features=features), features.keys)
    return count, joins
