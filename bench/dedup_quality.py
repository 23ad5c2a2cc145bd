"""Precision and recall of duplicate detection on the labelled pairs and the seed pairs.

    python bench/dedup_quality.py

Prints, for the default settings: the figures on tests/data/dedup/pairs.jsonl
(through the lookup, by the decision alone, and with every article in one
index), a line per kind of pair, the figures on pairs derived from the seed
articles in ../shared/seeds (when that folder is there), and how precision and
recall move when each main threshold is moved either way.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.dedup import DedupSettings
from monitor.dedup.evaluation import (
    Pair,
    distinct_originals,
    evaluate,
    evaluate_corpus,
    judge,
    load_pairs,
    seed_pairs,
)

REPO = Path(__file__).resolve().parents[1]
PAIRS = REPO / "tests" / "data" / "dedup" / "pairs.jsonl"
SEEDS = (REPO / ".." / "shared" / "seeds").resolve()
# Each main threshold moved far either way; 0.0 switches a guard off.
SWEEP = {
    "jaccard": (0.25, 0.8),
    "copy_lead_containment": (0.0, 0.8),
    "unanchored_jaccard": (0.5, 1.0),
    "containment": (0.5, 0.95),
    "lead_containment": (0.0, 0.95),
    "conflict_jaccard": (0.0, 0.95),
    "opening_containment": (0.0, 0.9),
    "head_tokens": (30, 400),
}


def by_kind(pairs: list[Pair], settings: DedupSettings) -> None:
    right: dict[str, list[bool]] = defaultdict(list)
    for outcome in judge(pairs, settings):
        right[outcome.pair.kind].append(outcome.correct)
    for kind, results in sorted(right.items()):
        label = "duplicates" if any(p.duplicate for p in pairs if p.kind == kind) else "distinct"
        print(f"    {kind:28s} {sum(results):3d}/{len(results):<3d} right ({label})")


def main() -> None:
    settings = DedupSettings()
    pairs = load_pairs(PAIRS)
    positives = sum(1 for pair in pairs if pair.duplicate)
    print(f"labelled set: {len(pairs)} pairs, {positives} duplicates, {len(pairs) - positives} not")
    for name, quality in (
        ("  through the lookup", evaluate(pairs, settings)),
        ("  decision alone", evaluate(pairs, settings, lookup=False)),
        ("  all in one index", evaluate_corpus(pairs, settings)),
    ):
        print(quality.summary(name))
        for error in quality.errors:
            print("      ", error)
    by_kind(pairs, settings)

    if SEEDS.is_dir():
        derived = seed_pairs(SEEDS, distinct_originals(pairs))
        quality = evaluate(derived, settings)
        print(f"seed pairs: {len(derived)} built from {SEEDS}")
        print(quality.summary("  through the lookup"))
        for error in quality.errors:
            print("      ", error)
        by_kind(derived, settings)
    else:
        print(f"seed pairs: skipped, {SEEDS} is not there")

    print("threshold sweep (labelled set: pairs through the lookup | all in one index):")
    for field, values in SWEEP.items():
        for value in values:
            moved = dataclasses.replace(settings, **{field: value})
            apart, together = evaluate(pairs, moved), evaluate_corpus(pairs, moved)
            print(
                f"  {field}={value}: precision {apart.precision:.3f} recall {apart.recall:.3f}"
                f" | precision {together.precision:.3f} recall {together.recall:.3f}"
            )


if __name__ == "__main__":
    main()
