"""Who is calling the API (HTTP Basic: a password or an application token), and the
`Services` its handlers call.

Authentication is separate from authorization: `authenticate` only says who the caller is
(and refuses writes through application tokens, which may only read); the service a handler
calls decides what that caller's `actor` may do (gateway/services/guards.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway import keys
from gateway.api.errors import BASIC_CHALLENGE, TOO_MANY_REQUESTS, UNAUTHORIZED, UNAVAILABLE, ApiError, forbidden
from gateway.app_services import services_of
from gateway.auth.login import DIRECTORY_DOWN, DirectoryUnavailable, Throttled, decode_basic
from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity
from gateway.ops import observe
from gateway.services.context import Services

# Longer credentials are refused before any lookup or hashing (as at /v2/token).
_MAX_CREDENTIAL = 4096
_READ_METHODS = frozenset({"GET"})


@dataclass(frozen=True)
class Caller:
    """The signed-in caller. Through an application token the API treats them as a non-admin
    acting only on their own user: the token was made to narrow rights, never to manage."""

    identity: Identity

    @property
    def name(self) -> str:
        return self.identity.name

    @property
    def via_app_token(self) -> bool:
        return self.identity.limits is not None

    @property
    def actor(self) -> Actor:
        return Actor.of(self.identity)


def services(request: web.Request) -> Services:
    """What gateway.services works with, from the gateway's application."""
    return services_of(request.config_dict)


def _unauthorized(message: str) -> ApiError:
    return ApiError(UNAUTHORIZED, message, BASIC_CHALLENGE)


async def authenticate(request: web.Request) -> Caller:
    """The caller of this request, or raise 401 (no or bad credentials) / 429 (throttled) / 503
    (the directory that checks this user's password is down)."""
    header = request.headers.get("Authorization")
    if not header:
        raise _unauthorized("sign in with HTTP Basic: a user name and a password or application token")
    credentials = decode_basic(header)
    if credentials is None or not credentials[0]:
        raise _unauthorized("the Authorization header must be HTTP Basic with a user name")
    username, password = credentials
    if len(username) > _MAX_CREDENTIAL or len(password) > _MAX_CREDENTIAL:
        raise _unauthorized("invalid user name or password")
    try:
        identity = await request.config_dict[keys.AUTHENTICATOR].login(username, password, request.remote or "")
    except Throttled as exc:
        raise ApiError(
            TOO_MANY_REQUESTS, "too many failed logins; try again later", {"Retry-After": str(exc.retry_after)}
        ) from None
    except DirectoryUnavailable:
        raise ApiError(UNAVAILABLE, DIRECTORY_DOWN) from None
    if identity is None:
        observe.authentication_failed(request, "password")
        raise _unauthorized("invalid user name or password")
    observe.note(request, user=identity.name)
    caller = Caller(identity)
    if caller.via_app_token and request.method not in _READ_METHODS:
        raise forbidden(
            "application tokens may only read (GET) through the API, and only their own user's resources;"
            f" sign in with the password of {caller.name!r} to change anything"
        )
    return caller
