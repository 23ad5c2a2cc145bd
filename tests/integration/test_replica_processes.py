"""Three `monitor run` processes on one PostgreSQL database and 500 feeds.

Every feed must be fetched once per interval (never twice in one), the digest
items must each go out in exactly one digest, and when one replica is killed
with SIGKILL holding leases, the others take its feeds over after the lease
expires.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from testbed.daemon import DaemonProcess
from testbed.pgschema import fresh_schema
from testbed.servers import HttpServer, Request, Route
from tests.conftest import LOOPBACK, WATCHES
from tests.support.feeds import Item, rss

FEEDS = 500
INTERVAL = 10.0
LEASE = 4.0
TICK = 0.5
RUN_FOR = 26.0


@pytest.fixture
def pg_schema() -> Iterator[str]:
    with fresh_schema("rep") as url:
        yield url


def stored_leases(db_url: str, owner: str) -> dict[str, datetime]:
    """Feed URL -> when ``owner``'s lease on it runs out, as the database holds it."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sa.text("SELECT url, lease_until FROM feeds WHERE lease_owner = :owner"),
                {"owner": owner},
            )
            return {str(url): until.replace(tzinfo=UTC) for url, until in found}  # naive UTC
    finally:
        engine.dispose()


def first_running(daemons: list[DaemonProcess]) -> datetime:
    """When the first of ``daemons`` had its scheduler running, by its own log."""
    return min(
        datetime.fromisoformat(json.loads(line)["time"])
        for d in daemons
        for line in d.lines
        if "monitor running as" in line
    )


def assert_taken_over(
    leases: dict[str, datetime],
    survivors: list[DaemonProcess],
    first_fetched_at: dict[str, datetime],
    base: str,
) -> None:
    """The feeds the dead replica had leased were taken over: not before their leases
    expired, and within a tick of that once a survivor was running (+ slack for the poll
    round a survivor may be in on a busy machine: it claims again when that ends)."""
    taken = [
        json.loads(line)["feed"].removeprefix(base)
        for d in survivors
        for line in d.lines
        if "taking over an expired lease" in line
    ]
    assert sorted(taken) == sorted(leases)
    running = first_running(survivors)
    for feed, until in leases.items():
        first_fetch = first_fetched_at[feed]
        assert first_fetch > until, "a leased feed was fetched before its lease expired"
        late = (first_fetch - max(until, running)).total_seconds()
        assert late <= TICK + 6, f"taken over {late:.1f}s after its lease expired"


@pytest.mark.slow
def test_three_replicas_share_500_feeds_and_survive_a_kill(
    pg_schema: str, http_server: HttpServer, tmp_path: Path
) -> None:
    fetched: dict[str, list[float]] = defaultdict(list)
    first_fetched_at: dict[str, datetime] = {}  # wall clock, to compare with the leases stored
    lock = threading.Lock()
    now = datetime.now(UTC)

    def serve(body: bytes) -> Route:
        def respond(request: Request) -> tuple[int, dict[str, str], bytes]:
            with lock:
                fetched[request.path].append(time.monotonic())
                first_fetched_at.setdefault(request.path, datetime.now(UTC))
            time.sleep(0.02)  # a little latency, so polls are in flight
            return 200, {"Content-Type": "application/rss+xml"}, body

        return Route(responder=respond)

    urls = []
    for n in range(FEEDS):
        title = f"USMCA story {n}" if n % 50 == 0 else f"Local story {n}"
        body = rss(
            [Item(title, f"https://n.example/{n}", "x", now - timedelta(minutes=1), f"r{n}")]
        )
        urls.append(http_server.add(f"/feed{n}.xml", serve(body)))
    hooks: list[Request] = []
    hook_lock = threading.Lock()

    def hook(request: Request) -> tuple[int, dict[str, str], bytes]:
        with hook_lock:
            hooks.append(request)
        return 200, {}, b""

    config = {
        "database": pg_schema,
        "fetch": {
            "timeout": "3s",
            "concurrency": 20,
            "per_host_concurrency": 50,
            "allow_private": list(LOOPBACK),
        },
        # A named replica's leases are not released by others on start (they could be another
        # host's): they must expire, as after a crash on another machine.
        "replica": {
            "id": "${REPLICA_ID:-}",
            "tick": f"{TICK}s",
            "feed_lease": f"{LEASE}s",
            "claim_batch": 50,
        },
        "delivery": {"relay_interval": "1s", "allow_private": list(LOOPBACK)},
        "ops": {"port": 0},
        "feeds": [{"url": url, "interval": f"{INTERVAL}s"} for url in urls],
        "watches": WATCHES,
        "alerts": [
            {
                "name": "desk",
                "watches": ["usmca"],
                "immediate": ["usmca"],
                "schedule": "0 8 * * *",
                "webhook": {
                    "url": http_server.add("/hook", Route(responder=hook)),
                    "secret": "${TEST_WEBHOOK_SECRET}",
                },
            }
        ],
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")

    started = time.monotonic()
    # Dies by SIGKILL right after leasing its first 50 feeds, as a replica on another host might.
    doomed = DaemonProcess(path, MONITOR_FAILPOINTS="after-claim", REPLICA_ID="replica-on-host-b")
    doomed.process.wait(timeout=60)
    # When each of its leases runs out, as stored (naive UTC): the takeover is timed from
    # these, not from when this process saw the kill, which a busy machine may delay.
    leases = {
        url.removeprefix(http_server.base): until
        for url, until in stored_leases(pg_schema, "replica-on-host-b").items()
    }
    assert len(leases) == 50, leases
    survivors = [DaemonProcess(path) for _ in range(2)]
    try:
        time.sleep(RUN_FOR)
    finally:
        codes = [d.stop() for d in survivors]
        doomed.kill()
    assert codes == [0, 0], "\n".join(d.log for d in survivors)
    assert doomed.process.returncode == -9

    # Every feed was fetched, and never twice within one interval.
    assert len(fetched) == FEEDS
    gaps = [b - a for times in fetched.values() for a, b in itertools.pairwise(times)]
    assert gaps, "no feed was fetched twice in the run"
    assert min(gaps) > 0.6 * INTERVAL, (
        f"a feed was fetched twice in one interval: gap {min(gaps):.2f}s"
    )
    # No feed starves: the next poll comes within its interval plus jitter (10 %), plus a
    # lease's worth of slack for the 2-core machine being busy with everything else.
    assert max(gaps) < INTERVAL * 1.1 + LEASE + 4, f"a feed waited {max(gaps):.1f}s between polls"
    assert_taken_over(leases, survivors, first_fetched_at, http_server.base)
    assert time.monotonic() - started > RUN_FOR

    # Each matching story went out in exactly one digest.
    digests_of: dict[str, set[str]] = defaultdict(set)
    for request in hooks:
        body = json.loads(request.body)
        for item in body["items"]:
            digests_of[item["title"]].add(request.headers["webhook-id"])
    assert sorted(digests_of) == sorted(f"USMCA story {n}" for n in range(0, FEEDS, 50))
    assert all(len(ids) == 1 for ids in digests_of.values()), digests_of
