"""The real-world feed files of ../shared/realfeeds, served on loopback and polled by the
real pipeline, and a check of what its identity keys suppressed.

Shared by tests/integration/test_realfeeds_identity.py and bench/judgement.py. The files
are read at run time and never copied: the publishers own their text.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from monitor.config import Config, FeedConfig
from monitor.pipeline import Pipeline, PollSummary
from monitor.sources import parse_document
from monitor.store.models import EntryRow, FeedRow
from monitor.store.store import Store
from testbed.servers import HttpServer, Route

REALFEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "realfeeds"
IDENTITY_SIGNALS = ("guid", "canonical_url", "text_hash")
# The files are months or years old: without this, a first poll would hold every item
# back as backfill and nothing would be matched or grouped as the daemon does when live.
EVERYTHING_IS_RECENT = timedelta(days=36500)
ALL_ITEMS = 100_000
HEAD_CHARS = 900
# Two bodies whose words agree this closely (difflib's ratio over words) are one text told
# twice: a republished post that gained an image caption is still that post.
SAME_TEXT_RATIO = 0.97

_WORD = re.compile(r"\w+")


def feed_files() -> list[Path]:
    """The feed documents, in a fixed order."""
    return sorted(path for path in REALFEEDS.iterdir() if path.suffix == ".xml")


def serve(server: HttpServer) -> list[FeedConfig]:
    """Route every file on ``server``; the feeds to poll, named after their files."""
    feeds = []
    for path in feed_files():
        route = Route(body=path.read_bytes(), content_type="application/xml")
        feeds.append(FeedConfig(url=server.add(f"/{path.name}", route), name=path.stem))
    return feeds


def polling_config(config: Config, feeds: list[FeedConfig], database: str) -> Config:
    """``config`` (watches, aliases, alerts, seeds) polling ``feeds`` into ``database``."""
    # The files are served on loopback, which the SSRF guard rightly refuses.
    fetch = config.fetch.model_copy(
        update={
            "backfill_window": EVERYTHING_IS_RECENT,
            "ssrf_guard": False,
            # Every item is polled, however long its feed: a cut is not a duplicate.
            "max_items_per_feed": ALL_ITEMS,
        }
    )
    # Nor does retention's "too old to alert" rule apply to the old files.
    retention = config.retention.model_copy(update={"enabled": False})
    return config.model_copy(
        update={
            "feeds": tuple(feeds),
            "database": database,
            "fetch": fetch,
            "retention": retention,
        }
    )


def poll_once(config: Config) -> tuple[Pipeline, PollSummary]:
    """One poll of every feed of ``config`` through a new pipeline (the caller closes it)."""
    pipeline = Pipeline(config, Store.open(config.database)).start()
    return pipeline, asyncio.run(pipeline.poll())


@dataclass(frozen=True, slots=True)
class Suppression:
    """An entry the identity keys kept out: a repeat inside its document, or one stored as a
    duplicate by the guid, canonical URL or text hash signal."""

    how: str
    feed: str
    title: str
    original_title: str
    repeats: bool
    """Whether it really repeats the entry it was folded into (same title and text)."""


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _head(*fields: str) -> tuple[str, ...]:
    # Stored fields may be clipped (fetch.max_*_chars); their heads still tell items apart.
    return tuple(field[:HEAD_CHARS] for field in fields)


def same_item(title: str, text: str, other_title: str, other_text: str) -> bool:
    """Same title and the same text, whitespace, case and punctuation aside."""
    if _words(title) != _words(other_title):
        return False
    a, b = _words(text), _words(other_text)
    return a == b or difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= SAME_TEXT_RATIO


def suppressions(store: Store) -> list[Suppression]:
    """Every entry that the identity keys suppressed in ``store``, each judged."""
    found: list[Suppression] = []
    entries, feeds = EntryRow.__table__, FeedRow.__table__
    with store.session() as session:
        stored: dict[str, Counter[tuple[str, ...]]] = {}
        for url, title, summary, content in session.execute(
            sa.select(feeds.c.url, entries.c.title, entries.c.summary, entries.c.content).join(
                feeds, feeds.c.id == entries.c.feed_id
            )
        ):
            stored.setdefault(url, Counter())[_head(title, summary, content)] += 1
        original = entries.alias("original")
        for signal, url, title, text, first_title, first_text in session.execute(
            sa.select(
                entries.c.dup_signal,
                feeds.c.url,
                entries.c.title,
                entries.c.summary + " " + entries.c.content,
                original.c.title,
                original.c.summary + " " + original.c.content,
            )
            .join(feeds, feeds.c.id == entries.c.feed_id)
            .join(original, original.c.id == entries.c.duplicate_of)
            .where(entries.c.dup_signal.in_(IDENTITY_SIGNALS))
        ):
            repeats = same_item(title, text, first_title, first_text)
            found.append(Suppression(signal, url, title, first_title, repeats))
    # Repeats inside one document never reach the store: compare the parsed items with it.
    for url, counts in stored.items():
        path = REALFEEDS / url.rsplit("/", 1)[-1]
        if not path.is_file():
            continue
        parsed = parse_document(path.read_bytes(), url, path.stem, base=url)  # as polled
        unclaimed = Counter(counts)
        for entry in parsed.entries:
            item = _head(entry.title, entry.summary, entry.content)
            if unclaimed[item] > 0:
                unclaimed[item] -= 1
                continue
            lost = item not in counts  # folded into another item of its document
            found.append(
                Suppression(
                    "same document",
                    url,
                    entry.title,
                    "(not stored)" if lost else entry.title,
                    not lost,
                )
            )
    return found
