"""Every name, tag, digest and token check accepts the whole text or nothing.

Python's `$` also matches before a final newline, so a check written `^...$` with `re.match`
took `"web\n"` for `web`. Each check below is given a value it accepts and then near misses of
that value: a trailing newline (the case `$` let through), CR LF, a leading newline, a trailing
space and a trailing NUL.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway import names
from gateway.auth import scopes
from gateway.auth.app_tokens import AppTokenError, validate
from gateway.events.hook_headers import header_problem
from gateway.registry.routes import Route
from gateway.registry.validation import reference_problem

SHA256 = "sha256:" + "ab" * 32


def _token_name_ok(name: str) -> bool:
    try:
        validate(name, ["team"], ["pull"])
    except AppTokenError:
        return False
    return True


def _token_namespace_ok(namespace: str) -> bool:
    try:
        validate("ci", [namespace], ["pull"])
    except AppTokenError:
        return False
    return True


def _upload_id_ok(upload_id: str) -> bool:
    return reference_problem("PATCH", Route("upload", "team/app", upload_id), {}) is None


def _scope_name_ok(name: str) -> bool:
    parsed = scopes.parse_scope(f"repository:{name}:pull")
    return parsed is not None and parsed.name == name


CHECKS: list[tuple[str, Callable[[str], bool], str]] = [
    ("user name", names.USER.valid, "alice"),
    ("repository name", names.REPOSITORY.valid, "team/app"),
    ("tag", scopes.is_valid_tag, "v1"),
    ("digest", scopes.is_valid_digest, SHA256),
    ("supported digest", scopes.is_supported_digest, SHA256),
    ("scope repository name", _scope_name_ok, "team/app"),
    ("team name", names.TEAM.valid, "web"),
    ("namespace name", names.NAMESPACE.valid, "web"),
    ("API token name", names.TOKEN.valid, "ci-token"),
    ("webhook name", names.WEBHOOK.valid, "ci-hook"),
    ("webhook URL", lambda url: names.webhook_url_problem(url, allow_private=False) is None, "https://hooks.example.com/x"),
    ("token name", _token_name_ok, "ci-token"),
    ("token namespace", _token_namespace_ok, "web"),
    ("upload id", _upload_id_ok, "abc-123"),
    ("webhook header name", lambda name: header_problem(name, "v") is None, "X-Team"),
    ("webhook header value", lambda value: header_problem("X-Team", value) is None, "blue"),
]
NEAR_MISSES = [("trailing newline", "{}\n"), ("CR LF", "{}\r\n"), ("leading newline", "\n{}"), ("trailing space", "{} "), ("NUL", "{}\0")]


@pytest.mark.parametrize(("what", "check", "good"), CHECKS, ids=[c[0] for c in CHECKS])
def test_the_check_accepts_the_plain_value(what: str, check: Callable[[str], bool], good: str) -> None:
    assert check(good), what


# A header value may hold spaces, so a trailing space is no near miss there.
CASES = [
    (what, check, shape.format(good), miss)
    for what, check, good in CHECKS
    for miss, shape in NEAR_MISSES
    if not (what == "webhook header value" and miss == "trailing space")
]


@pytest.mark.parametrize(("what", "check", "bad", "miss"), CASES, ids=[f"{c[0]}: {c[3]}" for c in CASES])
def test_the_check_refuses_a_near_miss(what: str, check: Callable[[str], bool], bad: str, miss: str) -> None:
    assert not check(bad), f"{what}: {miss}"
