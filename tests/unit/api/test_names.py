"""The OpenAPI name patterns say exactly what the API's checks accept."""

from __future__ import annotations

import re

import pytest

from gateway.api import names
from gateway.auth.scopes import is_valid_repository_name, is_valid_username

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
def test_patterns_agree_with_checks(text: str) -> None:
    assert _matches(names.USER_PATTERN, names.USER_MAX_LENGTH, text) == is_valid_username(text)
    assert _matches(names.TEAM_PATTERN, names.TEAM_MAX_LENGTH, text) == names.is_valid_team_name(text)
    assert _matches(names.NAMESPACE_PATTERN, names.NAMESPACE_MAX_LENGTH, text) == names.is_valid_namespace_name(text)
    assert _matches(names.REPOSITORY_PATTERN, names.REPOSITORY_MAX_LENGTH, text) == is_valid_repository_name(text)
    assert _matches(names.TOKEN_NAME_PATTERN, names.TOKEN_NAME_MAX_LENGTH, text) == names.is_valid_token_name(text)


def test_a_namespace_is_one_component() -> None:
    assert names.is_valid_namespace_name("team-a")
    assert not names.is_valid_namespace_name("team/a")
