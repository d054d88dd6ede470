"""Username + password (or application token) -> Identity, with a short-lived cache of recent
successful password checks and per-(user, address) throttling of failures.

Accounts a directory owns (LDAP; `User.source`), and names no account has yet, are the
directory's to check when one is configured (`DirectoryLogin`); local accounts never are, so
the break-glass admin signs in while the directory is down.

The cache keeps, per user name and password, the stored hash they matched, and the user row is
read on every login, so a changed password or a disabled user takes effect at once while a busy
CI does not pay the KDF on every token request. Concurrent checks of the same credentials against
the same hash (a fleet of CI jobs starting at once) share one KDF run. An entry lasts
`CACHE_SECONDS` after its last use, not after its check: with a fixed lifetime, every user who
keeps asking for tokens paid a KDF run (0.4 s of CPU) every minute, which for 200 busy users was
two-thirds of a 2-core machine, and their tokens came seconds late while it ran. A password is
still checked again at least every `RECHECK_SECONDS`. A hash made at a lower
cost than the current one is replaced after a successful check, in the background: the login
answers at once, the new hash is stored a KDF run later.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.auth.app_tokens import (
    app_token_identity,
    first_use_of_imported_token,
    looks_like_app_token,
    may_be_imported_token,
    settled_imported_token,
    token_identity,
)
from gateway.auth.credentials import PasswordHasher
from gateway.auth.policy import Identity
from gateway.auth.throttle import LoginThrottle
from gateway.names import is_valid_username
from gateway.store import AppToken, Store, StoreError, User

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0  # a remembered check lasts this long after its last use...
RECHECK_SECONDS = 3600.0  # ...and a password's never longer than this after the check itself
_CACHE_LIMIT = 10_000


@dataclass
class _Checked:
    against: str  # the stored hash the password matched (or the directory that accepted it)
    expires: float
    deadline: float
    slides: bool  # kept alive by use (a local password), or not (a directory's, which may change there)


class CredentialCache:
    """Recent successful checks, by user name and password. A local password's check lasts
    `ttl` after its last use (`hit`, or `renew` when the token endpoint answered from its grant
    cache without asking), so a user who keeps working is not checked again every minute, and
    at most `recheck` after the check; a changed hash is a miss at once. A directory's check
    lasts `ttl` after it was made, however busy: a password changed in the directory stops
    working here within that time."""

    def __init__(
        self, ttl: float = CACHE_SECONDS, recheck: float = RECHECK_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._recheck = recheck
        self._clock = clock
        self._entries: dict[bytes, _Checked] = {}

    @staticmethod
    def key(username: str, password: str) -> bytes:
        return hashlib.sha256("\0".join((username, password)).encode("utf-8")).digest()

    def hit(self, key: bytes, against: str) -> bool:
        """Whether these credentials were found good against `against` lately (and, for a local
        password, are kept alive by this use)."""
        entry = self._live(key)
        if entry is None or entry.against != against:
            return False
        self._extend(entry)
        return True

    def renew(self, key: bytes) -> None:
        """Credentials used without a check (a decision kept for them) stay remembered."""
        entry = self._live(key)
        if entry is not None:
            self._extend(entry)

    def remember(self, key: bytes, against: str, *, slides: bool) -> None:
        now = self._clock()
        if len(self._entries) >= _CACHE_LIMIT:
            self._entries = {k: v for k, v in self._entries.items() if v.expires > now}
            if len(self._entries) >= _CACHE_LIMIT:
                self._entries.clear()
        self._entries[key] = _Checked(against, now + self._ttl, now + (self._recheck if slides else self._ttl), slides)

    def _live(self, key: bytes) -> _Checked | None:
        entry = self._entries.get(key)
        return entry if entry is not None and entry.expires > self._clock() else None

    def _extend(self, entry: _Checked) -> None:
        if entry.slides:
            entry.expires = min(self._clock() + self._ttl, entry.deadline)


DIRECTORY_DOWN = "the user directory is unavailable, so this password cannot be checked now; try again later"


class DirectoryUnavailable(Exception):
    """A directory that decides this user's password (LDAP) did not answer: the caller says so
    (503), never "wrong password"; local accounts keep signing in."""


class DirectoryLogin(Protocol):
    """A directory's sign-in (gateway.identity): it owns the accounts whose `source` it is."""

    source: str

    async def sign_in(self, username: str, password: str) -> User | None:
        """The account, created or synced, when the directory accepts the password; None when
        it does not; raises DirectoryUnavailable when it cannot say."""


class Throttled(Exception):
    """Too many recent failures for this (user, address)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class Authenticator:
    """Credentials -> Identity: passwords (cached), application tokens, failure throttling."""

    def __init__(
        self, store: Store, hasher: PasswordHasher, cache: CredentialCache, throttle: LoginThrottle,
        directory: DirectoryLogin | None = None,
    ) -> None:
        self._store = store
        self._directory = directory
        self._hasher = hasher
        self._cache = cache
        self._throttle = throttle
        self._checking: dict[bytes, asyncio.Future[bool]] = {}
        self._binding: dict[bytes, asyncio.Future[User | None]] = {}
        self._rehashing: dict[str, asyncio.Task[None]] = {}

    def retry_after(self, username: str, address: str) -> int:
        """Seconds this (user, address) is throttled for; 0 when it may log in."""
        return self._throttle.retry_after(username, address)

    def succeeded(self, username: str, address: str, password: str | None = None) -> None:
        """A success decided without `login` (the same credentials again, from the grant cache)
        clears the failure count just as a checked one does, and keeps the password's check
        remembered as a use of it would."""
        self._throttle.succeeded(username, address)
        if password is not None:
            self._cache.renew(CredentialCache.key(username, password))

    async def login(self, username: str, password: str, address: str) -> Identity | None:
        """The identity for these credentials, or None (logged with the reason); may raise Throttled.

        A name outside the user-name grammar is refused first, without a lookup, a KDF run or a
        throttle entry: the throttle and the store then only ever see canonical names, so `ALICE`
        or `alice ` (which a case-insensitive database would find as alice) gets no budget of its
        own. Answering it without the dummy KDF reveals only that the name breaks the published
        grammar; every valid name, known or not, still costs one KDF run."""
        if not is_valid_username(username):
            log.info("login refused for %r from %s: not a valid user name", username[:80], address)
            return None
        wait = self._throttle.retry_after(username, address)
        if wait:
            log.info("login throttled for %r from %s: too many failures", username, address)
            raise Throttled(wait)
        if looks_like_app_token(password):
            identity = await app_token_identity(self._store, username, password)
            reason = "unknown, expired or revoked application token, or disabled user"
        else:
            identity, reason = await self._password_login(username, password)
        if identity is None:
            self._throttle.failed(username, address)
            log.info("login refused for %r from %s: %s", username, address, reason)
            return None
        self._throttle.succeeded(username, address)
        return identity

    async def _password_login(self, username: str, password: str) -> tuple[Identity | None, str]:
        """The password, or an imported application token (whose secret has no prefix to tell it
        by): a used one is found by its SHA-256 before the KDF run, one never used here by its
        source's bcrypt hash after the password failed."""
        user = await self._store.get_user(username)
        directory = self._directory
        if directory is not None and (user is None or user.source == directory.source):
            identity, reason = await self._directory_login(directory, username, password, user)
            if identity is None and user is not None and not user.disabled and may_be_imported_token(password):
                token = await self._imported_token(user, password)
                if token is not None:
                    return token_identity(user, token), ""
            return identity, reason
        key, against = CredentialCache.key(username, password), user.password_hash if user else ""
        imported: list[AppToken] = []
        if user is not None and self._cache.hit(key, against):
            ok = True
        else:
            if user is not None and not user.disabled and may_be_imported_token(password):
                imported = await self._store.imported_app_tokens(username)
                if (token := settled_imported_token(imported, password)) is not None:
                    return token_identity(user, token), ""
            ok = await self._verify_once(key + against.encode(), password, user.password_hash if user else None)
            if ok and user is not None:
                self._cache.remember(key, against, slides=True)
        if user is None:
            return None, "no such user"
        if not ok:
            token = await first_use_of_imported_token(self._store, self._hasher, imported, password) if imported else None
            if token is not None:
                log.info("imported application token %r of %r used for the first time", token.name, username)
                return token_identity(user, token), ""
            return None, "wrong password"
        if user.disabled:
            return None, "user is disabled"
        if self._hasher.needs_rehash(user.password_hash):
            self._rehash_later(user.name, password, user.password_hash)
        return Identity(user.name, admin=user.admin), ""

    async def _imported_token(self, user: User, password: str) -> AppToken | None:
        """A directory user's imported application token (Portus's LDAP users had them for CI)."""
        imported = await self._store.imported_app_tokens(user.name)
        token = settled_imported_token(imported, password)
        if token is None and imported:
            token = await first_use_of_imported_token(self._store, self._hasher, imported, password)
        return token

    async def _directory_login(
        self, directory: DirectoryLogin, username: str, password: str, user: User | None
    ) -> tuple[Identity | None, str]:
        """A name the directory owns, or no account yet (the directory may know it): its bind
        decides, and a success is cached like a local password's (a password changed in the
        directory stops working here within the cache's lifetime), without a sync."""
        key, against = CredentialCache.key(username, password), "\0" + directory.source
        if user is None or not self._cache.hit(key, against):
            user = await self._sign_in_once(key + against.encode(), directory, username, password)
            if user is None:
                return None, f"wrong password, or no such user in the {directory.source} directory"
            self._cache.remember(key, against, slides=False)
        if user.disabled:
            return None, "user is disabled"
        return Identity(user.name, admin=user.admin), ""

    async def _sign_in_once(self, key: bytes, directory: DirectoryLogin, username: str, password: str) -> User | None:
        """One directory bind (and sync) for concurrent sign-ins with the same credentials (a
        CI fleet starting at once), as `_verify_once` is one KDF run; a failure reaches them all."""
        binding = self._binding.get(key)
        if binding is None:
            binding = asyncio.ensure_future(directory.sign_in(username, password))
            self._binding[key] = binding
            binding.add_done_callback(lambda done: self._bound(key, done))
        return await asyncio.shield(binding)

    def _bound(self, key: bytes, done: asyncio.Future[User | None]) -> None:
        self._binding.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here too: every caller may have gone away

    def _rehash_later(self, username: str, password: str, old_hash: str) -> None:
        """Store a hash at the current cost in place of `old_hash` (once per user at a time)."""
        if username in self._rehashing:
            return
        task = asyncio.ensure_future(self._rehash(username, password, old_hash))
        self._rehashing[username] = task
        task.add_done_callback(lambda _: self._rehashing.pop(username, None))

    async def _rehash(self, username: str, password: str, old_hash: str) -> None:
        try:
            new_hash = await self._hasher.hash(password)
            if await self._store.replace_password_hash(username, old_hash, new_hash):
                log.info("password hash of %r renewed at cost %d", username, self._hasher.cost)
        except StoreError as exc:
            log.warning("password hash of %r not renewed (tried again at the next login): %s", username, exc)

    async def close(self) -> None:
        """Let renewals under way finish (a KDF run at most), so none is cut off at shutdown."""
        if self._rehashing:
            await asyncio.gather(*self._rehashing.values(), return_exceptions=True)

    async def _verify_once(self, key: bytes, password: str, encoded: str | None) -> bool:
        """One KDF run for concurrent checks of the same credentials against the same hash; a
        caller that goes away does not cancel it for the others."""
        check = self._checking.get(key)
        if check is None:
            check = asyncio.ensure_future(self._hasher.verify(password, encoded))
            self._checking[key] = check
            check.add_done_callback(lambda _: self._checking.pop(key, None))
        return await asyncio.shield(check)


def decode_basic(header: str) -> tuple[str, str] | None:
    """(user, password) from an HTTP Basic Authorization header; None when it is not one."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):  # binascii.Error is a ValueError
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None
