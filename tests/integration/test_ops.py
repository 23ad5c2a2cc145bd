"""The operations surface of `monitor run`: /healthz, /readyz, /metrics, JSON logs."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from prometheus_client.parser import text_string_to_metric_families

from testbed.daemon import DaemonProcess, http_get
from testbed.pgschema import fresh_schema
from testbed.servers import HttpServer, Route
from tests.conftest import PG_URL
from tests.support.feeds import Item, rss
from tests.support.proxy import TcpProxy


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_health_and_json_logs(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    now = datetime.now(UTC)
    items = [
        Item("USMCA talks open", "https://n.example/1", "x", now - timedelta(minutes=5), "m1"),
        Item("Weather report", "https://n.example/2", "x", now - timedelta(minutes=5), "m2"),
    ]
    feeds = [
        http_server.add("/ok.xml", Route(body=rss(items))),
        http_server.add("/down.xml", Route(status=503)),
    ]
    config = write_config(db_url, feeds, replica={"tick": "500ms"}, ops={"port": 0})
    daemon = DaemonProcess(config)
    try:
        base = daemon.ops_url()
        daemon.wait_for_log(r"^poll: 2 feeds")
        assert http_get(base + "/healthz") == (200, "ok\n")
        assert http_get(base + "/readyz") == (200, "ready\n")
        status, text = http_get(base + "/metrics")
        assert status == 200
        values = samples(text)
        assert values[("monitor_polls_total", (("result", "updated"),))] == 1
        assert values[("monitor_polls_total", (("result", "error"),))] == 1
        assert values[("monitor_fetch_errors_total", (("kind", "http_5xx"),))] == 1
        assert values[("monitor_entries_total", (("result", "new"),))] == 2
        assert values[("monitor_matches_total", (("watch", "usmca"),))] == 1
        assert values[("monitor_scheduler_running", ())] == 1
        assert ("monitor_entry_to_delivery_seconds_count", ()) in values
        assert ("monitor_lease_takeovers_total", ()) in values
        assert http_get(base + "/nowhere")[0] == 404
    finally:
        assert daemon.stop() == 0
    # Not a terminal: every log line is a JSON object with the context fields.
    assert all(line.startswith("{") for line in daemon.lines if line.strip())
    assert '"feed": "' + feeds[1] + '"' in daemon.log


@pytest.fixture
def pg_behind_proxy() -> Iterator[tuple[str, TcpProxy]]:
    """A fresh PostgreSQL schema reached through a proxy the test can cut."""
    url = sa.make_url(PG_URL)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
    with fresh_schema("ops", reach=proxied) as schema_url:
        yield schema_url, proxy
        proxy.stop()


def wait_for_status(url: str, status: int, timeout: float) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    answer = http_get(url)
    while answer[0] != status and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = http_get(url)
    return answer


def test_readyz_follows_the_database(
    pg_behind_proxy: tuple[str, TcpProxy],
    http_server: HttpServer,
    write_config: Callable[..., Path],
) -> None:
    url, proxy = pg_behind_proxy
    config = write_config(url, [http_server.add("/f.xml", Route(body=rss([])))], ops={"port": 0})
    daemon = DaemonProcess(config)
    try:
        base = daemon.ops_url()
        assert wait_for_status(base + "/readyz", 200, 10)[0] == 200
        proxy.stop()  # the database goes away
        status, body = wait_for_status(base + "/readyz", 503, 15)
        assert status == 503
        assert body.startswith("not ready: database")
        assert http_get(base + "/healthz")[0] == 200  # alive all the same
        proxy.start()  # and comes back
        assert wait_for_status(base + "/readyz", 200, 20)[0] == 200
    finally:
        assert daemon.stop() == 0


def test_sighup_reloads_and_keeps_running_on_a_broken_config(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    now = datetime.now(UTC)
    route = Route(body=rss([Item("Lumber duties rise", "https://n.example/l1", "x", now, "l1")]))
    config = write_config(
        db_url, [http_server.add("/f.xml", route)], replica={"tick": "300ms"}, ops={"port": 0}
    )
    daemon = DaemonProcess(config)
    try:
        base = daemon.ops_url()
        daemon.wait_for_log(r"^poll: 1 feed in")
        data = yaml.safe_load(config.read_text())
        data["watches"].append({"name": "lumber", "query": "lumber OR softwood"})
        data["alerts"][0]["watches"].append("lumber")
        data["feeds"][0]["interval"] = "1s"
        config.write_text(yaml.safe_dump(data))
        route.body = rss([Item("Softwood lumber talks", "https://n.example/l2", "x", now, "l2")])
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for_log(r"^config reloaded: 1 feed, 3 watches, 1 alert")
        daemon.wait_for_log(r"^poll: 1 feed in .* 1 new entry, 1 matched")

        config.write_text("feeds:\n  - url: not a url\n")
        daemon.process.send_signal(signal.SIGHUP)
        rejected = daemon.wait_for_log(
            r"(?s)^config reload rejected; still running the previous config: (.*)"
        )
        assert "feeds[0].url (line 2)" in rejected.group(0)
        assert http_get(base + "/healthz")[0] == 200
        assert daemon.process.poll() is None
        _, text = http_get(base + "/metrics")
        values = samples(text)
        assert values[("monitor_config_reloads_total", (("result", "applied"),))] == 1
        assert values[("monitor_config_reloads_total", (("result", "rejected"),))] == 1
    finally:
        assert daemon.stop() == 0
