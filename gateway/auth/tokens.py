"""Registry bearer tokens (JWT): issue and verify.

Verification is parse, then verify, then authorize: the key comes only from our own key set by
`kid` (never from the token's `jwk`/`x5c`), the algorithm list is fixed per key, and issuer,
audience and a fixed clock-skew leeway are always checked. Callers log `TokenError.reason` and
answer a generic `invalid_token`.
"""

from __future__ import annotations

import datetime
import functools
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.auth.keyfiles import SigningKey, VerificationKey
from gateway.auth.scopes import Scope

LEEWAY_SECONDS = 60
NOT_BEFORE_SKEW_SECONDS = 5
MAX_TOKEN_LENGTH = 8192
_CACHE_LIMIT = 10_000
_REQUIRED_CLAIMS = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]


class TokenError(Exception):
    """A token that must be refused; `reason` is for the log, never for the client."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    issued_at: str
    granted: tuple[Scope, ...]


@dataclass(frozen=True)
class VerifiedToken:
    subject: str
    audience: str
    expires_at: int
    jti: str
    access: Mapping[tuple[str, str], frozenset[str]]
    app_token: str | None = None
    app_token_name: str | None = None
    issued_at: int = 0

    def allows(self, type_: str, name: str, action: str) -> bool:
        actions = self.access.get((type_, name), frozenset())
        return action in actions or "*" in actions


def rfc3339(moment: float) -> str:
    return _rfc3339(moment) if isinstance(moment, int) else _format_rfc3339(moment)


def _format_rfc3339(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat().replace("+00:00", "Z")


# Tokens are stamped in whole seconds: a busy token endpoint formats the same few instants.
_rfc3339 = functools.lru_cache(maxsize=8)(_format_rfc3339)


class TokenIssuer:
    """Signs access tokens with the current signing key."""

    def __init__(self, key: SigningKey, issuer: str, ttl_seconds: int) -> None:
        self._key = key
        self._issuer = issuer
        self._ttl = ttl_seconds
        self._headers = {"typ": "JWT", "kid": key.kid, "x5c": list(key.x5c)}

    def issue(
        self,
        subject: str,
        audience: str,
        granted: Iterable[Scope],
        *,
        app_token: str | None = None,
        app_token_name: str | None = None,
        not_after: int | None = None,
        now: float | None = None,
    ) -> IssuedToken:
        """Sign a token; `app_token` names the application token it came from (so revoking that
        kills this too), `not_after` caps the expiry (an application token's own expiry)."""
        moment = time.time() if now is None else now
        scopes = tuple(granted)
        issued = int(moment)
        expires = issued + self._ttl if not_after is None else min(issued + self._ttl, not_after)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": subject,
            "aud": audience,
            "exp": expires,
            "nbf": issued - NOT_BEFORE_SKEW_SECONDS,
            "iat": issued,
            "jti": secrets.token_urlsafe(18),
            "access": [scope.as_claim() for scope in scopes],
        }
        if app_token is not None:
            claims["app_token"] = app_token
            claims["app_token_name"] = app_token_name or ""
        token = jwt.encode(claims, self._key.private_key, algorithm=self._key.algorithm, headers=self._headers)
        return IssuedToken(token=token, expires_in=max(expires - issued, 0), issued_at=rfc3339(issued), granted=scopes)


def _parse_access(value: Any) -> dict[tuple[str, str], frozenset[str]]:
    if not isinstance(value, list):
        raise TokenError("access claim is not a list")
    access: dict[tuple[str, str], frozenset[str]] = {}
    for entry in value:
        if not isinstance(entry, dict):
            raise TokenError("access entry is not an object")
        type_, name, actions = entry.get("type"), entry.get("name"), entry.get("actions")
        if not isinstance(type_, str) or not isinstance(name, str) or not isinstance(actions, list):
            raise TokenError("access entry lacks type, name or actions")
        if not all(isinstance(a, str) for a in actions):
            raise TokenError("access actions are not strings")
        access[(type_, name)] = access.get((type_, name), frozenset()) | frozenset(actions)
    return access


class TokenVerifier:
    """Verifies tokens against our own keys; caches good ones until they expire.

    The keys are the current signing key and any previous ones kept after a rotation."""

    def __init__(self, keys: Iterable[VerificationKey], issuer: str) -> None:
        self._keys = {key.kid: key for key in keys}
        self._issuer = issuer
        self._cache: dict[tuple[str, str], VerifiedToken] = {}

    @property
    def keys(self) -> tuple[VerificationKey, ...]:
        """The public side of every key that verifies (for JWKS)."""
        return tuple(VerificationKey.of(k) for k in self._keys.values())

    def verify(self, token: str, audience: str, *, allow_expired: bool = False, now: float | None = None) -> VerifiedToken:
        moment = time.time() if now is None else now
        cached = self._cache.get((token, audience))
        if cached is not None and cached.expires_at + LEEWAY_SECONDS >= moment:
            return cached
        verified = self._verify_uncached(token, audience, allow_expired=allow_expired, now=moment)
        if verified.expires_at + LEEWAY_SECONDS >= moment:
            if len(self._cache) >= _CACHE_LIMIT:
                self._evict(moment)
            self._cache[(token, audience)] = verified
        return verified

    def _evict(self, moment: float) -> None:
        live = {k: v for k, v in self._cache.items() if v.expires_at + LEEWAY_SECONDS >= moment}
        self._cache = live if len(live) < _CACHE_LIMIT // 2 else {}

    def _verify_uncached(self, token: str, audience: str, *, allow_expired: bool, now: float) -> VerifiedToken:
        if len(token) > MAX_TOKEN_LENGTH:
            raise TokenError(f"token longer than {MAX_TOKEN_LENGTH} characters")
        if not token.isascii():
            raise TokenError("token has non-ASCII characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError(f"malformed token header: {exc}") from None
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenError(f"unknown key id {kid!r}")
        if header.get("alg") != key.algorithm:
            raise TokenError(f"algorithm {header.get('alg')!r} does not match key {kid} ({key.algorithm})")
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=[key.algorithm],
                audience=audience,
                issuer=self._issuer,
                options={
                    "require": _REQUIRED_CLAIMS, "strict_aud": True,
                    "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise TokenError(f"token rejected: {exc}") from None
        subject, exp, nbf, iat, jti, app_token = (claims.get(k) for k in ("sub", "exp", "nbf", "iat", "jti", "app_token"))
        if not isinstance(subject, str) or not isinstance(jti, str):
            raise TokenError("sub or jti has the wrong type")
        if not (isinstance(exp, int) and isinstance(nbf, int) and isinstance(iat, int)) or any(
            isinstance(v, bool) for v in (exp, nbf, iat)
        ):
            raise TokenError("exp, nbf or iat is not an integer")
        if nbf - LEEWAY_SECONDS > now or iat - LEEWAY_SECONDS > now:
            raise TokenError("token not yet valid (nbf or iat in the future)")
        if exp + LEEWAY_SECONDS < now and not allow_expired:
            raise TokenError("token expired", expired=True)
        app_token_name = claims.get("app_token_name")
        if (app_token is not None and not isinstance(app_token, str)) or (
            app_token_name is not None and not isinstance(app_token_name, str)
        ):
            raise TokenError("app_token or app_token_name has the wrong type")
        return VerifiedToken(
            subject=subject, audience=audience, expires_at=exp, jti=jti,
            access=_parse_access(claims.get("access", [])), app_token=app_token, app_token_name=app_token_name,
            issued_at=iat,
        )
