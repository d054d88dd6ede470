"""Recent token-endpoint decisions, reused while the store is provably unchanged.

A CI asking for the same token again and again costs a user row, namespace facts and a role or
two from the store each time. This keeps the decision (who the credentials name, what they were
granted) keyed by a hash of the Authorization header, service and requested scopes, together
with the store's access version (see `SQLBase.access_version`) read *before* the decision was
made. A hit needs the version to be unchanged now, so any write that can change a grant (a
password change, a disabled user, a new team member, a revoked token, from the API, the CLI or
another worker) makes every entry a miss; pushes (tags, manifests) and bookkeeping (events, pull
times, sessions) do not (gateway/store/versioning.py).
SQLite sees such a write at once, MariaDB within one poll of the change row; while the version
cannot be read, nothing is cached.
Only password logins and anonymous requests are kept (application tokens expire on their own
clock), and only successes.

The answer itself (the signed token and its JSON) is kept too, for a few seconds after the
second it was stamped in (`ANSWER_SECONDS`, each answer for a random part of it between half and
all): asked again on the same access version, the same request gets the very same token, and the
endpoint signs once every few seconds per request instead of once per request (a CI fleet logging
in with one robot account). The token carries its `issued_at` and `expires_in`, so a client given
it a second or three later still knows when it ends (tokens live for minutes). The random hold
spreads the signing: kept only for the second they were signed in, the answers of 200 users
polling at once all expired together, and the burst of re-signing at each new second was the p99
of the token endpoint.

Anyone may fill it (anonymous requests for many public scopes are cheap to send), so it is
bounded by an estimate of its bytes, not only by a count: decisions expire after
`CACHE_SECONDS` (they hold no token, only who and what; a token is signed when served) and
the least recently stored go first when `MAX_BYTES` is reached; answers live a few seconds,
within `ANSWER_BYTES` (a full table makes room by dropping expired answers, at most once a
second, else keeps no more). A decision or answer above
`MAX_ENTRY_BYTES` (hundreds of scopes) is not kept at all: such a request pays full price each
time. Every check on the way in and out is O(1) but the size estimate of a decision about to
be stored, which is linear in its scopes like the grant that made it.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.auth.policy import Identity
from gateway.auth.scopes import Scope

CACHE_SECONDS = 60.0
MAX_BYTES = 16 * 1024 * 1024  # all decisions together, estimated
ANSWER_BYTES = 8 * 1024 * 1024  # all answers kept, estimated
ANSWER_SECONDS = 4.0  # the longest an answer is given again after its second began
MAX_ENTRY_BYTES = 64 * 1024  # one decision or answer; larger ones are not kept
_LIMIT = 10_000
_ANSWERS_LIMIT = 4_000  # distinct requests with an answer kept
# Measured with tracemalloc on CPython 3.11: a parsed and granted scope costs ~400 bytes besides
# its name; the key, the Decision, its tuple and the table's own slot about as much again.
_DECISION_OVERHEAD = 400
_SCOPE_OVERHEAD = 408
_ANSWER_OVERHEAD = 150


@dataclass(frozen=True)
class Decision:
    identity: Identity
    granted: tuple[Scope, ...]
    version: object
    expires: float
    size: int


@dataclass(frozen=True)
class Answer:
    body: bytes
    until: float  # wall-clock time after which it is signed anew
    size: int


def decision_size(identity: Identity, granted: tuple[Scope, ...]) -> int:
    """Estimated bytes a decision keeps alive in the cache."""
    return _DECISION_OVERHEAD + len(identity.name) + sum(_SCOPE_OVERHEAD + len(s.name) for s in granted)


class GrantCache:
    def __init__(
        self, ttl: float = CACHE_SECONDS, limit: int = _LIMIT, *,
        max_bytes: int = MAX_BYTES, answer_bytes: int = ANSWER_BYTES, max_entry_bytes: int = MAX_ENTRY_BYTES,
        answer_seconds: float = ANSWER_SECONDS, rng: random.Random | None = None,
    ) -> None:
        self._ttl = ttl
        self._limit = limit
        self._max_bytes = max_bytes
        self._answer_budget = answer_bytes
        self._max_entry = max_entry_bytes
        self._entries: OrderedDict[bytes, Decision] = OrderedDict()  # oldest stored (so first to expire) first
        self._bytes = 0
        self._answer_seconds = answer_seconds
        self._rng = rng or random.Random()
        self._answers: dict[bytes, Answer] = {}
        self._answer_bytes = 0
        self._answers_version: object | None = None  # the access version every kept answer was made on
        self._swept_at = 0  # the second expired answers were last dropped in

    @property
    def size(self) -> int:
        """Estimated bytes held: decisions and kept answers."""
        return self._bytes + self._answer_bytes

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(authorization: str, service: str, scopes: Sequence[str]) -> bytes:
        return hashlib.sha256("\0".join((authorization, service, *scopes)).encode("utf-8", "surrogatepass")).digest()

    def get(self, key: bytes, version: object | None, now: float | None = None) -> Decision | None:
        if version is None:
            return None
        decision = self._entries.get(key)
        if decision is None or decision.version != version:
            return None
        if decision.expires < (time.monotonic() if now is None else now):
            return None
        return decision

    def put(
        self, key: bytes, version: object | None, identity: Identity, granted: tuple[Scope, ...], now: float | None = None
    ) -> None:
        if version is None or identity.limits is not None:
            return
        moment = time.monotonic() if now is None else now
        self._forget(key)
        size = decision_size(identity, granted)
        if size > self._max_entry:
            return
        self._entries[key] = Decision(identity, granted, version, moment + self._ttl, size)
        self._bytes += size
        entries = self._entries
        while entries:  # expired first (they are the oldest), then the oldest while over a bound
            oldest = next(iter(entries.values()))
            if oldest.expires >= moment and self._bytes <= self._max_bytes and len(entries) <= self._limit:
                break
            self._bytes -= entries.popitem(last=False)[1].size

    def _forget(self, key: bytes) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size

    def answer(self, key: bytes, version: object | None, now: float) -> bytes | None:
        """The answer given to the same request within its hold, on this access version, if any."""
        if version is None or version != self._answers_version:
            return None
        kept = self._answers.get(key)
        if kept is None or kept.until <= now:
            return None
        return kept.body

    def keep_answer(self, key: bytes, version: object | None, second: int, answer: bytes, now: float | None = None) -> None:
        """Keep the answer signed in `second` until a random moment between half and all of
        `answer_seconds` after that second began."""
        if version is None:
            return
        if version != self._answers_version:
            self._answers = {}
            self._answer_bytes = 0
            self._answers_version = version
        size = _ANSWER_OVERHEAD + len(answer)
        moment = time.time() if now is None else now
        kept = self._answers.get(key)
        if size > self._max_entry or (kept is not None and kept.until > moment):
            return
        if kept is not None:
            self._drop(key)
        if not self._room_for(size, moment):
            return
        hold = self._answer_seconds * (0.5 + 0.5 * self._rng.random())
        self._answers[key] = Answer(answer, second + hold, size)
        self._answer_bytes += size

    def _room_for(self, size: int, now: float) -> bool:
        if len(self._answers) < _ANSWERS_LIMIT and self._answer_bytes + size <= self._answer_budget:
            return True
        if int(now) == self._swept_at:
            return False
        self._swept_at = int(now)
        for key in [key for key, kept in self._answers.items() if kept.until <= now]:
            self._drop(key)
        return len(self._answers) < _ANSWERS_LIMIT and self._answer_bytes + size <= self._answer_budget

    def _drop(self, key: bytes) -> None:
        self._answer_bytes -= self._answers.pop(key).size
