"""Application tokens for CI and robots: named, narrowed, expiring, revocable secrets.

The secret is `pgat_<id>_<random>`: the id finds the row, a SHA-256 of the whole secret is
what is stored (the secret is high-entropy, so a slow hash buys nothing), and it is shown once.

Imported tokens (Portus's, `origin` set) keep the secrets their users already have, which carry
no id: a password login tries the user's imported tokens. Each arrives with the source's bcrypt
hash; its first use replaces that with the SHA-256 of the secret, so later logins cost no KDF run.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass

from gateway import names
from gateway.auth.credentials import PasswordHasher, secret_hash
from gateway.auth.policy import ALL_REPOSITORY_ACTIONS, Identity, TokenLimits
from gateway.store import AppToken, Store, User

PREFIX = "pgat_"
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
_SECRET_RE = re.compile(r"pgat_([a-f0-9]{12})_[A-Za-z0-9_-]{32,64}")
# Portus's tokens are Devise.friendly_token: 20 URL-safe base64 characters. Only a password of
# that shape is tried against a user's imported tokens (a bcrypt run each, until first used).
_PORTUS_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20}")
_DURATION_RE = re.compile(r"([1-9][0-9]{0,5})([mhdw])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class AppTokenError(ValueError):
    """Bad input for a new application token; the message is for the caller."""


@dataclass(frozen=True)
class NewAppToken:
    record: AppToken
    secret: str


def looks_like_app_token(password: str) -> bool:
    return password.startswith(PREFIX)


MAX_LIFETIME_SECONDS = 10 * 365 * 86400


def parse_duration(text: str) -> int:
    """`30d`, `12h`, `90m`, `2w` -> seconds (at most ten years)."""
    match = _DURATION_RE.fullmatch(text.strip())
    if match is None:
        raise AppTokenError(f"expiry {text!r} is not a duration like 90m, 12h, 30d or 2w")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_LIFETIME_SECONDS:
        raise AppTokenError("an application token lives at most ten years")
    return seconds


def password_problem(password: str) -> str | None:
    """Why a password cannot be used, or None. (A password that looks like an application
    token would be taken for one at every login.)"""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        return f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters"
    if password.startswith(PREFIX):
        return f"a password may not start with {PREFIX!r} (the application token prefix)"
    return None


def validate(name: str, namespaces: list[str], actions: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if (problem := names.TOKEN.problem(name)) is not None:
        raise AppTokenError(problem)
    for namespace in namespaces:
        if not names.NAMESPACE.valid(namespace):
            raise AppTokenError(f"{namespace!r} is not a namespace name")
    unknown = [a for a in actions if a not in ALL_REPOSITORY_ACTIONS]
    if unknown or not actions:
        raise AppTokenError(f"actions must be among pull, push, delete (got {','.join(actions) or 'none'})")
    return tuple(sorted(set(namespaces))), tuple(a for a in ("pull", "push", "delete") if a in actions)


def new_app_token(username: str, name: str, namespaces: list[str], actions: list[str], expires_in: int | None) -> NewAppToken:
    checked_namespaces, checked_actions = validate(name, namespaces, actions)
    token_id = secrets.token_hex(6)
    secret = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    moment = int(time.time())
    record = AppToken(
        id=token_id, username=username, name=name, secret_hash=secret_hash(secret),
        namespaces=checked_namespaces, actions=checked_actions,
        expires_at=moment + expires_in if expires_in else None, created_at=moment, last_used_at=None,
    )
    return NewAppToken(record, secret)


async def app_token_identity(store: Store, username: str, secret: str, now: float | None = None) -> Identity | None:
    """The narrowed identity for a valid, unexpired application token of `username`."""
    match = _SECRET_RE.fullmatch(secret)
    if match is None:
        return None
    record = await store.get_app_token(match.group(1))
    if record is None or not hmac.compare_digest(record.secret_hash, secret_hash(secret)):
        return None
    if record.username != username:
        return None
    if record.expires_at is not None and record.expires_at <= (time.time() if now is None else now):
        return None
    user = await store.get_user(username)
    if user is None or user.disabled:
        return None
    limits = TokenLimits(record.id, record.name, frozenset(record.namespaces), frozenset(record.actions), record.expires_at)
    return Identity(user.name, admin=user.admin, limits=limits)


def may_be_imported_token(secret: str) -> bool:
    return _PORTUS_TOKEN_RE.fullmatch(secret) is not None


def token_identity(user: User, record: AppToken) -> Identity:
    limits = TokenLimits(record.id, record.name, frozenset(record.namespaces), frozenset(record.actions), record.expires_at)
    return Identity(user.name, admin=user.admin, limits=limits)


def settled_imported_token(tokens: list[AppToken], secret: str) -> AppToken | None:
    """The imported token (already used once) whose secret this is: a SHA-256 compare, no KDF."""
    digest = secret_hash(secret)
    return next((t for t in tokens if t.legacy_hash is None and hmac.compare_digest(t.secret_hash, digest)), None)


async def first_use_of_imported_token(
    store: Store, hasher: PasswordHasher, tokens: list[AppToken], secret: str
) -> AppToken | None:
    """The imported token not yet used here whose source hash this secret matches (one bcrypt run
    each, off the event loop); its hash becomes the SHA-256 of the secret from now on."""
    for token in tokens:
        if token.legacy_hash is not None and await hasher.verify_bcrypt(secret, token.legacy_hash):
            await store.settle_imported_token(token.id, token.legacy_hash, secret_hash(secret))
            return token
    return None
