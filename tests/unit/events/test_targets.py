"""Which webhook targets are public, and URL passwords kept out of sight."""

from __future__ import annotations

import pytest

from gateway.events.targets import is_public, redact, redacted_url, target_problem


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True), ("2606:4700::6810:85e5", True),
        ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.0.1", False),
        ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
        ("::1", False), ("fe80::1%eth0", False), ("fd00::1", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
        ("not an address", False),
    ],
)
def test_only_globally_routable_unicast_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_a_target_is_judged_by_its_literal_address_or_loopback_name_unless_allowed() -> None:
    assert target_problem("http://127.0.0.1:8080/x", False) is not None
    assert target_problem("http://LOCALHOST./x", False) is not None
    assert target_problem("http://api.localhost/x", False) is not None
    assert target_problem("https://hooks.example.com/x", False) is None, "names are checked after DNS, at delivery"
    assert target_problem("http://127.0.0.1:8080/x", True) is None


def test_a_url_password_is_shown_as_stars() -> None:
    url = "https://hook:pa%40ss@hooks.example.com/x"
    assert redacted_url(url) == "https://hook:***@hooks.example.com/x"
    assert redacted_url("https://hooks.example.com/x") == "https://hooks.example.com/x"
    assert redact(f"InvalidURL: {url} (pa@ss)", url) == "InvalidURL: https://hook:***@hooks.example.com/x (***)"
