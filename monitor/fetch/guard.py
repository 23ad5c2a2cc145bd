"""Guard against server-side request forgery: never talk to internal addresses.

A feed URL is user input, and so is every redirect a feed server sends. With
``fetch.ssrf_guard`` on, a connection whose *peer address* is private,
loopback, link-local, multicast, reserved or unspecified is closed before a
single byte of the request is written.

Checking the connected peer, not a DNS lookup done beforehand, is the point:
a name can resolve to a public address for the check and to 127.0.0.1 for
the connection a moment later (DNS rebinding). So the check lives in the
network backend, the layer that opens the TCP connection, right after the
connect. Feed downloads open their connections themselves
(:mod:`monitor.fetch.transport`), checking the peer before the TLS handshake.
Webhooks go through httpx's own transport, which does not expose that layer, so
:class:`~monitor.fetch.guard_httpcore.GuardedTransport` rebuilds its connection pool
with a guarded network backend; tests prove the guard fires on both, so an httpx
upgrade that moved this seam would fail loudly. This module holds the judgement alone
and imports neither.

With the guard on, proxies from the environment are ignored: through a proxy
the peer is the proxy, and the check would mean nothing.

Exemptions (``fetch.allow_private``, ``delivery.allow_private``) are networks
(``10.0.0.0/8``, an address) or host names (``feeds.internal``, or
``*.corp.example`` for a domain's hosts). A host name is matched on the name the
connection was opened for, so the operator's trust goes to that name whatever
it resolves to. An IP literal is refused before connecting at all: a redirect
to ``169.254.169.254`` never even sends a SYN.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(Exception):
    """The connection reached an address the guard refuses; ``address`` names it. The
    transports raise it inside their connect errors (as the cause, or carried), where
    :func:`blocked_cause` finds it."""

    def __init__(self, address: str, kind: str, setting: str = "fetch.allow_private") -> None:
        super().__init__(
            f"refused to connect to {kind} address {address} (allow it with {setting})"
        )
        self.address = address
        self.kind = kind


# IPv6 ranges that Python's flags call global but that lead somewhere internal:
# 6to4 embeds any IPv4 address (a relay may deliver to it), site-local is the
# deprecated private range, and NAT64's local-use prefix maps onto the site's own.
_CLOSED_V6 = (
    (ipaddress.IPv6Network("2002::/16"), "6to4"),
    (ipaddress.IPv6Network("fec0::/10"), "site-local"),
    (ipaddress.IPv6Network("64:ff9b:1::/48"), "local NAT64"),
)
# The well-known NAT64 prefix carries a public IPv4 address on IPv6-only networks:
# judge the address it embeds.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv4-mapped or NAT64 IPv6 address stands for; else ``address``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_kind(address: IPAddress) -> str | None:
    """Why ``address`` is internal (``loopback``, ``private``...), or None if it is public."""
    address = embedded_ipv4(address)  # ::ffff:127.0.0.1 is loopback too
    if isinstance(address, ipaddress.IPv6Address):
        for network, kind in _CLOSED_V6:
            if address in network:
                return kind
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-global", not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


@dataclass(frozen=True, slots=True)
class Exemptions:
    """What the guard lets through although it is internal; ``setting`` names where it is set."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()
    """Suffixes (``.corp.example``) from ``*.corp.example`` entries."""
    setting: str = "fetch.allow_private"

    def host_allowed(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return name in self.hosts or name.endswith(self.domains)

    def address_allowed(self, address: IPAddress) -> bool:
        return any(
            a in network for a in {address, embedded_ipv4(address)} for network in self.networks
        )


_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?"
_HOST = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*")


def is_host_pattern(entry: str) -> bool:
    """True for ``feeds.internal`` or ``*.corp.example``: a name, not an address or network."""
    return bool(_HOST.fullmatch(entry))


def exemptions(entries: Iterable[str], setting: str = "fetch.allow_private") -> Exemptions:
    """Split allow-list entries into networks, host names and domain wildcards.

    Raises ValueError naming an entry that is none of them.
    """
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    domains: list[str] = []
    for entry in entries:
        text = entry.strip()
        text = text[:-1] if text.endswith(".") else text  # a fully qualified name
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        if not is_host_pattern(text) or text.replace(".", "").isdigit():
            raise ValueError(
                f"not a network (10.0.0.0/8), an address or a host name (feeds.internal): {entry!r}"
            )
        if text.startswith("*."):
            domains.append(text[1:].lower())
        else:
            hosts.add(text.lower().rstrip("."))
    return Exemptions(tuple(networks), frozenset(hosts), tuple(domains), setting)


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    return exemptions(cidrs).networks


def refusal(host: str, allowed: Exemptions | tuple[IPNetwork, ...]) -> BlockedAddress | None:
    """The refusal for a connection to ``host`` (an IP literal), or None when it may proceed."""
    rules = allowed if isinstance(allowed, Exemptions) else Exemptions(allowed)
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return BlockedAddress(host, "unparseable", rules.setting)
    kind = address_kind(address)
    if kind is None or rules.address_allowed(address):
        return None
    return BlockedAddress(str(address), kind, rules.setting)


def literal_refusal(host: str, rules: Exemptions) -> BlockedAddress | None:
    """The refusal for a host that is itself an internal IP literal (checked before connecting)."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None  # a name: judged on the connected peer
    return refusal(host.strip("[]"), rules)


class PeerLost(ConnectionResetError):
    """A connection with no peer address to judge: reset between the connect and the look.
    A network error, not an address to allow."""


def peer_refusal(peer: object, rules: Exemptions) -> BlockedAddress | None:
    """The refusal for a connection whose peer is ``peer`` (its socket address, as the
    transport reports it), or None when it may proceed; :class:`PeerLost` without one."""
    if not isinstance(peer, tuple) or not peer:
        raise PeerLost("connection lost before its peer was known")
    return refusal(str(peer[0]), rules)


def blocked_cause(exc: BaseException) -> BlockedAddress | None:
    """The guard's refusal behind an httpx error, if that is what it is."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddress):
            return seen
        carried = getattr(seen, "blocked", None)  # guard_httpcore.GuardRefusal
        if isinstance(carried, BlockedAddress):
            return carried
        seen = seen.__cause__ or seen.__context__
    return None
