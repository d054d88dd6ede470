"""The registry scope grammar: `type[(class)]:name:action[,action]*`, and the tag and digest rules
(the name grammars are gateway.names).

Pure functions. Unknown resource types and actions are dropped, not fatal: a client asking
for more than exists simply gets less.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.names import MAX_NAME_LENGTH, is_valid_repository_name

_HOST_PREFIX_RE = re.compile(r"^[A-Za-z0-9.-]+(?::[0-9]+)?/")
_TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_SHA256_HEX_RE = re.compile(r"[a-f0-9]{64}")
_SHA512_HEX_RE = re.compile(r"[a-f0-9]{128}")
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+")

REPOSITORY_ACTIONS = frozenset({"pull", "push", "delete", "*"})
REGISTRY_ACTIONS = frozenset({"*"})
KNOWN_ACTIONS = {"repository": REPOSITORY_ACTIONS, "registry": REGISTRY_ACTIONS}


@dataclass(frozen=True)
class Scope:
    """One resource and the actions asked for (or granted) on it."""

    type: str
    name: str
    actions: tuple[str, ...]
    resource_class: str = ""

    def __str__(self) -> str:
        kind = f"{self.type}({self.resource_class})" if self.resource_class else self.type
        return f"{kind}:{self.name}:{','.join(self.actions)}"

    def as_claim(self) -> dict[str, object]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def is_valid_tag(tag: str) -> bool:
    return _TAG_RE.fullmatch(tag) is not None


def is_valid_digest(digest: str) -> bool:
    """`algorithm:encoded`; the two algorithms registries use are also checked for length."""
    if _DIGEST_RE.fullmatch(digest) is None:
        return False
    algorithm, _, encoded = digest.partition(":")
    if algorithm == "sha256":
        return _SHA256_HEX_RE.fullmatch(encoded) is not None
    if algorithm == "sha512":
        return _SHA512_HEX_RE.fullmatch(encoded) is not None
    return True


_SUPPORTED_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def is_supported_digest(digest: str) -> bool:
    """A digest registry 2.8 can look up: sha256, sha384 or sha512 in lowercase hex. Others are
    valid grammar, but 2.8 fails on them with a 500 where a manifest is concerned."""
    algorithm, _, encoded = digest.partition(":")
    length = _SUPPORTED_HEX_LENGTHS.get(algorithm)
    return length is not None and len(encoded) == length and _LOWER_HEX_RE.fullmatch(encoded) is not None


def _repository_name(name: str) -> str | None:
    """Validate a repository name, allowing (and keeping) a `host[:port]/` prefix."""
    if len(name) > MAX_NAME_LENGTH:
        return None
    if is_valid_repository_name(name):
        return name
    prefix = _HOST_PREFIX_RE.match(name)
    if prefix and is_valid_repository_name(name[prefix.end():]):
        return name
    return None


def parse_scope(text: str) -> Scope | None:
    """Parse one `type:name:actions` item; None when it is malformed or of an unknown type."""
    kind, sep, rest = text.partition(":")
    if not sep:
        return None
    name, sep, actions_text = rest.rpartition(":")
    if not sep or not name:
        return None
    resource_class = ""
    match = re.fullmatch(r"([a-z0-9]+)(?:\(([a-z0-9]+)\))?", kind)
    if match is None:
        return None
    kind, resource_class = match.group(1), match.group(2) or ""
    known = KNOWN_ACTIONS.get(kind)
    if known is None:
        return None
    if kind == "repository":
        checked = _repository_name(name)
        if checked is None:
            return None
    elif kind == "registry" and name != "catalog":
        return None
    actions = tuple(dict.fromkeys(a for a in actions_text.split(",") if a in known))
    if not actions:
        return None
    return Scope(kind, name, actions, resource_class)


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Parse repeated `scope` parameters, each possibly holding several space-separated items.

    Items for the same resource are merged, keeping the order the client used.
    """
    merged: dict[tuple[str, str, str], list[str]] = {}
    for value in values:
        for item in value.split():
            scope = parse_scope(item)
            if scope is None:
                continue
            actions = merged.setdefault((scope.type, scope.name, scope.resource_class), [])
            actions.extend(a for a in scope.actions if a not in actions)
    return [Scope(t, n, tuple(a), c) for (t, n, c), a in merged.items()]


def format_scopes(scopes: Iterable[Scope]) -> str:
    return " ".join(str(s) for s in scopes)
