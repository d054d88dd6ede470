"""The client's address behind trusted proxies: X-Forwarded-For read only from them, right to left."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load_settings
from gateway.ops.forwarded import client_address, parse_networks

BALANCERS = parse_networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("203.0.113.5", ["198.51.100.7"], "203.0.113.5"),  # not a proxy: its header is ignored
        ("10.0.0.2", ["198.51.100.7"], "198.51.100.7"),
        ("10.0.0.2", [], "10.0.0.2"),  # a proxy's own request (a health check)
        ("10.0.0.2", ["192.0.2.66, 198.51.100.7"], "198.51.100.7"),  # the client forged the left part
        ("10.0.0.2", ["192.0.2.66", "198.51.100.7, 10.0.0.9"], "198.51.100.7"),  # two proxies, two headers
        ("10.0.0.2", ["10.0.0.8, 10.0.0.9"], "10.0.0.8"),  # only proxies: the farthest one
        ("10.0.0.2", ["198.51.100.7, not-an-address"], "10.0.0.2"),  # a malformed hop ends the walk
        ("10.0.0.2", ["198.51.100.7, 10.0.0.9, "], "10.0.0.2"),
        ("::1", ["2001:db8::7"], "2001:db8::7"),
        ("::ffff:10.0.0.2", ["198.51.100.7"], "198.51.100.7"),  # a dual-stack socket's IPv4 peer
        (None, ["198.51.100.7"], None),
    ],
)
def test_the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy(peer: str | None, headers: list[str], expected: str | None) -> None:
    assert client_address(peer, headers, BALANCERS) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address("10.0.0.2", ["198.51.100.7"], ()) == "10.0.0.2"


def test_trusted_proxies_are_addresses_or_networks_from_the_environment_or_toml() -> None:
    settings = load_settings({"GATEWAY_SERVER_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1,::1"})
    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]
    assert load_settings({}).trusted_proxies == ()


@pytest.mark.parametrize("value", ["10.0.0.0/33", "balancer", "10.0.0.1:80"])
def test_a_trusted_proxy_that_is_not_an_address_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"GATEWAY_SERVER_TRUSTED_PROXIES": value})
    assert caught.value.key == "GATEWAY_SERVER_TRUSTED_PROXIES"
    assert repr(value) in str(caught.value)
