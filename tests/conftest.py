"""Shared fixtures: database backends, loopback servers, a frozen clock, configs.

Every test that takes ``db_url`` runs twice: on SQLite (a file in tmp_path) and
on PostgreSQL (a fresh schema in the server at ``MONITOR_TEST_PG_URL``, default
127.0.0.1:5432 database ``test``). ``.ci/run`` starts that server when it is
down; set ``MONITOR_TEST_BACKENDS=sqlite`` to run without it on purpose.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from monitor.config import load_config
from monitor.pipeline import Pipeline
from monitor.store.store import Store
from testbed.daemon import WEBHOOK_SECRET
from testbed.pgschema import PG_URL, fresh_schema
from testbed.servers import HttpServer, SmtpServer

BACKENDS = os.environ.get("MONITOR_TEST_BACKENDS", "sqlite,postgresql").split(",")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FROZEN_NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
LOOPBACK = ("127.0.0.0/8", "::1")
"""What test configs let through the SSRF guard: the loopback servers of tests/support."""


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL, empty, on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    schema = contextlib.ExitStack()
    try:
        url = schema.enter_context(fresh_schema("t"))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(
            f"PostgreSQL at {PG_URL} is not reachable ({exc.orig}); start it or set MONITOR_TEST_BACKENDS=sqlite"
        )
    with schema:
        yield url


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = HttpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> Callable[[], datetime]:
    """A frozen clock: always FROZEN_NOW."""
    return lambda: FROZEN_NOW


@pytest.fixture
def open_pipeline(clock: Callable[[], datetime]) -> Iterator[Callable[..., Pipeline]]:
    """Open and start a Pipeline on a config file (frozen clock by default); closed after
    the test."""
    opened: list[Pipeline] = []

    def open_(config_path: Path, now: Callable[[], datetime] | None = None) -> Pipeline:
        config = load_config(config_path)
        pipeline = Pipeline(config, Store.open(config.database), now or clock).start()
        opened.append(pipeline)
        return pipeline

    yield open_
    for pipeline in opened:
        pipeline.close()


WATCHES: list[dict[str, Any]] = [
    {"name": "usmca", "query": "USMCA OR CUSMA OR T-MEC OR ACEUM"},
    {
        "name": "canada-mexico",
        "query": "(Canada OR Ottawa) AND (Mexico OR Sheinbaum)",
        "exclude": '"New Mexico"',
    },
]


@pytest.fixture
def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Write a config YAML for the test's servers and return its path."""
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)

    def write(
        db_url: str,
        feeds: list[str],
        smtp_port: int | None = None,
        webhook_url: str | None = None,
        email_to: tuple[str, ...] = ("analyst@example.org",),
        **extra: Any,
    ) -> Path:
        alert: dict[str, Any] = {
            "name": "desk",
            "watches": ["usmca", "canada-mexico"],
            "schedule": "0 8 * * *",
            "timezone": "America/Toronto",
        }
        data: dict[str, Any] = {
            "database": db_url,
            "fetch": {"timeout": "5s", "concurrency": 4},
            "feeds": [
                {"url": url, "name": f"Feed {i}", "interval": "15m"} for i, url in enumerate(feeds)
            ],
            "watches": WATCHES,
            "alerts": [alert],
        }
        if smtp_port is not None:
            alert["email"] = {"to": list(email_to), "subject_prefix": "[test]"}
            data["smtp"] = {
                "host": "127.0.0.1",
                "port": smtp_port,
                "from": "monitor@example.org",
                "timeout": "5s",
            }
        if webhook_url is None and smtp_port is None:
            webhook_url = "http://127.0.0.1:9/unused-hook"  # an alert needs a channel; this one is never sent to
        if webhook_url is not None:
            alert["webhook"] = {
                "url": webhook_url,
                "secret": "${TEST_WEBHOOK_SECRET}",
                "timeout": "3s",
            }
        data.update(extra)
        # The test servers listen on loopback, which the SSRF guard refuses unless told:
        # opt in here, explicitly (a test of the guard passes allow_private: [] itself).
        for section in ("fetch", "delivery"):
            data.setdefault(section, {}).setdefault("allow_private", list(LOOPBACK))
        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write
