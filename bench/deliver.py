"""Benchmark of the delivery relay: ``python bench/deliver.py [--n 10000] [--backend B]``.

Queues ``--n`` deliveries (default 10,000) and drains them through the real
relay, :meth:`monitor.pipeline.Pipeline.relay_due` (claim, render, send, mark
in the ledger), exactly as the daemon's relay tick does, on SQLite (a
temporary file, the default) or PostgreSQL (a fresh schema at
``MONITOR_TEST_PG_URL``, default ``127.0.0.1:5432/test``, dropped after).

The queue: four alerts, each with one email recipient and one webhook
(``standard`` format), so half the deliveries are emails and half webhook
POSTs. ``--n / 2`` digests of three matched stories each are built by
:func:`monitor.digest.build.build_digest` (snippets, highlights) and queued
with :meth:`Store.create_digest`, round-robin over the alerts; that set-up is
timed apart from the relay.

The receivers run in a child process, so they do not share the relay's GIL:
a threaded HTTP server (``testbed/servers.py``) that checks each
webhook's signature, and an aiosmtpd server. Both count every attempt and
every accepted ``webhook-id`` / ``Message-ID`` per target.

Two runs, each on a fresh database, with the same digests:

1. **clean**: every attempt accepted. Prints deliveries/s.
2. **30 % transient failures**: the webhook receiver answers 503 and the
   SMTP server 451 to a random 30 % of attempts (seeded). The relay retries
   with its backoff (``delivery.retry_initial`` 30 s doubling, jitter 0.3).
   Prints deliveries/s overall (deliveries / wall time), attempts (counted
   by the receivers and by the ledger) and relay passes.

Each pass is one relay tick: the pipeline runs on a manual clock that moves
by ``delivery.relay_interval`` (30 s) per pass, and jumps over the idle ticks
to the one at which the next retry is due, so nothing sleeps. Passes run back
to back: this measures how fast the relay sends, not the daemon's tick rate
(each tick claims at most 1,000 deliveries per alert). Also printed: the
relay process's CPU time (with SQLite, the database work is in it too).

Both runs check, exit status 1 when missed: every delivery ``sent`` in the
ledger, none failed or pending, and on the receivers every digest's
``webhook-id`` accepted exactly once per webhook and every ``Message-ID``
exactly once per recipient: no loss, no duplicate. The machine's load
average is printed at the start and the end (other work on the cores slows
every figure).
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import itertools
import logging
import math
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from monitor.config import Config, parse_config
from monitor.deliver.email import message_id
from monitor.deliver.relay import delivery_targets
from monitor.deliver.signing import decode_secret, sign
from monitor.digest.build import build_digest
from monitor.ops.logs import setup_logging
from monitor.pipeline import Pipeline, compile_rules
from monitor.store.store import Store
from monitor.types import Digest, Entry, StoredEntry
from testbed.pgschema import fresh_schema
from testbed.servers import HttpServer, Request, Route, free_port

SEED = 20250301
FAIL_RATE = 0.30
ALERTS = ("desk", "trade", "autos", "energy")
ITEMS_PER_DIGEST = 3
SECRET = "whsec_" + "YmVuY2gtZGVsaXZlci1zaWduaW5nLWtleS0zMi1ieXRlcyE="
SENDER = "monitor@bench.example"
OWNER = "bench-relay"

Expected = dict[tuple[str, str], set[str]]
"""(channel, target as the receiver sees it: URL path or recipient) -> ids that must arrive."""

TITLES = (
    "Ottawa readies for the CUSMA joint review",
    "Mexico and Canada trade ministers meet ahead of USMCA talks",
    "Sheinbaum says T-MEC review must protect Mexican autos",
    "Canada weighs steel tariffs as Mexico talks stall",
    "Automakers brace for USMCA rules of origin changes",
    "Ottawa and Mexico City sign clean energy accord",
)
SUMMARY = (
    "Officials from Ottawa and Mexico City met on Tuesday to prepare the joint review of the "
    "USMCA, the trade pact known as CUSMA in Canada and T-MEC in Mexico. Negotiators said the "
    "talks would cover rules of origin for autos, dairy quotas and steel, and that both "
    "governments want the agreement extended for another sixteen years."
)


# --- receivers (child process) ----------------------------------------------------------------


@dataclass
class Tally:
    """What one receiver saw: attempts, refusals, and acceptances per (target, id)."""

    attempts: int = 0
    refused: int = 0
    bad_signatures: int = 0
    accepted: Counter[tuple[str, str]] = field(default_factory=Counter)


class SmtpReceiver:
    """aiosmtpd handler: 451 to a random share of DATA commands, else accept and count."""

    def __init__(self, fail_rate: float, rng: random.Random) -> None:
        self.fail_rate = fail_rate
        self.rng = rng
        self.tally = Tally()
        self.lock = threading.Lock()
        self.parser = email.parser.BytesHeaderParser(policy=email.policy.default)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.tally.attempts += 1
            if self.rng.random() < self.fail_rate:
                self.tally.refused += 1
                return "451 4.3.0 Try again later"
            headers = self.parser.parsebytes(envelope.original_content or b"")
            message_id = str(headers.get("Message-ID", ""))
            for recipient in envelope.rcpt_tos:
                self.tally.accepted[(recipient, message_id)] += 1
        return "250 OK"


def webhook_route(fail_rate: float, rng: random.Random, server: HttpServer) -> tuple[Route, Tally]:
    """One route for every webhook path: 503 to a random share, else check and count."""
    tally = Tally()
    lock = threading.Lock()
    key = decode_secret(SECRET)

    def respond(request: Request) -> tuple[int, dict[str, str], bytes]:
        with server.lock:
            server.requests.clear()  # the test server keeps every request; we only count
        headers = request.headers
        message_id = headers.get("webhook-id", "")
        timestamp = int(headers.get("webhook-timestamp", "0"))
        good = sign(key, message_id, timestamp, request.body) == headers.get("webhook-signature")
        with lock:
            tally.attempts += 1
            if not good:
                tally.bad_signatures += 1
                return 400, {}, b""
            if rng.random() < fail_rate:
                tally.refused += 1
                return 503, {}, b""  # no body: one write, no Nagle wait
            tally.accepted[(request.path, message_id)] += 1
        return 200, {}, b""

    return Route(responder=respond), tally


def serve_receivers(conn: Connection, fail_rate: float, seed: int) -> None:
    """Child process: start both receivers, send their addresses, report when asked."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every session
    http = HttpServer()
    hook, hooks = webhook_route(fail_rate, random.Random(seed), http)
    for alert in ALERTS:
        http.add(f"/hook/{alert}", hook)
    http.start()
    smtp = SmtpReceiver(fail_rate, random.Random(seed + 1))
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    conn.send((http.base, int(controller.port)))
    conn.recv()
    with smtp.lock:
        conn.send({"webhook": hooks, "email": smtp.tally})
    controller.stop()
    http.stop()


class Receivers:
    """The parent's handle on the receivers' process."""

    def __init__(self, fail_rate: float, seed: int) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=serve_receivers, args=(child, fail_rate, seed), daemon=True
        )
        self._process.start()
        self.http_base, self.smtp_port = self._conn.recv()

    def report(self) -> dict[str, Tally]:
        self._conn.send("report")
        tallies: dict[str, Tally] = self._conn.recv()
        self._process.join(10)
        return tallies

    def close(self) -> None:
        if self._process.is_alive():
            self._process.kill()
            self._process.join(10)


# --- the queue ------------------------------------------------------------------------------


class ManualClock:
    """The pipeline's clock: stands still until the benchmark moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def make_config(database: str, http_base: str, smtp_port: int) -> Config:
    alerts = [
        {
            "name": alert,
            "watches": ["usmca", "canada-mexico"],
            "schedule": "0 8 * * *",
            "timezone": "America/Toronto",
            "email": {"to": [f"{alert}@bench.example"], "subject_prefix": f"[{alert}]"},
            "webhook": {
                "url": f"{http_base}/hook/{alert}",
                "secret": "${BENCH_WEBHOOK_SECRET}",
                "timeout": "10s",
            },
        }
        for alert in ALERTS
    ]
    data: dict[str, Any] = {
        "database": database,
        "feeds": [{"url": "http://127.0.0.1:9/unused.xml", "name": "Unused"}],
        "watches": [
            {"name": "usmca", "query": "USMCA OR CUSMA OR T-MEC OR ACEUM"},
            {
                "name": "canada-mexico",
                "query": "(Canada OR Ottawa) NEAR/15 (Mexico OR Sheinbaum)",
                "exclude": '"New Mexico"',
            },
        ],
        "alerts": alerts,
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "from": SENDER,
            "timeout": "10s",
        },
        "ops": {"enabled": False},
        "delivery": {"allow_private": ["127.0.0.0/8"]},  # the receivers listen on loopback
    }
    return parse_config(yaml.safe_dump(data), "<bench>", env={"BENCH_WEBHOOK_SECRET": SECRET})


def make_digests(config: Config, count: int, now: datetime) -> list[Digest]:
    """``count`` small digests, each of three matched stories, round-robin over the alerts."""
    rules = compile_rules(config)
    rng = random.Random(SEED)
    digests = []
    entry_id = itertools.count(1)
    for number in range(count):
        alert = config.alerts[number % len(ALERTS)]
        stored = []
        for _ in range(ITEMS_PER_DIGEST):
            ident = next(entry_id)
            link = f"https://news.example/{ident}/story"
            entry = Entry(
                feed_url="https://news.example/rss",
                feed_name=rng.choice(("CBC Business", "El Universal", "Globe and Mail")),
                title=rng.choice(TITLES),
                link=link,
                canonical_link=link,
                guid=link,
                summary=SUMMARY,
                published=now - timedelta(minutes=rng.randrange(600)),
                language="en",
            )
            matches = tuple(rules.match(entry))
            stored.append(StoredEntry(ident, entry, now, matches))
        digest_id = f"{now:%Y%m%dT%H%M%S}-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
        digests.append(
            build_digest(digest_id, alert.name, alert.watches, stored, now, max_items=50)
        )
    return digests


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    """A fresh, empty database URL on ``backend``; dropped afterwards."""
    if backend == "sqlite":
        path = directory / f"deliver-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        return
    with fresh_schema("bench_deliver") as url:
        yield url


# --- one run ----------------------------------------------------------------------------------


@dataclass
class RunResult:
    label: str
    deliveries: int
    setup_seconds: float
    seconds: float
    cpu_seconds: float
    """CPU time of this process (the relay; with SQLite, the database too) while draining."""
    passes: int
    outcomes: Counter[str]
    ledger: Counter[str]
    ledger_attempts: int
    clock_advanced: timedelta
    tallies: dict[str, Tally]
    problems: list[str]

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds


def next_retry(store: Store) -> datetime | None:
    """The earliest retry time among pending deliveries (to move the manual clock to)."""
    with store.engine.connect() as connection:
        value = connection.execute(
            sa.text("SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'")
        ).scalar()
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ledger_counts(store: Store) -> tuple[Counter[str], int]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT status, COUNT(*), SUM(attempts) FROM deliveries GROUP BY status")
        ).all()
    return Counter({str(s): int(n) for s, n, _ in rows}), sum(int(a or 0) for *_, a in rows)


def queue(store: Store, config: Config, digests: list[Digest], now: datetime) -> Expected:
    """Queue every digest as the pipeline does (one ledger row per target); what must arrive."""
    expected: Expected = {}
    for digest in digests:
        targets = delivery_targets(config.alert(digest.alert))
        if not store.create_digest(digest, [], targets, now):
            raise RuntimeError(f"digest {digest.id} was not queued")
        for channel, target in targets:
            if channel == "webhook":
                # The ledger names a webhook by its label (its URL may be a credential);
                # the receiver sees the path this bench gave each alert's hook.
                key = (channel, f"/hook/{digest.alert}")
                expected.setdefault(key, set()).add(f"msg_{digest.id}")
            else:
                expected.setdefault((channel, target), set()).add(message_id(digest, SENDER))
    return expected


def drain(pipeline: Pipeline, store: Store, clock: ManualClock) -> tuple[int, Counter[str]]:
    """Relay ticks until nothing is pending; the clock jumps over idle ticks. (passes, outcomes)"""
    outcomes: Counter[str] = Counter()
    passes = 0
    tick = pipeline.config.delivery.relay_interval
    while True:
        done = pipeline.relay_due(OWNER)
        passes += 1
        outcomes.update(outcome.status for outcome in done)
        clock.now += tick  # the daemon's next relay tick
        if done:
            continue
        due = next_retry(store)
        if due is None:
            return passes, outcomes
        if due > clock.now:  # skip the idle ticks before the next retry is due
            clock.now += tick * math.ceil((due - clock.now) / tick)


def run(
    label: str,
    args: argparse.Namespace,
    digests: list[Digest],
    start: datetime,
    fail_rate: float,
    directory: Path,
) -> RunResult:
    receivers = Receivers(fail_rate, SEED)
    try:
        with database(args.backend, directory) as url:
            config = make_config(url, receivers.http_base, receivers.smtp_port)
            clock = ManualClock(start)
            store = Store.open(url)
            try:
                pipeline = Pipeline(config, store, clock, random.Random(SEED))
                began = time.perf_counter()
                expected = queue(store, config, digests, start)
                setup = time.perf_counter() - began
                began, cpu = time.perf_counter(), time.process_time()
                passes, outcomes = drain(pipeline, store, clock)
                seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
                ledger, attempts = ledger_counts(store)
            finally:
                store.close()
        tallies = receivers.report()
    finally:
        receivers.close()
    deliveries = sum(len(ids) for ids in expected.values())
    return RunResult(
        label,
        deliveries,
        setup,
        seconds,
        cpu,
        passes,
        outcomes,
        ledger,
        attempts,
        clock.now - start,
        tallies,
        check(expected, tallies, ledger, deliveries),
    )


def check(
    expected: Expected, tallies: dict[str, Tally], ledger: Counter[str], deliveries: int
) -> list[str]:
    """Everything sent, exactly once per target, nothing failed or left pending."""
    problems = []
    if ledger.get("sent", 0) != deliveries or len(+ledger) != 1:
        problems.append(f"ledger: {dict(ledger)}, expected {deliveries} sent and nothing else")
    for channel in ("webhook", "email"):
        accepted = tallies[channel].accepted
        for (kind, target), ids in expected.items():
            if kind == channel:
                got = {key for (where, key) in accepted if where == target}
                if got != ids:
                    problems.append(
                        f"{channel} {target}: {len(ids - got)} never accepted, "
                        f"{len(got - ids)} unexpected"
                    )
        duplicates = sum(n - 1 for n in accepted.values() if n > 1)
        if duplicates:
            problems.append(f"{channel}: {duplicates} duplicate acceptances")
        if tallies[channel].bad_signatures:
            problems.append(f"{channel}: {tallies[channel].bad_signatures} bad signatures")
    return problems


def report(result: RunResult) -> None:
    hooks, mails = result.tallies["webhook"], result.tallies["email"]
    attempts = hooks.attempts + mails.attempts
    unique = len(hooks.accepted) + len(mails.accepted)
    duplicates = sum(hooks.accepted.values()) + sum(mails.accepted.values()) - unique
    print(f"\n{result.label}")
    print(f"  set-up: {result.deliveries // 2:,} digests queued in {result.setup_seconds:.1f}s")
    print(
        f"  relay: {result.deliveries:,} deliveries in {result.seconds:.1f}s = "
        f"{result.rate:,.0f} deliveries/s overall ({attempts / result.seconds:,.0f} attempts/s)"
    )
    print(
        f"  relay CPU: {result.cpu_seconds:.1f}s ({result.cpu_seconds / result.seconds:.2f} of a "
        f"core), {result.deliveries / result.cpu_seconds:,.0f} deliveries per CPU-second"
    )
    print(
        f"  attempts: {attempts:,} on the receivers (webhook {hooks.attempts:,}, "
        f"email {mails.attempts:,}; refused {hooks.refused + mails.refused:,}), "
        f"{result.ledger_attempts:,} in the ledger, {attempts / result.deliveries:.2f} per delivery"
    )
    print(
        f"  relay passes: {result.passes}, outcomes {dict(result.outcomes)}, "
        f"manual clock advanced {result.clock_advanced}"
    )
    print(
        f"  ledger: {dict(result.ledger)}; receivers: {unique:,} unique ids accepted "
        f"(webhook-id per webhook {len(hooks.accepted):,}, Message-ID per recipient "
        f"{len(mails.accepted):,}), {duplicates} duplicates"
    )
    verdict = "every delivery sent exactly once" if not result.problems else "PROBLEMS"
    print(f"  check: {verdict}")
    for problem in result.problems:
        print(f"    - {problem}")


def daemon_logging() -> None:
    """Log as ``monitor run`` does (JSON lines, INFO), into /dev/null: the cost stays."""
    setup_logging("INFO", "json")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as we do


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="deliveries (even)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error("--n must be at least 2")
    daemon_logging()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start, "
        f"Python {sys.version.split()[0]}; backend {args.backend}; receivers in a child process"
    )
    print(
        f"settings: {args.n // 2 * 2:,} deliveries = {args.n // 2:,} digests x (1 email "
        f"recipient + 1 webhook), {len(ALERTS)} alerts, {ITEMS_PER_DIGEST} stories per digest; "
        f"relay = Pipeline.relay_due (claims up to 1,000 per alert per pass); "
        f"retries: 30s doubling, jitter 0.3, manual clock"
    )
    start = datetime.now(UTC).replace(microsecond=0)
    began = time.perf_counter()
    digests = make_digests(make_config("sqlite://", "http://127.0.0.1:9", 9), args.n // 2, start)
    print(
        f"{len(digests):,} digests built in {time.perf_counter() - began:.1f}s (used by both runs)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-deliver-") as tmp:
        clean = run("run 1: clean receivers", args, digests, start, 0.0, Path(tmp))
        report(clean)
        flaky = run(
            f"run 2: {FAIL_RATE:.0%} transient failures (503 / 451 per attempt, seeded)",
            args,
            digests,
            start,
            FAIL_RATE,
            Path(tmp),
        )
        report(flaky)
    print(
        f"\nsummary ({args.backend}): clean {clean.rate:,.0f} deliveries/s; "
        f"with {FAIL_RATE:.0%} failures {flaky.rate:,.0f} deliveries/s overall, "
        f"{flaky.tallies['webhook'].attempts + flaky.tallies['email'].attempts:,} attempts; "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )
    return 1 if clean.problems or flaky.problems else 0


if __name__ == "__main__":
    sys.exit(main())
