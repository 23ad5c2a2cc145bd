"""Judgement on real news nobody on the team wrote: alerts, lost items, grouping, relevance.

    python bench/judgement.py [--only realfeeds|reuters|ecbplus]

Each figure is printed against its target:

* realfeeds (../shared/realfeeds, 200 real feed files): served on loopback and polled
  once by the real pipeline with the shipped config (config/monitor.yaml: its watches,
  aliases, alerts and known articles) into a temporary SQLite database. Prints every
  alert raised (title / feed / watches) to read and judge, the distinct items that the
  identity keys suppressed (target 0), and every join by a text signal the poll
  recorded, with both titles (a join of two different articles is a defect; by default,
  ``dedup.index_unmatched: false``, only entries that matched a watch or may be backfill
  are looked up, see ``bench/grouping.py`` for every join the signal makes).
* reuters (../shared/devsets/reuters21578, 21,578 wire stories of 1987): precision and
  recall of each shipped watch against the editors' ``label_trade_can_mex`` (topic
  ``trade`` and place ``canada`` or ``mexico``), and of the watches taken together.
  The labels are loose (see the devsets README): read the disagreements listed.
* ecbplus (../shared/devsets/ecbplus): story grouping, pairwise within the set, for
  headlines only and for title + body (:func:`monitor.dedup.evaluation.ecbplus_grouping`).

A set that is absent is reported and skipped. Runs in a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from monitor.config import Config, load_config
from monitor.dedup.evaluation import ecbplus_grouping
from monitor.pipeline import compile_rules
from monitor.rules import RuleSet
from monitor.store.models import EntryRow, FeedRow
from monitor.store.store import Store
from monitor.types import Entry
from testbed.realfeeds import (
    IDENTITY_SIGNALS,
    REALFEEDS,
    poll_once,
    polling_config,
    serve,
    suppressions,
)
from testbed.servers import HttpServer

REPO = Path(__file__).resolve().parents[1]
DEVSETS = REPO.parent / "shared" / "devsets"
REUTERS = DEVSETS / "reuters21578" / "reuters21578.jsonl.gz"
ECBPLUS = DEVSETS / "ecbplus" / "ecbplus_docs.json"
SHIPPED = REPO / "config" / "monitor.yaml"

TARGET_WATCH_PRECISION = 0.8
TARGET_GROUPING_PRECISION = 0.95
DISAGREEMENTS_SHOWN = 8


def heading(text: str) -> None:
    print(f"\n== {text}")


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    return "meets target" if met else "BELOW target" if higher_is_better else "ABOVE target"


# --- realfeeds ---------------------------------------------------------------------------


def realfeeds(config: Config) -> None:
    heading("realfeeds: 200 real feed files through the pipeline (shipped config, SQLite)")
    if not REALFEEDS.is_dir():
        print(f"skipped: {REALFEEDS} is absent")
        return
    server = HttpServer().start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            polled = polling_config(config, serve(server), f"sqlite:///{folder}/judgement.db")
            started = time.perf_counter()
            pipeline, summary = poll_once(polled)
            try:
                print(f"{summary.line()} ({time.perf_counter() - started:.0f}s)")
                report_alerts(pipeline.store, config)
                report_identity(pipeline.store)
                report_joins(pipeline.store)
            finally:
                pipeline.close()
    finally:
        server.stop()


def report_alerts(store: Store, config: Config) -> None:
    total = 0
    for alert in config.alerts:
        pending = store.pending_items(alert.name)
        total += len(pending)
        print(
            f"\nalerts raised for {alert.name!r}: {len(pending)} (read each; target: on-topic share >= {TARGET_WATCH_PRECISION})"
        )
        for stored in pending:
            watches = ", ".join(m.watch for m in stored.matches if m.watch in alert.watches)
            print(f"  - {stored.entry.title[:90]!r} / {stored.entry.feed_name} / {watches}")
    print(f"alerts raised in all: {total}")


def report_identity(store: Store) -> None:
    found = suppressions(store)
    wrong = [s for s in found if not s.repeats]
    by_how = Counter(s.how for s in found)
    listed = ", ".join(f"{how} {n}" for how, n in sorted(by_how.items()))
    print(f"\nentries suppressed by identity keys: {len(found)} ({listed or 'none'})")
    print(
        f"distinct items among them (lost): {len(wrong)} (target 0: {verdict(len(wrong), 0, False)})"
    )
    for item in wrong:
        print(f"  LOST [{item.how}] {item.title[:70]!r} folded into {item.original_title[:70]!r}")


def report_joins(store: Store) -> None:
    entries, feeds = EntryRow.__table__, FeedRow.__table__
    original = entries.alias("original")
    original_feed = feeds.alias("original_feed")
    with store.session() as session:
        rows = session.execute(
            sa.select(
                entries.c.dup_signal,
                entries.c.dup_score,
                feeds.c.name,
                entries.c.title,
                original_feed.c.name,
                original.c.title,
            )
            .join(feeds, feeds.c.id == entries.c.feed_id)
            .join(original, original.c.id == entries.c.duplicate_of)
            .join(original_feed, original_feed.c.id == original.c.feed_id)
            .where(entries.c.dup_signal.not_in(IDENTITY_SIGNALS))
            .order_by(entries.c.id)
        ).all()
    print(
        f"\njoins by a text signal the poll recorded: {len(rows)} (read them: a join of different "
        "articles is a defect; by default (dedup.index_unmatched false) only entries that "
        "matched a watch or may be backfill are looked up: bench/grouping.py lists every join)"
    )
    for signal, score, feed, title, of_feed, of_title in rows:
        print(f"  [{signal} {score or 0:.2f}] [{feed}] {title[:70]!r}")
        print(f"      ~ [{of_feed}] {of_title[:70]!r}")


# --- reuters ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Story:
    newid: int
    title: str
    body: str
    topics: frozenset[str]
    places: frozenset[str]
    label: bool


def reuters_stories() -> Iterator[Story]:
    with gzip.open(REUTERS, "rt", encoding="utf-8") as lines:
        for line in lines:
            raw = json.loads(line)
            yield Story(
                int(raw["newid"]),
                str(raw.get("title") or ""),
                str(raw.get("body") or ""),
                frozenset(raw.get("topics") or ()),
                frozenset(raw.get("places") or ()),
                bool(raw.get("label_trade_can_mex")),
            )


def as_entry(story: Story) -> Entry:
    return Entry(
        feed_url="https://reuters.invalid/feed",
        feed_name="Reuters",
        title=story.title,
        link=None,
        canonical_link=None,
        guid=str(story.newid),
        summary=story.body,
        published=datetime(1987, 3, 1, tzinfo=UTC),
        language="en",
    )


def precision_recall(hits: set[int], relevant: set[int]) -> tuple[float, float, int]:
    right = len(hits & relevant)
    precision = right / len(hits) if hits else 1.0
    recall = right / len(relevant) if relevant else 1.0
    return precision, recall, right


def reuters(config: Config) -> None:
    heading("reuters21578: each shipped watch against the editors' labels")
    if not REUTERS.is_file():
        print(f"skipped: {REUTERS} is absent")
        return
    rules: RuleSet = compile_rules(config)
    stories = list(reuters_stories())
    hits: dict[str, set[int]] = {watch.name: set() for watch in config.watches}
    started = time.perf_counter()
    for story in stories:
        for match in rules.match(as_entry(story)):
            hits[match.watch].add(story.newid)
    seconds = time.perf_counter() - started
    by_id = {story.newid: story for story in stories}
    label = {s.newid for s in stories if s.label}
    trade = {s.newid for s in stories if "trade" in s.topics}
    canada_mexico = {s.newid for s in stories if s.places & {"canada", "mexico"}}
    print(
        f"{len(stories)} stories matched in {seconds:.0f}s; label_trade_can_mex: {len(label)}, "
        f"topic trade: {len(trade)}, place canada or mexico: {len(canada_mexico)}"
    )
    hits["(any watch)"] = set().union(*hits.values())
    for name, found in hits.items():
        p, r, right = precision_recall(found, label)
        print(
            f"  {name:22s} hits {len(found):4d}  vs label: precision {p:.2f} recall {r:.2f} "
            f"({right} right; precision {verdict(p, TARGET_WATCH_PRECISION)})"
        )
        pt, _, _ = precision_recall(found, trade)
        pp, _, _ = precision_recall(found, canada_mexico)
        print(
            f"  {'':22s} share of hits with topic trade {pt:.2f}, with place canada/mexico {pp:.2f}"
        )
    union = hits["(any watch)"]
    extra = sorted(union - label)[:DISAGREEMENTS_SHOWN]
    missed = sorted(label - union)[:DISAGREEMENTS_SHOWN]
    print(f"\nmatched but not labelled (first {len(extra)} of {len(union - label)}; read them):")
    for newid in extra:
        s = by_id[newid]
        print(f"  {newid}: {s.title[:80]!r} topics={sorted(s.topics)} places={sorted(s.places)}")
    print(f"labelled but not matched (first {len(missed)} of {len(label - union)}):")
    for newid in missed:
        s = by_id[newid]
        print(f"  {newid}: {s.title[:80]!r} topics={sorted(s.topics)} places={sorted(s.places)}")


# --- ecbplus ---------------------------------------------------------------------------


def ecbplus() -> None:
    heading("ecbplus: story grouping (pairs within the set, same event = same story)")
    if not ECBPLUS.is_file():
        print(f"skipped: {ECBPLUS} is absent")
        return
    started = time.perf_counter()
    for grouping in ecbplus_grouping(ECBPLUS):
        print(f"  {grouping.summary()}")
        print(
            f"    precision {verdict(grouping.precision, TARGET_GROUPING_PRECISION)} "
            f"(target >= {TARGET_GROUPING_PRECISION}); recall as high as it gets"
        )
        for example in grouping.false_examples[:5]:
            print(f"    wrong: {example}")
    print(
        f"  ({time.perf_counter() - started:.0f}s; ECB+: Cybulska and Vossen, LREC 2014, CC BY 3.0)"
    )


SECTIONS = ("realfeeds", "reuters", "ecbplus")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this part")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # one line per failing feed is noise here
    config = load_config(SHIPPED)
    chosen = args.only or list(SECTIONS)
    started = time.perf_counter()
    if "realfeeds" in chosen:
        realfeeds(config)
    if "reuters" in chosen:
        reuters(config)
    if "ecbplus" in chosen:
        ecbplus()
    print(f"\ndone in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
