"""Passwords (scrypt, memory-hard) and opaque secrets (refresh tokens) stored only as hashes.

`hash_password` and `verify_password` are blocking by design (a few hundred milliseconds at
OWASP's cost); async callers run them in an executor via `PasswordHasher`. A hash carries its
own parameters, so hashes made at an older, lower cost still verify; `needs_rehash` tells the
login to replace them. Bcrypt hashes (`$2a$...`, as Portus's Devise stored them) verify too, so
imported passwords work at once; they always need a rehash, which the first login does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from concurrent.futures import Executor, ThreadPoolExecutor

import bcrypt

DEFAULT_COST = 17  # log2 of scrypt's N: OWASP's minimum is N=2^17, r=8, p=1 (128 MiB a run)
MIN_COST, MAX_COST = 10, 18
SCRYPT_R = 8
SCRYPT_P = 1
_SCHEME = "scrypt"
_MAX_MEMORY = 128 * SCRYPT_R * 2**MAX_COST  # 256 MiB: a stored hash asking for more is refused, not run
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_BCRYPT_MAX_COST = 16  # ~4 s here at 16; a stored hash asking for more is refused, not run
_BCRYPT_MAX_BYTES = 72  # bcrypt reads no further; Ruby's bcrypt (Devise) cut longer passwords there too


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if n < 2 or not 0 < r <= 32 or not 0 < p <= 16 or 128 * r * n > _MAX_MEMORY:
        raise ValueError("scrypt parameters out of range")
    maxmem = 128 * r * (n + p) + 1024 * 1024  # what the run allocates (128*r*N bytes, and 128*r*p) and a margin
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=32)


def hash_password(password: str, cost: int = DEFAULT_COST) -> str:
    """An scrypt hash with N = 2**cost, its parameters encoded in it."""
    n = 2**cost
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, n, SCRYPT_R, SCRYPT_P)
    return f"{_SCHEME}${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def dummy_hash(cost: int = DEFAULT_COST) -> str:
    """A hash nothing matches, at `cost`: verified against when the user does not exist, so
    unknown and known users cost the same. Random salt and digest; no KDF run to make it."""
    return f"{_SCHEME}${2**cost}${SCRYPT_R}${SCRYPT_P}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(32))}"


def is_bcrypt(encoded: str) -> bool:
    return encoded.startswith(_BCRYPT_PREFIXES)


def verify_bcrypt(secret: str, encoded: str) -> bool:
    """A bcrypt check as Ruby's bcrypt makes it (the secret cut at 72 bytes); False for a
    malformed hash or one whose cost is out of range."""
    try:
        cost = int(encoded[4:6])
        if encoded[6:7] != "$" or not 4 <= cost <= _BCRYPT_MAX_COST:
            return False
        return bcrypt.checkpw(secret.encode("utf-8")[:_BCRYPT_MAX_BYTES], encoded.encode("ascii"))
    except (ValueError, UnicodeError):
        return False


def verify_password(password: str, encoded: str) -> bool:
    if is_bcrypt(encoded):
        return verify_bcrypt(password, encoded)
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        if scheme != _SCHEME:
            return False
        digest = _derive(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def needs_rehash(encoded: str, cost: int = DEFAULT_COST) -> bool:
    """Whether a (verified) hash is weaker than what `cost` asks for now."""
    try:
        scheme, n, r, p, _, _ = encoded.split("$")
        return scheme != _SCHEME or int(n) < 2**cost or int(r) < SCRYPT_R or int(p) < SCRYPT_P
    except ValueError:
        return True


def _kdf_thread_setup() -> None:
    """KDF threads yield the CPU to the event loop thread (Linux niceness is per thread), so a
    burst of cold logins slows other logins, not every request the process is serving."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def kdf_threads(cpus: int, processes: int) -> int:
    """KDF threads for each of `processes` serving side by side: together one per CPU, since
    more runs than CPUs add no logins per second, only competition for the event loops."""
    return max(1, cpus // max(1, processes))


class PasswordHasher:
    """Runs the KDF off the event loop, in its own pool of low-priority threads (`kdf_threads`),
    hashing at `cost` (log2 of scrypt's N; see `auth.password_cost`)."""

    def __init__(self, executor: Executor | None = None, *, processes: int = 1, cost: int = DEFAULT_COST) -> None:
        self.cost = cost
        self._dummy = dummy_hash(cost)
        self._executor = executor or ThreadPoolExecutor(
            max_workers=kdf_threads(os.cpu_count() or 2, processes), thread_name_prefix="kdf",
            initializer=_kdf_thread_setup,
        )

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._executor, hash_password, password, self.cost)

    async def verify(self, password: str, encoded: str | None) -> bool:
        ok = await asyncio.get_running_loop().run_in_executor(
            self._executor, verify_password, password, encoded or self._dummy
        )
        return ok and encoded is not None

    def needs_rehash(self, encoded: str) -> bool:
        return needs_rehash(encoded, self.cost)

    async def verify_bcrypt(self, secret: str, encoded: str) -> bool:
        """A bcrypt check (an imported application token) in the same low-priority pool."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, verify_bcrypt, secret, encoded)


def new_secret(prefix: str) -> str:
    """A high-entropy opaque secret; a fast hash is enough to store it."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
