"""Prometheus metrics of one process, on a registry of its own.

Only the orchestrator (:mod:`monitor.pipeline`, in the daemon: ``Pipeline.counted``) and
the daemon record them, from the value objects the stages return; the stages themselves
stay free of metrics. Gauges of database state (pending deliveries) are read at scrape
time by :class:`LedgerCollector`, so every replica reports the shared truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

POLLS = Counter("monitor_polls_total", "Feed polls, by result.", ["result"], registry=REGISTRY)
FETCH_ERRORS = Counter(
    "monitor_fetch_errors_total",
    "Failed polls, by kind of error.",
    ["kind"],  # the error's class says it (monitor.errors: MonitorError.kind), not its message
    registry=REGISTRY,
)
ENTRIES = Counter(
    "monitor_entries_total",
    "Feed items seen, by what became of them.",
    ["result"],
    registry=REGISTRY,
)
MATCHES = Counter(
    "monitor_matches_total", "New entries matched, per watch.", ["watch"], registry=REGISTRY
)
DELIVERIES = Counter(
    "monitor_deliveries_total",
    "Delivery attempts, by channel and outcome.",
    ["channel", "status"],
    registry=REGISTRY,
)
FIRST_SIGHT_TO_DELIVERY = Histogram(
    "monitor_entry_to_delivery_seconds",
    "Time from an entry's first sight to its delivery on a channel.",
    buckets=(30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 3 * 86400),
    registry=REGISTRY,
)
LEASE_TAKEOVERS = Counter(
    "monitor_lease_takeovers_total",
    "Feed polls taken over after another replica's lease expired.",
    registry=REGISTRY,
)
PRUNED = Counter(
    "monitor_pruned_total",
    "Rows deleted by retention, by table.",
    ["table"],
    registry=REGISTRY,
)
RELOADS = Counter(
    "monitor_config_reloads_total", "Config reloads, by result.", ["result"], registry=REGISTRY
)


class LedgerCollector(Collector):
    """``monitor_deliveries_pending`` and ``..._failed``, read from the database on scrape."""

    def __init__(self) -> None:
        self.source: Callable[[], dict[tuple[str, str, str], int]] = dict

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily(
            "monitor_deliveries_pending", "Unsent deliveries.", labels=["alert", "channel"]
        )
        failed = GaugeMetricFamily(
            "monitor_deliveries_failed", "Failed deliveries.", labels=["alert", "channel"]
        )
        try:
            counts = self.source()
        except Exception:  # a scrape during a database outage must still answer
            counts = {}
        for (alert, channel, status), count in sorted(counts.items()):
            if status == "pending":
                pending.add_metric([alert, channel], count)
            elif status == "failed":
                failed.add_metric([alert, channel], count)
        yield pending
        yield failed


LEDGER = LedgerCollector()
REGISTRY.register(LEDGER)

UP = Gauge("monitor_scheduler_running", "1 while the scheduler runs.", registry=REGISTRY)
