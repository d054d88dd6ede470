"""Passwords (scrypt, memory-hard) and opaque secrets (refresh tokens) stored only as hashes.

`hash_password` and `verify_password` are blocking by design (tens of milliseconds); async
callers run them in an executor via `PasswordHasher`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import os
import threading
from concurrent.futures import Executor, ThreadPoolExecutor

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SCHEME = "scrypt"
_MAXMEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"{_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


# Verified against when the user does not exist, so unknown and known users cost the same.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        if scheme != _SCHEME:
            return False
        digest = _derive(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def _kdf_thread_setup() -> None:
    """KDF threads yield the CPU to the event loop thread (Linux niceness is per thread), so a
    burst of cold logins slows other logins, not every request the process is serving."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


def kdf_threads(cpus: int, processes: int) -> int:
    """KDF threads for each of `processes` serving side by side: together one per CPU, since
    more runs than CPUs add no logins per second, only competition for the event loops."""
    return max(1, cpus // max(1, processes))


class PasswordHasher:
    """Runs the KDF off the event loop, in its own pool of low-priority threads (`kdf_threads`)."""

    def __init__(self, executor: Executor | None = None, *, processes: int = 1) -> None:
        self._executor = executor or ThreadPoolExecutor(
            max_workers=kdf_threads(os.cpu_count() or 2, processes), thread_name_prefix="kdf",
            initializer=_kdf_thread_setup,
        )

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._executor, hash_password, password)

    async def verify(self, password: str, encoded: str | None) -> bool:
        ok = await asyncio.get_running_loop().run_in_executor(
            self._executor, verify_password, password, encoded or DUMMY_HASH
        )
        return ok and encoded is not None


def new_secret(prefix: str) -> str:
    """A high-entropy opaque secret; a fast hash is enough to store it."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
