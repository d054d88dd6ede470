"""Every name grammar and input rule, once: repositories, namespaces, users, teams, application
tokens, webhooks, and the webhook URL rule.

The token service, the API, the CLI, the settings and the web UI all ask here; the OpenAPI
document shows the same rules as JSON Schema patterns (tests/unit/test_names.py keeps the two in
agreement). Every check matches the whole text: a name with a trailing newline is no name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from yarl import URL

COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_PATTERN = rf"{COMPONENT}(?:/{COMPONENT})*"
MAX_NAME_LENGTH = 255
MAX_USER_LENGTH = 64
MAX_TEAM_LENGTH = 64


@dataclass(frozen=True)
class Grammar:
    """One kind of name: its pattern (anchored, as JSON Schema shows it), length and rule text."""

    kind: str
    pattern: str
    max_length: int
    rule: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern.removeprefix("^").removesuffix("$")))

    def valid(self, name: str) -> bool:
        return 0 < len(name) <= self.max_length and self._regex.fullmatch(name) is not None

    def problem(self, name: str) -> str | None:
        """Why `name` is no valid name of this kind (quoted, cut short), or None."""
        if self.valid(name):
            return None
        return f"{shown(name)} is not a valid {self.kind} name: {self.rule}"


def shown(name: str) -> str:
    """A name as an error message quotes it: repr'd, so control characters show, and cut short."""
    return repr(name[:80] + ("..." if len(name) > 80 else ""))


def past_namespace(namespace: str) -> str:
    """A key that every repository name in `namespace` sorts before and every later name after,
    in byte order (as both stores compare names): no name holds a character above 'z'."""
    return namespace + "/\x7f"


def in_catalog_order(namespaces: Iterable[str]) -> tuple[str, ...]:
    """Namespaces in the order of their repositories' names, which is not their own: `a-b/...`
    sorts before `a/...`, though `a` sorts before `a-b`."""
    return tuple(sorted(namespaces, key=past_namespace))


REPOSITORY = Grammar(
    "repository", rf"^{NAME_PATTERN}$", MAX_NAME_LENGTH,
    "components of lowercase letters and digits, separated by '.', '_', '__' or dashes, joined by '/', at most 255 characters",
)
NAMESPACE = Grammar(
    "namespace", rf"^{COMPONENT}$", MAX_NAME_LENGTH,
    "one repository name component (lowercase letters, digits and separators), at most 255 characters",
)
# User names double as personal namespaces, so one component; single separators only.
USER = Grammar(
    "user", r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$", MAX_USER_LENGTH,
    "lowercase letters and digits, separated by single '.', '_' or '-', at most 64 characters",
)
# A team may carry its namespace's name (a namespace created by a push is its team's).
TEAM = Grammar(
    "team", rf"^{COMPONENT}$", MAX_TEAM_LENGTH,
    "one repository name component (lowercase letters, digits and separators), at most 64 characters",
)
TOKEN = Grammar(
    "token", r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", 64, "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
)
WEBHOOK = Grammar(
    "webhook", r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", 64, "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
)


def is_valid_repository_name(name: str) -> bool:
    return REPOSITORY.valid(name)


def is_valid_namespace_name(name: str) -> bool:
    """A namespace is the first component of a repository name, so exactly one component."""
    return NAMESPACE.valid(name)


def is_valid_username(name: str) -> bool:
    return USER.valid(name)


def is_valid_team_name(name: str) -> bool:
    return TEAM.valid(name)


def could_be_a_user(name: str) -> bool:
    """Whether a namespace name is one a user could have: a user's name is their personal
    namespace, so only admins create such a namespace, lest someone take the name of a user yet
    to come. Other namespaces carry what no user name can: `__` or `--`, or over 64 characters."""
    return USER.valid(name)


WEBHOOK_URL_MAX_LENGTH = 2048
WEBHOOK_SECRET_MIN_LENGTH = 8


def webhook_url_problem(url: str, allow_private: bool) -> str | None:
    """Why `url` cannot be a webhook's target, or None: an http(s) URL with a host, printable,
    without spaces, a fragment or credentials beyond what yarl parses, and not aimed at a
    non-public address unless that is allowed (see gateway.events.targets)."""
    from gateway.events.targets import target_problem

    if len(url) > WEBHOOK_URL_MAX_LENGTH:
        return f"url is longer than {WEBHOOK_URL_MAX_LENGTH} characters"
    try:
        parsed = URL(url) if "://" in url else None
        host = parsed.host if parsed is not None else None
    except (ValueError, UnicodeError):
        parsed, host = None, None
    if parsed is None or parsed.scheme not in ("http", "https") or not host or not url.isprintable() or " " in url:
        return "url must be an http:// or https:// URL with a host"
    if parsed.fragment:
        return "url must not carry a fragment"
    return target_problem(url, allow_private)


def webhook_secret_problem(secret: str) -> str | None:
    if len(secret) < WEBHOOK_SECRET_MIN_LENGTH:
        return f"secret must be at least {WEBHOOK_SECRET_MIN_LENGTH} characters"
    return None
