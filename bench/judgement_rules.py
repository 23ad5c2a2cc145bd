"""Watch relevance on real news: ``python bench/judgement_rules.py [--config PATH]``.

Two measures, both on data nobody on the team wrote, read at run time and never copied:

* ``../shared/realfeeds/``: every file parsed with monitor's parser, each feed's repeated
  text left out as the poll does before matching, the watches run; every alert is listed
  (title, feed file, watch) with the judgement made by reading it (:data:`JUDGED`):
  ``core`` (North American trade: must alert), ``related`` (US–Canada–Mexico economic
  relations: an alert is fair), ``off`` (a false alarm). Precision counts core and related
  as on topic and anything not judged yet as off; recall is over the core items.
* ``../shared/devsets/reuters21578/``: precision and recall of each watch, and of all of
  them together, against the editors' ``label_trade_can_mex`` (topic ``trade`` with place
  ``canada`` or ``mexico``), with the disagreements to read.

:func:`realfeeds_alerts`, :func:`realfeeds_report` and :func:`reuters_report` are pure
apart from reading the files, and take a compiled :class:`RuleSet`, so ``bench/judgement.py``
can print them next to its own figures.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import load_config
from monitor.errors import MonitorError
from monitor.parse.feed import parse_feed
from monitor.pipeline import compile_rules
from monitor.rules import RuleSet, Verdict
from monitor.types import Entry

SHARED = Path(__file__).resolve().parents[2] / "shared"
REALFEEDS = SHARED / "realfeeds"
REUTERS = SHARED / "devsets" / "reuters21578" / "reuters21578.jsonl.gz"
CONFIG = Path(__file__).resolve().parents[1] / "config" / "monitor.yaml"

PRECISION_TARGET = 0.8

# Judgements of realfeeds items, made by reading each one. Keyed by a digest of the feed
# file and the entry's guid (or link, or title), so no text of theirs is kept here.
JUDGED: dict[str, tuple[str, str]] = {
    "1d00b2ff9e29": ("core", "a House vote against the tariffs on Canada"),
    "5f3e48b81764": ("core", "the economic-security case behind the tariffs on Canada and Mexico"),
    "43d31bdd39fd": ("core", "a bridge to Canada held hostage over dairy tariffs and trade terms"),
    "fa0be11e9677": ("related", "fentanyl from Canada, the stated ground of the tariffs"),
    "afbbda9304c5": ("related", "Carney answers Trump; tariffs as leverage"),
    "7a158e0453f7": ("related", "Canada moves military purchases off US suppliers"),
    "278f70ca5dd8": ("off", "Carney's poll numbers after Davos; tariffs only in passing"),
    "2753ebe927d8": (
        "off",
        "a lawsuit against OpenAI; a video teaser about trade talks leads the page",
    ),
    "f1967cb0d060": ("off", "Canadian defence plan"),
    "ac15bf9e4a05": ("off", "European security conference"),
    "eb4f4a748a29": ("off", "a year's good-news round-up"),
    "5a443ebfe971": ("off", "sleep research; a researcher named Carney"),
    "e071f054e0eb": ("off", "EU leaders answer the US"),
    "04a26cb38f38": ("off", "German chancellor on Europe and the US"),
    "62c1f3a0faf5": ("off", "oil blockade of Cuba"),
    "102c64f3b8c4": ("off", "Trump and Iraq"),
    "1c80ca8d87bf": ("off", "climate and energy in a Davos speech"),
    "23e1180a84a2": ("off", "Greenland"),
    "3bd0a8f78f43": ("off", "Greenland"),
    "5fd03c5f3be9": ("off", "Davos overview"),
    "32a6238a6aaf": ("off", "Greenland; tariffs on French wine"),
    "09ce10fed4d7": ("off", "a peace board"),
    "de44646daaee": ("off", "Greenland"),
    "cf044a078eb8": ("off", "NATO and Greenland"),
    "63882710f815": ("off", "a global opinion survey on China"),
    "de8f890719b7": ("off", "development economics essay citing a book title"),
    "75e65d006969": ("off", "measles outbreaks in the World Cup host countries"),
}

# Reuters stories a watch fired on that the editors did not label trade + canada/mexico,
# read one by one (by newid): most are North American trade under a commodity topic
# (corn, lumber, gas, hogs) instead of "trade", which is where the label is loose.
REUTERS_READ: dict[int, tuple[bool, str]] = {
    516: (True, "Canadian duty on US corn"),
    1594: (True, "Canada objects to a US customs fee at GATT"),
    1883: (True, "US complaint on Canadian fish exports at GATT"),
    2617: (True, "Canadian duty on US corn"),
    2727: (True, "Canadian duty on US corn"),
    2749: (True, "Canadian duty on US corn"),
    2848: (True, "Canadian duty on US corn"),
    2922: (True, "Canadian duty on US corn"),
    3950: (True, "Mexican tax and US oilseed exports"),
    5017: (True, "US corn sales to Mexico"),
    5115: (True, "US-Canada lumber pact"),
    5132: (True, "US-Canada lumber pact"),
    5518: (True, "Canadian duty on US corn"),
    6207: (True, "Quebec power exports to the US"),
    6585: (True, "Canadian duty on US corn"),
    9554: (True, "steel trans-shipped through Canada to the US"),
    9674: (True, "Mexico and others against a US oil import tax"),
    9989: (True, "Canadian duty on US corn"),
    12272: (True, "Quebec power exports to the US"),
    12348: (True, "Mexican purchase of US soybeans"),
    12712: (True, "Mexican purchase of Canadian rapeseed"),
    14412: (True, "Canada seeks exemption from a US trade bill"),
    14733: (True, "round-up led by Canada's plea on a US trade bill"),
    15290: (True, "Mexican cattle imports into the US"),
    16499: (True, "Canadian gas exports to the US"),
    17357: (True, "Canadian gas imports into the US"),
    17361: (True, "Canadian gas imports into the US"),
    17686: (True, "Canadian lumber exports and the US duty"),
    17823: (True, "US duty on Canadian pork"),
    18421: (True, "US plants on the Mexican border"),
    20250: (True, "Mexico closes its border to US fruit"),
    20763: (True, "Canadian duty on US corn"),
    1903: (False, "Korean car exports"),
    4833: (False, "Haiti's pig imports"),
    5397: (False, "a joint venture selling in North America"),
    9095: (False, "Sri Lankan wheat tender"),
    12710: (False, "Japanese purchase of Canadian rapeseed"),
    13179: (False, "world grain export round-up"),
    13492: (False, "Thai-made cars imported into Canada"),
    14716: (False, "world grain export round-up"),
}


def entry_digest(file_name: str, entry: Entry) -> str:
    """The key of an item in :data:`JUDGED`."""
    ident = entry.guid or entry.link or entry.title
    return hashlib.sha256(f"{file_name}\n{ident}".encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Alert:
    """A watch that fired on a realfeeds item, with the judgement of the item."""

    file: str
    feed: str
    title: str
    watch: str
    digest: str
    judgement: str
    """``core``, ``related``, ``off`` or ``unjudged``."""
    reason: str


@dataclass(frozen=True)
class RealfeedsReport:
    entries: int
    alerts: tuple[Alert, ...]
    missed: tuple[str, ...]
    """Core items no watch alerted on (their reasons)."""

    @property
    def items(self) -> dict[str, Alert]:
        """One alert per distinct item (the first watch that fired)."""
        found: dict[str, Alert] = {}
        for alert in self.alerts:
            found.setdefault(alert.digest, alert)
        return found

    @property
    def on_topic(self) -> int:
        return sum(a.judgement in ("core", "related") for a in self.items.values())

    @property
    def precision(self) -> float:
        return self.on_topic / len(self.items) if self.items else 1.0


def _clean(entries: Sequence[Entry]) -> list[Entry]:
    """The entries as the poll matches them: the feed's repeated text left out, when the
    project has that step (``monitor.prepare.without_boilerplate``)."""
    try:
        from monitor.prepare import without_boilerplate  # type: ignore[attr-defined]
    except ImportError:
        return list(entries)
    return list(without_boilerplate(entries))


def realfeeds_entries(folder: Path = REALFEEDS) -> Iterator[tuple[str, Entry]]:
    """(file name, entry) for every entry monitor's parser gets out of the folder."""
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() in (".md", ".txt"):
            continue
        try:
            feed = parse_feed(path.read_bytes(), f"https://realfeeds.test/{path.name}", path.name)
        except MonitorError:
            continue
        for entry in _clean(feed.entries):
            yield path.name, entry


def realfeeds_report(rules: RuleSet, folder: Path = REALFEEDS) -> RealfeedsReport:
    """Every alert the watches raise on the folder, judged."""
    alerts: list[Alert] = []
    entries = 0
    for name, entry in realfeeds_entries(folder):
        entries += 1
        digest = entry_digest(name, entry)
        judgement, reason = JUDGED.get(digest, ("unjudged", ""))
        for match in rules.match(entry):
            alerts.append(
                Alert(name, entry.feed_name, entry.title, match.watch, digest, judgement, reason)
            )
    alerted = {alert.digest for alert in alerts}
    missed = tuple(
        reason
        for digest, (judgement, reason) in JUDGED.items()
        if judgement == "core" and digest not in alerted
    )
    return RealfeedsReport(entries, tuple(alerts), missed)


@dataclass
class WatchScore:
    """One watch (or ``any``) against ``label_trade_can_mex``."""

    watch: str
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)
    stopped: dict[str, int] = field(default_factory=dict)
    """Labelled stories whose query matched but a rule stopped, per rule."""

    @property
    def precision(self) -> float:
        fired = self.true_positive + self.false_positive
        return self.true_positive / fired if fired else 1.0

    @property
    def recall(self) -> float:
        labelled = self.true_positive + self.false_negative
        return self.true_positive / labelled if labelled else 1.0

    def read_precision(self) -> tuple[float, int]:
        """Precision once the unlabelled stories it fired on are read (:data:`REUTERS_READ`),
        and how many of those are not read yet (counted as off topic)."""
        fired = self.true_positive + self.false_positive
        on_topic = self.true_positive
        unread = 0
        for story in self.false_positives:
            newid = int(story.split(":", 1)[0])
            if newid not in REUTERS_READ:
                unread += 1
            elif REUTERS_READ[newid][0]:
                on_topic += 1
        return (on_topic / fired if fired else 1.0), unread

    def add(self, fired: bool, labelled: bool, story: str) -> None:
        if fired and labelled:
            self.true_positive += 1
        elif fired:
            self.false_positive += 1
            self.false_positives.append(story)
        elif labelled:
            self.false_negative += 1
            self.false_negatives.append(story)


def reuters_stories(path: Path = REUTERS) -> Iterator[tuple[dict[str, object], Entry]]:
    """(record, entry) per story: the headline as title, the body as summary."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            yield (
                record,
                Entry(
                    feed_url="https://reuters21578.test/",
                    feed_name="Reuters",
                    title=str(record.get("title") or ""),
                    link=None,
                    canonical_link=None,
                    guid=str(record["newid"]),
                    summary=str(record.get("body") or ""),
                ),
            )


def reuters_report(rules: RuleSet, path: Path = REUTERS) -> list[WatchScore]:
    """Per watch, then ``any``: agreement with the editors' trade + Canada/Mexico label."""
    scores = {spec.name: WatchScore(spec.name) for spec in rules.watches}
    anyone = WatchScore("any")
    for record, entry in reuters_stories(path):
        labelled = bool(record.get("label_trade_can_mex"))
        verdicts: list[Verdict] = rules.judge(entry)
        fired = {v.watch for v in verdicts if v.fired}
        story = f"{record['newid']}: {entry.title}"
        for name, score in scores.items():
            score.add(name in fired, labelled, story)
            if labelled and name not in fired:
                for verdict in verdicts:
                    if verdict.watch == name and verdict.stopped is not None:
                        rule = verdict.stopped.rule
                        score.stopped[rule] = score.stopped.get(rule, 0) + 1
        anyone.add(bool(fired), labelled, story)
    return [*scores.values(), anyone]


def _print_realfeeds(report: RealfeedsReport) -> None:
    items = report.items
    print(
        f"realfeeds: {report.entries} entries parsed, {len(report.alerts)} alerts on {len(items)} items"
    )
    for alert in report.alerts:
        mark = {"core": "ON ", "related": "ON~", "off": "OFF", "unjudged": "?? "}[alert.judgement]
        print(
            f"  {mark} [{alert.watch}] {alert.title[:90]}  ({alert.feed}, {alert.file[:8]}, "
            f"{alert.digest}){' - ' + alert.reason if alert.reason else ''}"
        )
    print(
        f"  precision {report.on_topic}/{len(items)} = {report.precision:.2f} "
        f"(target >= {PRECISION_TARGET}; unjudged items count as off topic)"
    )
    core = sum(1 for judgement, _ in JUDGED.values() if judgement == "core")
    print(f"  core North American trade items alerted: {core - len(report.missed)}/{core}")
    for reason in report.missed:
        print(f"    missed: {reason}")


def _print_reuters(scores: list[WatchScore], show: int) -> None:
    print("reuters21578: each watch against label_trade_can_mex (trade + canada/mexico)")
    for score in scores:
        fired = score.true_positive + score.false_positive
        labelled = score.true_positive + score.false_negative
        stopped = ", ".join(f"{rule} {count}" for rule, count in sorted(score.stopped.items()))
        read, unread = score.read_precision()
        print(
            f"  {score.watch:22} fired {fired:4d}  labelled {labelled:3d}  "
            f"precision {score.precision:.2f}  recall {score.recall:.2f}  "
            f"precision after reading {read:.2f}"
            + (f" ({unread} unread)" if unread else "")
            + (f"  (labelled but stopped by: {stopped})" if stopped else "")
        )
    if show:
        overall = scores[-1]
        print(f"  fired, not labelled (first {show}):")
        for story in overall.false_positives[:show]:
            print(f"    {story[:100]}")
        print(f"  labelled, not fired (first {show}):")
        for story in overall.false_negatives[:show]:
            print(f"    {story[:100]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(CONFIG), help="config whose watches to run")
    parser.add_argument("--show", type=int, default=40, help="disagreements listed per kind")
    args = parser.parse_args(argv)
    rules = compile_rules(load_config(args.config))
    if REALFEEDS.is_dir():
        _print_realfeeds(realfeeds_report(rules))
    else:
        print(f"realfeeds: {REALFEEDS} is missing; skipped")
    if REUTERS.is_file():
        _print_reuters(reuters_report(rules), args.show)
    else:
        print(f"reuters21578: {REUTERS} is missing; skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
