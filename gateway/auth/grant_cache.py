"""Recent token-endpoint decisions, reused while the store is provably unchanged.

A CI asking for the same token again and again costs a user row, namespace facts and a role or
two from the store each time. This keeps the decision (who the credentials name, what they were
granted) keyed by a hash of the Authorization header, service and requested scopes, together
with the store's data version (see `SQLBase.data_version`) read *before* the decision was made.
A hit needs the version to be unchanged now, so any commit by anyone (a password change, a
disabled user, a new team member, from the API, the CLI or another worker) makes every entry a
miss. Stores that cannot tell (MariaDB) get no caching. Only password logins and anonymous
requests are kept (application tokens expire on their own clock), and only successes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.auth.policy import Identity
from gateway.auth.scopes import Scope

CACHE_SECONDS = 60.0
_LIMIT = 10_000


@dataclass(frozen=True)
class Decision:
    identity: Identity
    granted: tuple[Scope, ...]
    version: object
    expires: float


class GrantCache:
    def __init__(self, ttl: float = CACHE_SECONDS, limit: int = _LIMIT) -> None:
        self._ttl = ttl
        self._limit = limit
        self._entries: dict[bytes, Decision] = {}

    @staticmethod
    def key(authorization: str, service: str, scopes: Sequence[str]) -> bytes:
        return hashlib.sha256("\0".join((authorization, service, *scopes)).encode("utf-8", "surrogatepass")).digest()

    def get(self, key: bytes, version: object | None) -> Decision | None:
        if version is None:
            return None
        decision = self._entries.get(key)
        if decision is None or decision.version != version or decision.expires < time.monotonic():
            return None
        return decision

    def put(self, key: bytes, version: object | None, identity: Identity, granted: tuple[Scope, ...]) -> None:
        if version is None or identity.limits is not None:
            return
        now = time.monotonic()
        if len(self._entries) >= self._limit:
            self._entries = {k: d for k, d in self._entries.items() if d.version == version and d.expires > now}
            if len(self._entries) >= self._limit:
                self._entries.clear()
        self._entries[key] = Decision(identity, granted, version, now + self._ttl)
