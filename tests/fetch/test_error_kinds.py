"""Each way a fetch fails raises its own error class, whose ``kind`` is the metric label
(``monitor_fetch_errors_total{kind=...}``): read from the class, never parsed from the
message (issue #15)."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest

from monitor.errors import (
    AddressBlocked,
    ConnectFailed,
    FeedTooLarge,
    FetchError,
    FetchTimeout,
    MonitorError,
    ParseError,
    PermanentFetchError,
    PermanentHttpError,
    RedirectRefused,
    StoreError,
    TransientFetchError,
    TransientHttpError,
    http_kind,
)
from monitor.fetch.client import Fetcher
from monitor.fetch.settings import FetchSettings
from testbed.farm import Farm
from testbed.servers import HttpServer, Route
from tests.fetch.conftest import loopback_settings, url_of

SETTINGS = loopback_settings(timeout=timedelta(seconds=1), max_body_bytes=1_000_000)


def fails(url: str, settings: FetchSettings = SETTINGS) -> FetchError:
    async def fetch() -> None:
        async with Fetcher(settings) as fetcher:
            await fetcher.fetch(url)

    with pytest.raises(FetchError) as caught:
        asyncio.run(fetch())
    return caught.value


@pytest.mark.parametrize(
    ("hazard", "cls", "kind"),
    [
        ("slow_drip", FetchTimeout, "timeout"),
        ("endless", FeedTooLarge, "too_large"),
        ("redirect_loop", RedirectRefused, "redirect"),
        ("to_file", RedirectRefused, "redirect"),
        ("error_500", TransientHttpError, "http_5xx"),
        ("unavailable", TransientHttpError, "http_5xx"),
        ("rate_limited", TransientHttpError, "http_429"),
        ("gone", PermanentHttpError, "http_410"),
    ],
)
def test_each_hazard_fails_with_its_class_and_kind(
    farm: Farm, hazard: str, cls: type[FetchError], kind: str
) -> None:
    error = fails(url_of(farm, hazard))
    assert type(error) is cls
    assert error.kind == kind


def test_a_client_error_status_is_http_4xx_and_permanent(http_server: HttpServer) -> None:
    error = fails(http_server.add("/missing", Route(status=404)))
    assert isinstance(error, PermanentHttpError)
    assert (error.status, error.kind) == (404, "http_4xx")


def test_an_unexpected_status_is_labelled_by_its_class(http_server: HttpServer) -> None:
    error = fails(http_server.add("/empty", Route(status=204)))
    assert isinstance(error, PermanentHttpError)
    assert error.kind == "http_2xx"


def test_a_closed_port_is_connect() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = fails(f"http://127.0.0.1:{port}/feed")
    assert isinstance(error, ConnectFailed)
    assert isinstance(error, TransientFetchError)
    assert error.kind == "connect"


def test_an_address_the_guard_refuses_is_blocked(farm: Farm) -> None:
    error = fails(url_of(farm, "ok"), FetchSettings(timeout=timedelta(seconds=1)))
    assert isinstance(error, AddressBlocked)
    assert isinstance(error, PermanentFetchError)
    assert error.kind == "blocked"


def test_kinds_come_with_the_class() -> None:
    assert ParseError("http://x/", "not a feed").kind == "parse"
    assert StoreError("database is locked").kind == "store"
    assert MonitorError("anything").kind == "other"
    assert TransientFetchError("http://x/", "network error: reset").kind == "other"
    assert [http_kind(s) for s in (301, 404, 410, 429, 500, 503)] == [
        "http_3xx",
        "http_4xx",
        "http_410",
        "http_429",
        "http_5xx",
        "http_5xx",
    ]
