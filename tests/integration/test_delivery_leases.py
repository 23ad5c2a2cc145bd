"""Two relays and a slow webhook receiver: every delivery is POSTed exactly once (both backends).

Relay A claims the queued deliveries and sends them one by one to a receiver
that holds each POST until the test lets it through; both relays read one
manual clock, which the test moves while A is held up. Relay B (another
Pipeline on the same database, as a second ``monitor digest --send`` is) runs
while A is stuck in its third POST, after the claim on the row A has not
reached yet ran out. A renews its claim on a row right before sending it and
marks it only while that claim holds, so B takes over exactly the row A had
not reached (never the one A holds), and A leaves it alone. The order is the
test's: no step waits on the wall clock, so a loaded machine cannot reorder it.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.deliver.relay import RelayOutcome
from monitor.pipeline import Pipeline
from monitor.store.outbox import Lease
from testbed.servers import HttpServer, Request, Route
from tests.support.clock import ManualClock
from tests.support.feeds import Item, rss

DIGESTS = 4
LEASE = timedelta(seconds=60)
SLOW = LEASE * 0.4
"""How far the clock moves while the receiver holds one of A's POSTs."""
PATIENCE = 20.0
"""Wall-clock seconds either side waits for the other before failing: a safety net
against a hang, never part of the order (the webhook timeout, 30 s, is longer)."""


def real_clock() -> datetime:
    return datetime.now(UTC)


def story(n: int) -> Item:
    published = real_clock() - timedelta(hours=1)
    return Item(f"USMCA story {n}", f"https://news.example/{n}", "Trade.", published, f"s{n}")


class HeldReceiver:
    """A webhook receiver that is down (503) until opened, then answers each POST only
    when the test releases it."""

    def __init__(self) -> None:
        self.open = False
        self.received: list[Request] = []
        self._arrivals: queue.Queue[tuple[Request, threading.Event]] = queue.Queue()
        self._held: list[threading.Event] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if not self.open:
            return 503, {}, b""
        release = threading.Event()
        with self._lock:
            self._held.append(release)
        self._arrivals.put((request, release))
        if not release.wait(PATIENCE):
            return 500, {}, b"the test never released this POST"
        with self._lock:
            self.received.append(request)
        return 200, {}, b""

    def next_post(self) -> tuple[str, threading.Event]:
        """The webhook-id of the next POST to arrive, and the event that answers it."""
        try:
            request, release = self._arrivals.get(timeout=PATIENCE)
        except queue.Empty:
            pytest.fail(f"no POST reached the receiver in {PATIENCE} s")
        return request.headers["webhook-id"], release

    def idle(self) -> bool:
        return self._arrivals.empty()

    def close(self) -> None:
        """Answer every held POST and refuse any later one, so no relay is left hanging."""
        self.open = False
        with self._lock:
            for release in self._held:
                release.set()


class Relay(threading.Thread):
    """One ``monitor digest --send`` of the alert, in a thread of its own."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(daemon=True)
        self.pipeline = pipeline
        self.outcomes: list[RelayOutcome] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            alert = self.pipeline.config.alert("desk")
            self.outcomes = list(self.pipeline.send_digest(alert, force=True).deliveries)
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            self.error = exc

    def finish(self) -> list[RelayOutcome]:
        self.join(timeout=PATIENCE)
        assert not self.is_alive(), "the relay did not finish"
        assert self.error is None, self.error
        return self.outcomes


def test_a_second_relay_never_sends_what_a_slow_first_relay_holds(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    receiver = HeldReceiver()
    feed = http_server.add("/rss.xml", Route(body=rss([story(0)])))
    config = write_config(
        db_url,
        [feed],
        webhook_url=http_server.add("/hook", Route(responder=receiver)),
        replica={"delivery_lease": f"{LEASE.seconds}s", "delivery_batch": 10},
    )
    config.write_text(config.read_text().replace("timeout: 3s", "timeout: 30s"))
    clock = ManualClock(real_clock())
    first = open_pipeline(config, clock)
    second = open_pipeline(config, clock)
    second.owner = "second-relay"

    # The receiver is down while four digests are built: four webhook rows wait in the ledger.
    for n in range(DIGESTS):
        http_server.add("/rss.xml", Route(body=rss([story(i) for i in range(n + 1)])))
        assert asyncio.run(first.poll()).new == 1
        outcomes = first.send_digest(first.config.alert("desk")).deliveries
        assert [o.status for o in outcomes] == ["retry"]
        clock.advance(seconds=1)
    queued = sorted(first.store.pending_deliveries(), key=lambda d: d.id)
    assert len(queued) == DIGESTS
    rows = [d.id for d in queued]
    hook_ids = [f"msg_{d.digest.id}" for d in queued]

    receiver.open = True
    relay_a, relay_b = Relay(first), Relay(second)
    try:
        relay_a.start()
        # A claimed all four rows for one lease and renews each right before its POST,
        # so while the receiver holds the third, A holds that row past the first claim.
        for expected in hook_ids[:3]:
            webhook_id, release = receiver.next_post()
            assert webhook_id == expected
            clock.advance(seconds=SLOW.total_seconds())
            if expected != hook_ids[2]:
                release.set()
        # The claim on the fourth row has run out; the third is A's, held up.
        relay_b.start()
        webhook_id, release_b = receiver.next_post()
        assert webhook_id == hook_ids[3], "the second relay sent a row the first one holds"
        release_b.set()
        second_outcomes = relay_b.finish()
        release.set()
        first_outcomes = relay_a.finish()
        assert receiver.idle(), "a POST beyond one per digest"
    finally:
        receiver.close()

    ids = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(ids) == DIGESTS
    assert set(ids.values()) == {1}, ids  # no digest POSTed twice
    ledger = first.store.deliveries()
    assert [d.status for d in ledger] == ["sent"] * DIGESTS
    # The second relay took over what the first had not reached; the first let go of it.
    sent_by = {
        name: [o.delivery_id for o in outs if o.status == "sent"]
        for name, outs in (("first", first_outcomes), ("second", second_outcomes))
    }
    lost = [o.delivery_id for o in first_outcomes if o.status == "lost"]
    assert sent_by["second"], second_outcomes
    assert sorted(lost) == sorted(sent_by["second"])
    assert sorted(sent_by["first"] + sent_by["second"]) == sorted(d.id for d in ledger)
    assert (sorted(sent_by["first"]), sent_by["second"]) == (rows[:3], rows[3:])


def test_a_mark_under_a_lost_claim_changes_nothing(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    http_server.add("/hook", Route(status=503))
    feed = http_server.add("/rss.xml", Route(body=rss([story(0)])))
    config = write_config(db_url, [feed], webhook_url=http_server.url("/hook"))
    pipeline = open_pipeline(config, real_clock)
    assert asyncio.run(pipeline.poll()).new == 1
    (queued,) = pipeline.send_digest(pipeline.config.alert("desk")).deliveries
    store, now = pipeline.store, real_clock()

    (mine,) = store.claim_deliveries("a", now, now + timedelta(seconds=1), due_only=False)
    assert mine.lease is not None
    assert mine.lease.owner == "a"
    # A's claim runs out; B claims the row (a new token), even under A's own replica id.
    later = now + timedelta(seconds=5)
    (theirs,) = store.claim_deliveries("a", later, later + timedelta(minutes=5), due_only=False)
    assert theirs.lease is not None
    assert theirs.lease != mine.lease

    assert not store.renew_delivery(mine.id, mine.lease, later + timedelta(minutes=5))
    assert not store.mark_sent(mine.id, later, lease=mine.lease)
    assert not store.mark_retry(mine.id, later, "x", later, lease=mine.lease)
    assert not store.mark_failed(mine.id, later, "x", lease=mine.lease)
    assert not store.mark_sent(mine.id, later, lease=Lease("b", theirs.lease.token))
    row = store.delivery(queued.delivery_id)
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)

    assert store.renew_delivery(theirs.id, theirs.lease, later + timedelta(minutes=5))
    assert store.mark_sent(theirs.id, later, lease=theirs.lease)
    row = store.delivery(queued.delivery_id)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, later)
