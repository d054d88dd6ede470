"""Recent token-endpoint decisions, reused while the store is provably unchanged.

A CI asking for the same token again and again costs a user row, namespace facts and a role or
two from the store each time. This keeps the decision (who the credentials name, what they were
granted) keyed by a hash of the Authorization header, service and requested scopes, together
with the store's data version (see `SQLBase.data_version`) read *before* the decision was made.
A hit needs the version to be unchanged now, so any commit by anyone (a password change, a
disabled user, a new team member, from the API, the CLI or another worker) makes every entry a
miss. Stores that cannot tell (MariaDB) get no caching. Only password logins and anonymous
requests are kept (application tokens expire on their own clock), and only successes.

The answer itself (the signed token and its JSON) is kept too, for the rest of the second it was
stamped in: tokens carry whole seconds, so within that second the same request, decided the
same way, would get a token that differs only in its `jti`. Asked again, that second, on that
data version, it gets the very same token, and the endpoint signs once per second per request
instead of once per request (a CI fleet logging in with one robot account).
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
_ANSWERS_LIMIT = 1_000  # distinct requests answered within one second


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
        self._answers: dict[bytes, bytes] = {}
        self._answers_of: tuple[int, object] | None = None  # (second, data version) they were made in

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

    def answer(self, key: bytes, version: object | None, second: int) -> bytes | None:
        """The answer given to the same request in this second on this data version, if any."""
        if version is None or self._answers_of != (second, version):
            return None
        return self._answers.get(key)

    def keep_answer(self, key: bytes, version: object | None, second: int, answer: bytes) -> None:
        if version is None:
            return
        if self._answers_of != (second, version):
            self._answers = {}
            self._answers_of = (second, version)
        if len(self._answers) < _ANSWERS_LIMIT:
            self._answers[key] = answer
