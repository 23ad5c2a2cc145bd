"""The story leader: the earliest copy, clamped times, deterministic ties, eligible copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.stories import first_published, story_leader
from monitor.types import Entry, Match, StoredEntry

SEEN = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def stored(
    entry_id: int,
    feed: str,
    published: datetime | None,
    watches: tuple[str, ...] = ("usmca",),
    link: str | None = None,
    first_seen: datetime = SEEN,
) -> StoredEntry:
    entry = Entry(
        feed_url=f"https://{feed}.example/feed",
        feed_name=feed,
        title=f"{feed} headline",
        link=link or f"https://{feed}.example/story",
        canonical_link=None,
        guid=None,
        summary="",
        published=published,
    )
    matches = tuple(Match(watch, 1.0, ()) for watch in watches)
    return StoredEntry(entry_id, entry, first_seen, matches)


def test_the_earliest_published_copy_leads_under_the_roots_id() -> None:
    root = stored(1, "paper", SEEN - 20 * MINUTE)
    wire = stored(2, "wire", SEEN - 50 * MINUTE)
    late = stored(3, "late", SEEN - 5 * MINUTE)
    lead = story_leader(root, [wire, late])
    assert lead.id == 1
    assert lead.entry.feed_name == "wire"
    assert lead.also == ("paper", "late")
    assert story_leader(wire, [root, late]).entry.feed_name == "wire"
    assert story_leader(wire, [root, late]) is wire


def test_a_missing_or_future_time_counts_as_the_first_sighting() -> None:
    assert first_published(stored(1, "a", None)) == SEEN
    assert first_published(stored(1, "a", SEEN + 60 * MINUTE)) == SEEN
    root = stored(1, "root", SEEN - 10 * MINUTE)
    future = stored(2, "future", SEEN + 60 * MINUTE, first_seen=SEEN - MINUTE)
    undated = stored(3, "undated", None, first_seen=SEEN + MINUTE)
    assert story_leader(root, [future, undated]).entry.feed_name == "root"


def test_ties_do_not_depend_on_ids_or_arrival_order() -> None:
    a = stored(1, "a", SEEN - MINUTE, link="https://a.example/x")
    b = stored(2, "b", SEEN - MINUTE, link="https://b.example/x")
    assert story_leader(a, [b]).entry.feed_name == "a"
    assert story_leader(b, [a]).entry.feed_name == "a"


def test_a_copy_that_missed_the_roots_watches_cannot_lead() -> None:
    root = stored(1, "root", SEEN - MINUTE, watches=("usmca", "canada-mexico"))
    partial = stored(2, "partial", SEEN - 30 * MINUTE, watches=("usmca",))
    assert story_leader(root, [partial]) is root
