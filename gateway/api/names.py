"""The name rules of every API resource, as checks and as the patterns the OpenAPI document shows.

The checks defer to gateway.auth (the source of truth); the patterns are the same rules written
for JSON Schema, and tests/unit/api/test_names.py keeps the two in agreement.
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway.api.errors import bad_request
from gateway.auth.scopes import (
    COMPONENT, MAX_NAME_LENGTH, MAX_TEAM_LENGTH, NAME_PATTERN, is_valid_namespace_name, is_valid_repository_name,
    is_valid_team_name, is_valid_username,
)

USER_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"
USER_MAX_LENGTH = 64
NAMESPACE_PATTERN = rf"^{COMPONENT}$"
# A team may carry its namespace's name: one name component, as a namespace, at most 64.
TEAM_PATTERN = NAMESPACE_PATTERN
TEAM_MAX_LENGTH = MAX_TEAM_LENGTH
NAMESPACE_MAX_LENGTH = MAX_NAME_LENGTH
REPOSITORY_PATTERN = rf"^{NAME_PATTERN}$"
REPOSITORY_MAX_LENGTH = MAX_NAME_LENGTH
TOKEN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
TOKEN_NAME_MAX_LENGTH = 64

_TOKEN_NAME_RE = re.compile(TOKEN_NAME_PATTERN)

USER_RULE = "lowercase letters and digits, separated by single '.', '_' or '-', at most 64 characters"
NAMESPACE_RULE = "one repository name component (lowercase letters, digits and separators), at most 255 characters"
TEAM_RULE = "one repository name component (lowercase letters, digits and separators), at most 64 characters"


def is_valid_token_name(name: str) -> bool:
    return _TOKEN_NAME_RE.fullmatch(name) is not None


def _shown(name: str) -> str:
    return repr(name[:80] + ("..." if len(name) > 80 else ""))


def check_user(name: str) -> str:
    if not is_valid_username(name):
        raise bad_request(f"{_shown(name)} is not a valid user name: {USER_RULE}")
    return name


def check_team(name: str) -> str:
    if not is_valid_team_name(name):
        raise bad_request(f"{_shown(name)} is not a valid team name: {TEAM_RULE}")
    return name


def check_namespace(name: str) -> str:
    if not is_valid_namespace_name(name):
        raise bad_request(f"{_shown(name)} is not a valid namespace name: {NAMESPACE_RULE}")
    return name


def check_repository(name: str) -> str:
    if not is_valid_repository_name(name):
        raise bad_request(f"{_shown(name)} is not a valid repository name")
    return name


def check_token_name(name: str) -> str:
    if not is_valid_token_name(name):
        raise bad_request(f"{_shown(name)} is not a valid token name: 1-64 letters, digits, '.', '_' or '-'")
    return name


def user_param(request: web.Request) -> str:
    return check_user(request.match_info["user"])


def team_param(request: web.Request) -> str:
    return check_team(request.match_info["team"])


def namespace_param(request: web.Request) -> str:
    return check_namespace(request.match_info["namespace"])
