"""The SSRF guard refuses internal addresses on the connected peer, before any request."""

from __future__ import annotations

import asyncio
import ipaddress
import time

import pytest

from monitor.config import FetchSettings, load_config
from monitor.errors import PermanentFetchError
from monitor.fetch.client import Fetcher
from monitor.fetch.guard import address_kind, exemptions
from monitor.types import FetchResult
from testbed.farm import Farm
from testbed.servers import HttpServer, Route
from tests.conftest import REPO
from tests.fetch.conftest import url_of


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
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::1", "6to4"),  # 6to4 wraps any IPv4 address, 127.0.0.1 here
        ("2002:5db8:d822::1", "6to4"),
        ("fec0::1", "site-local"),
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("64:ff9b::5db8:d822", None),  # NAT64 of a public address: IPv6-only hosts need it
        ("64:ff9b:1::1", "local NAT64"),
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
    settings = FetchSettings(ssrf_guard=True, allow_private=("127.0.0.0/8",))
    assert asyncio.run(fetch(url_of(farm, "ok"), settings)).status == 200
    older_name = FetchSettings.model_validate({"ssrf_allowed_networks": ["127.0.0.0/8"]})
    assert older_name.allow_private == ("127.0.0.0/8",)


def test_guard_lets_an_allowed_host_name_through(http_server: HttpServer) -> None:
    url = http_server.add("/feed.xml", Route(body=b"<rss/>"))
    settings = FetchSettings(allow_private=("LocalHost",))  # names match case-blind
    by_name = url.replace("127.0.0.1", "localhost")
    assert asyncio.run(fetch(by_name, settings)).status == 200
    with pytest.raises(PermanentFetchError, match=r"loopback address 127\.0\.0\.1"):
        asyncio.run(fetch(url, settings))  # the address is not the name that was allowed


def test_guard_refuses_a_redirect_to_an_internal_address(
    http_server: HttpServer, farm: Farm
) -> None:
    index = next(i for i in range(len(farm.kinds)) if farm.host_of(i) == "127.0.0.2")
    target, other_host = farm.url(index), "127.0.0.2"
    before = farm.snapshot()["requests"].get(str(index), 0)
    url = http_server.add("/r", Route(responder=lambda _r: (302, {"Location": target}, b"")))
    settings = FetchSettings(ssrf_guard=True, allow_private=("127.0.0.1/32",))
    with pytest.raises(PermanentFetchError) as caught:
        asyncio.run(fetch(url, settings))
    assert f"loopback address {other_host}" in caught.value.reason
    assert http_server.requests_to("/r")  # the first hop was allowed and asked
    assert farm.snapshot()["requests"].get(str(index), 0) == before  # the second never was


def shipped_fetch_settings() -> FetchSettings:
    return load_config(REPO / "config" / "monitor.yaml", env={}).fetch


def test_the_shipped_config_refuses_internal_feeds(farm: Farm) -> None:
    # The guard used to be off by default (and a test pinned that): with the shipped
    # config a feed redirecting to 127.0.0.2 was fetched and stored. Now it is on.
    settings = shipped_fetch_settings()
    assert settings.ssrf_guard is True
    assert settings.allow_private == ()
    with pytest.raises(PermanentFetchError, match=r"loopback address 127\.0\.0\.1"):
        asyncio.run(fetch(url_of(farm, "ok"), settings))


@pytest.mark.parametrize(
    ("target", "refused"),
    [
        (None, "loopback address 127.0.0.2"),  # the farm's feed on its second host
        ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", "link-local address"),
        ("http://[2002:a9fe:a9fe::1]/", "6to4 address"),
        ("http://[fec0::1]/", "site-local address"),
    ],
)
def test_the_shipped_config_refuses_a_redirect_inward(
    http_server: HttpServer, farm: Farm, target: str | None, refused: str
) -> None:
    second_host = next(i for i in range(len(farm.kinds)) if farm.host_of(i) == "127.0.0.2")
    location = target or farm.url(second_host)
    url = http_server.add("/r", Route(responder=lambda _r: (302, {"Location": location}, b"")))
    # Only the first hop's server is let in, as an operator would for an intranet feed.
    settings = shipped_fetch_settings().model_copy(update={"allow_private": ("127.0.0.1",)})
    started = time.monotonic()
    with pytest.raises(PermanentFetchError) as caught:
        asyncio.run(fetch(url, settings))
    assert refused in caught.value.reason
    assert "fetch.allow_private" in caught.value.reason
    assert http_server.requests_to("/r")
    # An address literal is refused before connecting: no wait for an unreachable host.
    assert time.monotonic() - started < 2


def test_allowed_entries_are_validated() -> None:
    with pytest.raises(ValueError, match="not a network"):
        FetchSettings(allow_private=("http://feeds.internal/",))
    with pytest.raises(ValueError, match="not a network"):
        FetchSettings(allow_private=("10.0.0.0/33",))
    rules = exemptions(["10.0.0.0/8", "Feeds.Internal.", "*.corp.example", "::1"])
    assert rules.host_allowed("feeds.internal")
    assert rules.host_allowed("a.b.corp.example")
    assert not rules.host_allowed("corp.example.evil")
    assert not rules.host_allowed("internal")
    assert rules.address_allowed(ipaddress.ip_address("::ffff:10.1.2.3"))


def test_the_webhook_guard_calls_a_lost_peer_a_network_error_not_a_refusal() -> None:
    """As the feed transport does (tests/fetch/test_transport.py, on a real server): a
    connection reset before the guard saw its peer has no address to judge."""
    import httpcore

    from monitor.fetch.guard import blocked_cause
    from monitor.fetch.guard_httpcore import GuardedBackend

    closed: list[bool] = []

    class Lost(httpcore.AsyncNetworkStream):
        def get_extra_info(self, info: str) -> object:
            return None

        async def aclose(self) -> None:
            closed.append(True)

    class Inner(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
            return Lost()

    async def run() -> None:
        await GuardedBackend(exemptions([]), Inner()).connect_tcp("feeds.example", 80)

    with pytest.raises(httpcore.ConnectError) as caught:
        asyncio.run(run())
    assert "connection lost before its peer was known" in str(caught.value)
    assert blocked_cause(caught.value) is None
    assert closed == [True]
