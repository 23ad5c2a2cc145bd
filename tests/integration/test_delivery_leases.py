"""Two relays and a slow webhook receiver: every delivery is POSTed exactly once (both backends).

Relay A claims the queued deliveries and sends them one by one to a receiver
that takes 0.8 s per POST; the delivery lease is 2 s. Relay B (another
Pipeline on the same database, as a second ``monitor digest --send`` is)
starts once the lease of the rows A has not reached yet ran out. A renews its
claim on a row right before sending it and marks it only while that claim
holds, so B takes over exactly the rows A had not reached, and A leaves those
alone.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.deliver.relay import RelayOutcome
from monitor.pipeline import Pipeline
from monitor.store.outbox import Lease
from testbed.servers import HttpServer, Request, Route
from tests.support.feeds import Item, rss

DIGESTS = 4
SLOW = 0.8


def real_clock() -> datetime:
    return datetime.now(UTC)


def story(n: int) -> Item:
    published = real_clock() - timedelta(hours=1)
    return Item(f"USMCA story {n}", f"https://news.example/{n}", "Trade.", published, f"s{n}")


def test_a_second_relay_never_sends_what_a_slow_first_relay_holds(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    mode = {"now": "down"}
    received: list[Request] = []
    lock = threading.Lock()

    def hook(request: Request) -> tuple[int, dict[str, str], bytes]:
        if mode["now"] == "down":
            return 503, {}, b""
        time.sleep(SLOW)
        with lock:
            received.append(request)
        return 200, {}, b""

    feed = http_server.add("/rss.xml", Route(body=rss([story(0)])))
    config = write_config(
        db_url,
        [feed],
        webhook_url=http_server.add("/hook", Route(responder=hook)),
        replica={"delivery_lease": "2s", "delivery_batch": 10},
    )
    config.write_text(config.read_text().replace("timeout: 3s", "timeout: 1500ms"))
    first = open_pipeline(config, real_clock)
    second = open_pipeline(config, real_clock)
    second.owner = "second-relay"
    alert = first.config.alert("desk")

    # The receiver is down while four digests are built: four webhook rows wait in the ledger.
    for n in range(DIGESTS):
        http_server.add("/rss.xml", Route(body=rss([story(i) for i in range(n + 1)])))
        assert asyncio.run(first.poll()).new == 1
        outcomes = first.send_digest(alert).deliveries
        assert [o.status for o in outcomes] == ["retry"]
    assert len(first.store.pending_deliveries()) == DIGESTS

    mode["now"] = "slow"
    results: dict[str, list[RelayOutcome]] = {}

    def send(name: str, pipeline: Pipeline, delay: float) -> None:
        time.sleep(delay)
        results[name] = list(pipeline.send_digest(alert, force=True).deliveries)

    relays = [
        threading.Thread(target=send, args=("first", first, 0.0)),
        threading.Thread(target=send, args=("second", second, 2.3)),  # after the 2 s lease
    ]
    for thread in relays:
        thread.start()
    for thread in relays:
        thread.join(timeout=60)

    ids = Counter(r.headers["webhook-id"] for r in received)
    assert len(ids) == DIGESTS
    assert set(ids.values()) == {1}, ids  # no digest POSTed twice
    ledger = first.store.deliveries()
    assert [d.status for d in ledger] == ["sent"] * DIGESTS
    # The second relay took over what the first had not reached; the first let go of it.
    sent_by = {
        name: [o.delivery_id for o in outs if o.status == "sent"] for name, outs in results.items()
    }
    lost = [o.delivery_id for o in results["first"] if o.status == "lost"]
    assert sent_by["second"], results
    assert sorted(lost) == sorted(sent_by["second"])
    assert sorted(sent_by["first"] + sent_by["second"]) == sorted(d.id for d in ledger)


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
