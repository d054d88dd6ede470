"""Secrets at rest: AES-256-GCM for the values the store keeps but must not show (webhook
URLs, secrets and header values), under keys of their own in `secrets.key`.

Not derived from the token signing key, so rotating that key leaves stored secrets readable.
The key file holds one base64 key per line: the first seals, every line opens (so rows sealed
before a rotation stay readable until they are sealed again). A sealed value is
`pgs1:<key id>:<base64url(nonce | ciphertext | tag)>`, with the row's name and column as
associated data (a value copied into another row or column does not open). Values without the
prefix are plain text from a version before sealing: they read as they are and are sealed
at the next start or write.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.private_files import write_private_file
from gateway.store import StoreError

PREFIX = "pgs1:"
KEY_BYTES = 32
_NONCE_BYTES = 12


class SecretsKeyError(Exception):
    """The secrets key file is unreadable or malformed."""


class Unsealable(StoreError):
    """A stored value does not open with any configured key (wrong or missing key file, or a
    changed row)."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"portus-gateway secrets key:" + key).hexdigest()[:8]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sealer:
    """Seals with the first key, opens with any (see the module docstring)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys or any(len(k) != KEY_BYTES for k in keys):
            raise SecretsKeyError(f"secrets keys are {KEY_BYTES} bytes each, at least one")
        self.keys = tuple(keys)
        self._ciphers = {key_id(k): AESGCM(k) for k in keys}
        self._current = key_id(keys[0])

    @property
    def current_key_id(self) -> str:
        return self._current

    def seal(self, plain: str, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, plain.encode("utf-8"), context.encode("utf-8"))
        return f"{PREFIX}{self._current}:{_b64(nonce + sealed)}"

    def open(self, stored: str, context: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        kid, _, payload = stored[len(PREFIX):].partition(":")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise Unsealable(
                f"{context} is sealed with secrets key {kid}, which the secrets key file does not hold"
                " (every instance on one database needs the same GATEWAY_SECRETS_KEY_FILE)"
            )
        try:
            raw = _unb64(payload)
            return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8")).decode("utf-8")
        except (InvalidTag, ValueError, binascii.Error):
            raise Unsealable(f"{context} does not open with secrets key {kid} (changed or copied from another row)") from None

    def is_current(self, stored: str) -> bool:
        """Sealed with the key that seals now (else: plain text, or an older key)."""
        return stored.startswith(f"{PREFIX}{self._current}:")


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def key_file_text(keys: Sequence[bytes]) -> bytes:
    return "".join(base64.b64encode(k).decode("ascii") + "\n" for k in keys).encode("ascii")


def read_keys(path: Path) -> list[bytes]:
    try:
        lines = path.read_text(encoding="ascii").split()
    except OSError as exc:
        raise SecretsKeyError(f"cannot read secrets key file {path}: {exc.strerror}") from None
    except UnicodeError:
        raise SecretsKeyError(f"{path} is not a secrets key file (one base64 key a line)") from None
    try:
        keys = [base64.b64decode(line, validate=True) for line in lines]
    except binascii.Error:
        raise SecretsKeyError(f"{path} is not a secrets key file (one base64 key a line)") from None
    if not keys or any(len(k) != KEY_BYTES for k in keys):
        raise SecretsKeyError(f"{path} must hold one or more base64 keys of {KEY_BYTES} bytes, one a line")
    return keys


def load_or_create_sealer(path: Path) -> Sealer:
    """The sealer of the key file at `path`, written (0600, one new key) when missing; of two
    processes starting at once, both end up with the same key."""
    if not path.exists():
        write_private_file(path, key_file_text([new_key()]), replace=False)
    return Sealer(read_keys(path))


def write_keys(path: Path, keys: Sequence[bytes]) -> None:
    write_private_file(path, key_file_text(keys), replace=True)
