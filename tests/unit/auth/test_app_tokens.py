"""Application token inputs: durations, names, actions, and passwords that would be mistaken for tokens."""

from __future__ import annotations

import pytest

from gateway.auth.app_tokens import AppTokenError, new_app_token, parse_duration, password_problem
from gateway.auth.credentials import secret_hash


@pytest.mark.parametrize(("text", "seconds"), [("90m", 5400), ("12h", 43200), ("30d", 2592000), ("2w", 1209600)])
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0d", "30", "d", "1y", "-1d", "999999w"])
def test_bad_or_endless_durations_are_refused(text: str) -> None:
    with pytest.raises(AppTokenError):
        parse_duration(text)


def test_new_token_stores_only_a_hash_and_normalises_actions() -> None:
    created = new_app_token("alice", "ci", ["web", "api", "web"], ["push", "pull"], 3600)
    assert created.secret.startswith(f"pgat_{created.record.id}_")
    assert created.record.secret_hash == secret_hash(created.secret) and created.secret not in repr(created.record)
    assert created.record.namespaces == ("api", "web") and created.record.actions == ("pull", "push")
    assert created.record.expires_at == created.record.created_at + 3600


@pytest.mark.parametrize(
    ("namespaces", "actions"), [(["a/b"], ["pull"]), (["Bad"], ["pull"]), ([], ["fly"]), ([], [])]
)
def test_bad_token_limits_are_refused(namespaces: list[str], actions: list[str]) -> None:
    with pytest.raises(AppTokenError):
        new_app_token("alice", "ci", namespaces, actions, None)


@pytest.mark.parametrize(("password", "ok"), [("long-enough", True), ("short", False), ("pgat_looks_like_a_token", False), ("x" * 1025, False)])
def test_password_rules(password: str, ok: bool) -> None:
    assert (password_problem(password) is None) is ok
