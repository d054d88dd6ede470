"""The extra headers a webhook may send: what aiohttp would refuse, or what would forge the
gateway's own headers, is refused where it is set."""

from __future__ import annotations

import pytest

from gateway.events.hook_headers import header_problem


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Token", "t"), ("Authorization", "Bearer abc.def"), ("X-Empty", ""), ("x-tab", "a\tb"), ("X~Odd!#", "~!@#$%^&*()")],
)
def test_ordinary_headers_are_allowed(name: str, value: str) -> None:
    assert header_problem(name, value) is None


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("X-Bad", "a\r\nInjected: 1", "visible ASCII"),
        ("X-Bad", "a\nb", "visible ASCII"),
        ("X-Bad", "nul\x00", "visible ASCII"),
        ("X-Bad", "caf\u00e9", "visible ASCII"),
        ("", "x", "not an HTTP token"),
        ("Bad Name", "x", "not an HTTP token"),
        ("X-Bad:", "x", "not an HTTP token"),
        ("X-Bad\r\n", "x", "not an HTTP token"),
        ("x" * 101, "x", "not an HTTP token"),
        ("Content-Type", "text/plain", "set by the gateway"),
        ("x-gateway-signature", "sha256=forged", "set by the gateway"),
        ("X-Gateway-Delivery", "1", "set by the gateway"),
        ("Host", "elsewhere", "set by the gateway"),
    ],
)
def test_headers_that_break_or_forge_a_delivery_are_refused(name: str, value: str, words: str) -> None:
    problem = header_problem(name, value)
    assert problem is not None and words in problem
