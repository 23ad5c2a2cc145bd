"""The SSRF guard refuses internal addresses on the connected peer, before any request."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from bench.farm import Farm
from monitor.config import FetchSettings
from monitor.errors import PermanentFetchError
from monitor.fetch.client import Fetcher
from monitor.fetch.guard import address_kind
from monitor.types import FetchResult
from tests.fetch.conftest import url_of
from tests.support.servers import HttpServer, Route


async def fetch(url: str, settings: FetchSettings) -> FetchResult:
    async with Fetcher(settings) as fetcher:
        return await fetcher.fetch(url)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata endpoint
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_guard_refuses_loopback_before_sending_anything(farm: Farm) -> None:
    url = url_of(farm, "ok")
    index = farm.indices("ok")[0]
    before = farm.snapshot()["requests"].get(str(index), 0)
    with pytest.raises(PermanentFetchError) as caught:
        asyncio.run(fetch(url, FetchSettings(ssrf_guard=True)))
    assert "loopback address 127.0.0." in caught.value.reason
    assert farm.snapshot()["requests"].get(str(index), 0) == before  # no request reached it


def test_guard_lets_an_allowed_network_through(farm: Farm) -> None:
    settings = FetchSettings(ssrf_guard=True, ssrf_allowed_networks=("127.0.0.0/8",))
    assert asyncio.run(fetch(url_of(farm, "ok"), settings)).status == 200


def test_guard_refuses_a_redirect_to_an_internal_address(
    http_server: HttpServer, farm: Farm
) -> None:
    index = next(i for i in range(len(farm.kinds)) if farm.host_of(i) == "127.0.0.2")
    target, other_host = farm.url(index), "127.0.0.2"
    before = farm.snapshot()["requests"].get(str(index), 0)
    url = http_server.add("/r", Route(responder=lambda _r: (302, {"Location": target}, b"")))
    settings = FetchSettings(ssrf_guard=True, ssrf_allowed_networks=("127.0.0.1/32",))
    with pytest.raises(PermanentFetchError) as caught:
        asyncio.run(fetch(url, settings))
    assert f"loopback address {other_host}" in caught.value.reason
    assert http_server.requests_to("/r")  # the first hop was allowed and asked
    assert farm.snapshot()["requests"].get(str(index), 0) == before  # the second never was


def test_guard_off_by_default(farm: Farm) -> None:
    assert FetchSettings().ssrf_guard is False
    assert asyncio.run(fetch(url_of(farm, "ok"), FetchSettings())).status == 200


def test_allowed_networks_are_validated() -> None:
    with pytest.raises(ValueError, match="not a CIDR network"):
        FetchSettings(ssrf_allowed_networks=("localhost",))
