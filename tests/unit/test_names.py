"""The name rules: each pattern (as the OpenAPI document shows it) says exactly what its check accepts."""

from __future__ import annotations

import re

import pytest

from gateway import names

SAMPLES = [
    "a", "alice", "a.b", "a_b", "a-b", "a--b", "a__b", "a___b", "a..b", "a.-b", "-a", "a-", ".a", "a.", "_a",
    "A", "Alice", "a b", "a/b", "a//b", "/a", "a/", "0", "9x", "x" * 64, "x" * 65, "x" * 255, "x" * 256, "",
    "ünï", "a\n", "a\r\n", "\na", "a ", "a/b\n", "a:b", "pgat_x", "a.b-c_d", "a/b/c", "a/B",
]


def _matches(pattern: str, max_length: int, text: str) -> bool:
    """As a JSON Schema validator reads the pattern: ECMA-262, where `$` is the end of the text
    (Python's `$` would also match before a final newline)."""
    return 0 < len(text) <= max_length and re.search(pattern.replace("$", r"\Z"), text) is not None


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("grammar", [names.USER, names.TEAM, names.NAMESPACE, names.REPOSITORY, names.TOKEN, names.WEBHOOK])
def test_patterns_agree_with_checks(grammar: names.Grammar, text: str) -> None:
    assert _matches(grammar.pattern, grammar.max_length, text) == grammar.valid(text)


def test_each_kind_keeps_its_own_rule() -> None:
    assert names.USER.valid("alice") and not names.USER.valid("a__b") and not names.USER.valid("x" * 65)
    assert names.NAMESPACE.valid("a__b") and names.NAMESPACE.valid("x" * 255) and not names.NAMESPACE.valid("x" * 256)
    assert names.TEAM.valid("a__b") and not names.TEAM.valid("x" * 65)
    assert names.REPOSITORY.valid("a/b/c") and not names.NAMESPACE.valid("a/b")
    assert names.TOKEN.valid("CI.token-1") and not names.TOKEN.valid("-ci")


def test_a_problem_names_the_kind_and_shows_control_characters() -> None:
    problem = names.USER.problem("bob\n")
    assert problem is not None and "'bob\\n'" in problem and "not a valid user name" in problem
    assert names.USER.problem("bob") is None


@pytest.mark.parametrize(
    ("url", "fine"),
    [
        ("https://hooks.example.com/x?token=1", True),
        ("http://hooks.example.com", True),
        ("ftp://hooks.example.com/x", False),
        ("https://", False),
        ("hooks.example.com/x", False),
        ("https://hooks.example.com/a b", False),
        ("https://hooks.example.com/x#frag", False),
        ("https://hooks.example.com/\x00", False),
        ("https://127.0.0.1/x", False),
        ("https://localhost/x", False),
        ("https://" + "a" * 2048 + ".example.com/", False),
    ],
)
def test_the_webhook_url_rule(url: str, fine: bool) -> None:
    assert (names.webhook_url_problem(url, allow_private=False) is None) is fine


def test_private_webhook_targets_pass_only_when_allowed() -> None:
    assert names.webhook_url_problem("http://127.0.0.1:9/x", allow_private=True) is None
