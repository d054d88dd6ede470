"""The client's address behind a load balancer: `X-Forwarded-For` read only from trusted proxies.

A balancer in front of several instances makes every connection come from its own address, so
the access log and the failed-login throttle would see one client. Trusted proxies
(`server.trusted_proxies`) append the address they received a request from; the client is the
right-most entry that is not itself a trusted proxy. Nothing anyone else sends is read, so no
client can choose the address its failed logins are counted under.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Networks = tuple[IPv4Network | IPv6Network, ...]


def parse_networks(items: Iterable[str]) -> Networks:
    """Addresses or CIDR networks (`10.0.0.0/8`, `::1`); raises ValueError naming a bad one."""
    networks: list[IPv4Network | IPv6Network] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network (CIDR)") from None
    return tuple(networks)


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        found = ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(found, IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
    return found


def _trusted(address: IPv4Address | IPv6Address, trusted: Networks) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Networks) -> str | None:
    """Who sent the request: the connection's `peer` unless it is a trusted proxy; then, walking
    `X-Forwarded-For` (every header, in order) from the right, the first hop that is not trusted.
    A malformed hop ends the walk at the last trusted address before it."""
    connected = _address(peer) if peer and trusted else None
    if connected is None or not _trusted(connected, trusted):
        return peer
    client = peer
    for hop in reversed([hop for value in forwarded_for for hop in value.split(",")]):
        found = _address(hop)
        if found is None:
            break
        client = str(found)
        if not _trusted(found, trusted):
            break
    return client
