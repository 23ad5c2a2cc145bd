"""Outcomes applied by the outbox (both backends): what each one writes, and that a claim
lost meanwhile writes nothing, a 410's disable included; the relay applies each outcome
right after its send, before the next send, and times deliveries from what it claimed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.deliver.relay import RelayOutcome, relay
from monitor.digest.build import build_digest
from monitor.digest.split import split_digest
from monitor.store.outbox import (
    Applied,
    Delivery,
    DisabledTarget,
    Failed,
    Lease,
    Outcome,
    Retry,
    Sent,
    Split,
    TargetDisabled,
)
from monitor.store.store import Store
from monitor.types import Entry, Match, NewEntry
from testbed.servers import HttpServer, Request, Route

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FEED = "https://news.example/rss.xml"
HOOK = "https://hook.example/in"
LEASE = timedelta(minutes=5)


def story(title: str, link: str) -> Entry:
    return Entry(FEED, "News", title, link, None, link, "Trade talks.")


def queue(store: Store, stories: int, seen: datetime, target: str = HOOK) -> None:
    """``stories`` entries first seen at ``seen``, one digest for them, one webhook row."""
    store.sync_feeds([(FEED, "News", timedelta(minutes=15))])
    items = [
        NewEntry(
            f"k{n}",
            story(f"USMCA story {n}", f"https://news.example/{n}"),
            alertable=True,
            matches=(Match("usmca"),),
        )
        for n in range(stories)
    ]
    store.add_entries(FEED, items, {item.key: ["desk"] for item in items}, seen)
    pending = store.pending_items("desk")
    digest = build_digest("d1", "desk", ["usmca"], pending, seen)
    assert store.create_digest(digest, [p.id for p in pending], [("webhook", target)], seen)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.close()


def claim(store: Store, owner: str = "relay-a", at: datetime = NOW) -> Delivery:
    (delivery,) = store.claim_deliveries(owner, at, at + LEASE, due_only=False)
    return delivery


def test_sent_marks_the_row_sent_and_frees_the_claim(store: Store) -> None:
    queue(store, 2, NOW - timedelta(hours=1))
    delivery = claim(store)
    assert store.apply_outcome(delivery, Sent(), NOW) == Applied(True)
    row = store.delivery(delivery.id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 1, NOW, None)
    assert store.lease_owners() == set()


def test_retry_keeps_the_row_pending_until_its_time(store: Store) -> None:
    queue(store, 1, NOW)
    delivery = claim(store)
    at = NOW + timedelta(minutes=3)
    assert store.apply_outcome(delivery, Retry(at, "503 Service Unavailable", "transient"), NOW)
    row = store.delivery(delivery.id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, at)
    assert row.last_error == "503 Service Unavailable"
    assert store.due_deliveries(NOW) == []
    assert [d.id for d in store.due_deliveries(at)] == [delivery.id]


@pytest.mark.parametrize(("kind", "attempts"), [("permanent", 1), ("gave_up", 1), ("disabled", 0)])
def test_failed_fails_the_row_counting_only_attempted_sends(
    store: Store, kind: str, attempts: int
) -> None:
    queue(store, 1, NOW)
    delivery = claim(store)
    outcome = Failed("refused", kind)  # type: ignore[arg-type]
    assert store.apply_outcome(delivery, outcome, NOW).held
    row = store.delivery(delivery.id)
    assert (row.status, row.attempts, row.last_error) == ("failed", attempts, "refused")
    assert store.disabled_targets() == []


def test_target_disabled_fails_the_row_and_disables_the_target_together(store: Store) -> None:
    queue(store, 1, NOW)
    delivery = claim(store)
    outcome = TargetDisabled("webhook: 410 Gone", "410 Gone")
    assert store.apply_outcome(delivery, outcome, NOW).held
    assert store.delivery(delivery.id).status == "failed"
    assert store.disabled_targets() == [DisabledTarget("desk", "webhook", HOOK, NOW, "410 Gone")]


def test_split_makes_claimed_parts_that_carry_their_first_sight(store: Store) -> None:
    seen = NOW - timedelta(hours=2)
    queue(store, 3, seen)
    delivery = claim(store)
    parts = tuple(split_digest(delivery.digest, lambda part: part.item_count <= 1))
    applied = store.apply_outcome(delivery, Split(parts, "sent in 3 parts: test", NOW + LEASE), NOW)
    assert applied.held
    assert [p.digest.id for p in applied.parts] == [part.id for part in parts]
    assert {p.lease for p in applied.parts} == {delivery.lease}
    assert [p.first_seen for p in applied.parts] == [(seen,)] * 3
    row = store.delivery(delivery.id)
    assert (row.status, row.last_error) == ("split", "sent in 3 parts: test")
    assert [d.status for d in store.deliveries()] == ["split", "pending", "pending", "pending"]


OUTCOMES: list[Outcome] = [
    Sent(),
    Retry(NOW, "x", "transient"),
    Failed("x", "permanent"),
    TargetDisabled("x", "410 Gone"),
    Split((), "x", NOW + LEASE),
]


@pytest.mark.parametrize("outcome", OUTCOMES, ids=lambda o: type(o).__name__)
def test_an_outcome_under_a_lost_claim_changes_nothing(store: Store, outcome: Outcome) -> None:
    queue(store, 2, NOW)
    mine = claim(store, "relay-a")
    later = NOW + LEASE + timedelta(seconds=1)  # A's claim ran out; B claims the row
    theirs = claim(store, "relay-b", later)
    assert theirs.lease is not None
    if isinstance(outcome, Split):
        parts = tuple(split_digest(mine.digest, lambda part: part.item_count <= 1))
        outcome = Split(parts, "x", later + LEASE)
    assert store.apply_outcome(mine, outcome, later) == Applied(False)
    row = store.delivery(mine.id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
    assert store.disabled_targets() == []
    assert len(store.deliveries()) == 1
    # The holder's own outcome still applies.
    assert store.apply_outcome(theirs, Sent(), later).held
    assert store.delivery(mine.id).status == "sent"


def test_a_claim_reads_the_first_sight_that_times_a_send() -> None:
    seen = (NOW - timedelta(minutes=10), NOW - timedelta(minutes=4))
    report = RelayOutcome(1, "desk", "webhook", HOOK, "d1", 2, "sent", sent_at=NOW, first_seen=seen)
    assert report.first_sight_waits() == [600.0, 240.0]
    ahead = (NOW + timedelta(seconds=5),)
    future = RelayOutcome(
        1, "desk", "webhook", HOOK, "d1", 1, "sent", sent_at=NOW, first_seen=ahead
    )
    assert future.first_sight_waits() == [0.0]  # a clock step back is not a negative wait
    retried = RelayOutcome(1, "desk", "webhook", HOOK, "d1", 2, "retry", first_seen=seen)
    assert retried.first_sight_waits() == []


class Recording:
    """The store as the relay's outbox, writing down each call next to each POST."""

    def __init__(self, store: Store, events: list[str]) -> None:
        self.store, self.events = store, events

    def disabled_targets(self) -> list[DisabledTarget]:
        return self.store.disabled_targets()

    def renew_delivery(self, delivery_id: int, lease: Lease, until: datetime) -> bool:
        self.events.append(f"renew {delivery_id}")
        return self.store.renew_delivery(delivery_id, lease, until)

    def apply_outcome(self, delivery: Delivery, outcome: Outcome, now: datetime) -> Applied:
        self.events.append(f"apply {delivery.id} {type(outcome).__name__}")
        return self.store.apply_outcome(delivery, outcome, now)


def test_the_relay_applies_each_outcome_before_the_next_send(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    store: Store,
) -> None:
    events: list[str] = []
    lock = threading.Lock()
    answers = iter([200, 503])

    def hook(request: Request) -> tuple[int, dict[str, str], bytes]:
        with lock:
            events.append("POST")
            return next(answers), {}, b""

    url = http_server.add("/hook", Route(responder=hook))
    config = load_config(write_config(db_url, [FEED], webhook_url=url))
    label = config.alert("desk").webhook.label  # type: ignore[union-attr]
    seen = NOW - timedelta(minutes=30)
    queue(store, 1, seen, target=label)
    store.add_entries(
        FEED,
        [NewEntry("k9", story("USMCA later", "https://news.example/9"), True, (Match("usmca"),))],
        {"k9": ["desk"]},
        seen,
    )
    pending = store.pending_items("desk")
    second = build_digest("d2", "desk", ["usmca"], pending, NOW)
    assert store.create_digest(second, [p.id for p in pending], [("webhook", label)], NOW)
    claimed = store.claim_deliveries("relay-a", NOW, NOW + LEASE, due_only=False)
    assert len(claimed) == 2

    reports = relay(Recording(store, events), config, claimed, NOW, rand=lambda: 0.5)

    first, then = (d.id for d in claimed)
    assert events == [
        f"renew {first}",
        "POST",
        f"apply {first} Sent",
        f"renew {then}",
        "POST",
        f"apply {then} Retry",
    ]
    assert [r.status for r in reports] == ["sent", "retry"]
    assert isinstance(reports[0].outcome, Sent)
    assert reports[0].first_sight_waits() == [1800.0]
    assert isinstance(reports[1].outcome, Retry)
    assert reports[1].outcome.kind == "transient"
    assert [d.status for d in store.deliveries()] == ["sent", "pending"]
