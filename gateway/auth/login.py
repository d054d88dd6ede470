"""Username + password -> Identity, with a short-lived cache of recent successful checks.

The cache key covers user name, password and the stored hash, and the user row is read on
every login, so a changed password or a disabled user takes effect at once while a busy CI
does not pay the KDF on every token request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time

from gateway.auth.credentials import PasswordHasher
from gateway.auth.policy import Identity
from gateway.store import Store

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
_CACHE_LIMIT = 10_000


class CredentialCache:
    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self._ttl = ttl
        self._entries: dict[bytes, float] = {}

    @staticmethod
    def _key(username: str, password: str, password_hash: str) -> bytes:
        material = "\0".join((username, password, password_hash)).encode("utf-8")
        return hashlib.sha256(material).digest()

    def hit(self, username: str, password: str, password_hash: str) -> bool:
        expires = self._entries.get(self._key(username, password, password_hash))
        return expires is not None and expires > time.monotonic()

    def remember(self, username: str, password: str, password_hash: str) -> None:
        now = time.monotonic()
        if len(self._entries) >= _CACHE_LIMIT:
            self._entries = {k: v for k, v in self._entries.items() if v > now}
            if len(self._entries) >= _CACHE_LIMIT:
                self._entries.clear()
        self._entries[self._key(username, password, password_hash)] = now + self._ttl


async def login(store: Store, hasher: PasswordHasher, cache: CredentialCache, username: str, password: str) -> Identity | None:
    """The identity for these credentials, or None (logged with the reason)."""
    user = await store.get_user(username)
    if user is not None and cache.hit(username, password, user.password_hash):
        ok = True
    else:
        ok = await hasher.verify(password, user.password_hash if user else None)
        if ok and user is not None:
            cache.remember(username, password, user.password_hash)
    if user is None:
        log.info("login refused for %r: no such user", username)
        return None
    if not ok:
        log.info("login refused for %r: wrong password", username)
        return None
    if user.disabled:
        log.info("login refused for %r: user is disabled", username)
        return None
    return Identity(user.name, admin=user.admin)


def decode_basic(header: str) -> tuple[str, str] | None:
    """(user, password) from an HTTP Basic Authorization header; None when it is not one."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None
