"""Upload sessions bound to the identity that opened them, so a long push outlives its token.

When an upload starts, the gateway adds `_gw=EXPIRY.MAC` to the upload `Location`; the MAC binds
repository, upload id, subject and expiry under a key derived from the signing key (so every
instance agrees without shared state). A later request on that upload with a correctly signed
but expired token of the same subject is let through; revocation still applies.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import unquote_plus

PARAM = "_gw"


class UploadBinder:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = ttl_seconds

    def _mac(self, repository: str, upload_id: str, subject: str, expires: int) -> str:
        message = f"{repository}\n{upload_id}\n{subject}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def bind(self, repository: str, upload_id: str, subject: str, now: float | None = None) -> str:
        expires = int(time.time() if now is None else now) + self._ttl
        return f"{expires}.{self._mac(repository, upload_id, subject, expires)}"

    def verify(self, value: str, repository: str, upload_id: str, subject: str, now: float | None = None) -> bool:
        expires_text, _, mac = value.partition(".")
        if not expires_text.isdigit() or len(expires_text) > 12:
            return False
        expires = int(expires_text)
        if expires < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(mac, self._mac(repository, upload_id, subject, expires))


def split_query(raw_query: str, name: str = PARAM) -> tuple[str, str | None]:
    """Remove one parameter from a raw query string, leaving every other byte as it was. A key is
    compared decoded (`m%6Fount` is `mount`), as the registry will read it."""
    kept: list[str] = []
    value: str | None = None
    for part in raw_query.split("&") if raw_query else []:
        key, _, item = part.partition("=")
        if key == name or ("%" in key and unquote_plus(key) == name):
            value = item
        else:
            kept.append(part)
    return "&".join(kept), value


def add_param(url: str, value: str, name: str = PARAM) -> str:
    """Append `name=value` to a URL string without re-encoding what is already there."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{name}={value}"
