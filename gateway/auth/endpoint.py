"""GET /v2/token (docker token protocol) and POST /v2/token (OAuth2 password and refresh grants)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from aiohttp import web

from gateway import keys
from gateway.auth.credentials import new_secret, secret_hash
from gateway.auth.login import DIRECTORY_DOWN, DirectoryUnavailable, Throttled, decode_basic
from gateway.auth.namespaces import facts_for
from gateway.auth.policy import ANONYMOUS, Identity, grant
from gateway.auth.scopes import Scope, format_scopes, parse_scopes
from gateway.config import Settings
from gateway.ops import observe
from gateway.public import service_name
from gateway.store import RefreshToken, StoreError

log = logging.getLogger(__name__)

REFRESH_TOKEN_PREFIX = "pgr"
_MAX_FIELD = 4096
_TOUCH_SECONDS = 3600


class TokenRequestError(Exception):
    """A refused token request: HTTP status, OAuth2-style error code and a message for the client."""

    def __init__(self, status: int, error: str, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.retry_after = retry_after


_JSON_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json; charset=utf-8"}


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    merged = {**_JSON_HEADERS, **headers} if headers else _JSON_HEADERS
    return _answer(json.dumps(body).encode(), status, merged)


def _answer(body: bytes, status: int = 200, headers: dict[str, str] = _JSON_HEADERS) -> web.Response:
    return web.Response(status=status, body=body, headers=headers)


_OCI_CODES = {401: "UNAUTHORIZED", 429: "TOOMANYREQUESTS", 503: "UNAVAILABLE"}


def _error_response(exc: TokenRequestError) -> web.Response:
    body = {
        "error": exc.error,
        "error_description": exc.description,
        "errors": [{"code": _OCI_CODES.get(exc.status, "DENIED"), "message": exc.description, "detail": None}],
    }
    headers: dict[str, str] = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="portus-gateway"'
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return _json(body, exc.status, headers)


def _check_service(request: web.Request, requested: str | None) -> str:
    service = service_name(request, request.app[keys.SETTINGS])
    if requested and requested != service:
        raise TokenRequestError(400, "invalid_request", f"unknown service {requested[:200]!r}; this gateway is {service!r}")
    return service


async def _password_identity(request: web.Request, username: str, password: str) -> Identity:
    if len(username) > _MAX_FIELD or len(password) > _MAX_FIELD:
        raise TokenRequestError(401, "invalid_grant", "invalid username or password")
    try:
        identity = await request.app[keys.AUTHENTICATOR].login(username, password, request.remote or "")
    except Throttled as exc:
        raise TokenRequestError(429, "slow_down", "too many failed logins; try again later", exc.retry_after) from None
    except DirectoryUnavailable:
        raise TokenRequestError(503, "temporarily_unavailable", DIRECTORY_DOWN) from None
    if identity is None:
        observe.authentication_failed(request, "password")
        raise TokenRequestError(401, "invalid_grant", "invalid username or password")
    return identity


async def _basic_identity(request: web.Request) -> Identity:
    header = request.headers.get("Authorization")
    if not header:
        return ANONYMOUS
    credentials = decode_basic(header)
    if credentials is None:
        raise TokenRequestError(401, "invalid_client", "the Authorization header must be HTTP Basic")
    username, password = credentials
    if not username:
        return ANONYMOUS
    return await _password_identity(request, username, password)


async def _grant_for(request: web.Request, identity: Identity, requested: list[Scope]) -> tuple[Scope, ...]:
    rules = request.app[keys.POLICY_RULES]
    facts = await facts_for(request.app[keys.STORE], identity, requested, rules)
    decision = grant(identity, requested, facts, rules)
    for refusal in decision.refusals:
        log.info("token scope refused: %s", refusal)
    return decision.scopes


async def _new_refresh_token(request: web.Request, identity: Identity, service: str, client_id: str) -> str:
    secret = new_secret(REFRESH_TOKEN_PREFIX)
    await request.app[keys.STORE].add_refresh_token(secret_hash(secret), identity.name, service, client_id[:255])
    return secret


def _observe_issue(request: web.Request, identity: Identity) -> None:
    observe.note(request, user=identity.name, action="token")
    observe.token_issued(request, "anonymous" if identity.anonymous else "app_token" if identity.limits else "user")


def _signed_body(
    request: web.Request, identity: Identity, service: str, granted: tuple[Scope, ...], now: float | None = None
) -> dict[str, Any]:
    limits = identity.limits
    issued = request.app[keys.ISSUER].issue(
        identity.name, service, granted,
        app_token=limits.token_id if limits else None, app_token_name=limits.name if limits else None,
        not_after=limits.expires_at if limits else None, now=now,
    )
    _observe_issue(request, identity)
    return {
        "token": issued.token,
        "access_token": issued.token,
        "expires_in": issued.expires_in,
        "issued_at": issued.issued_at,
        "scope": format_scopes(issued.granted),
    }


async def _token_body(request: web.Request, identity: Identity, service: str, requested: list[Scope]) -> dict[str, Any]:
    return _signed_body(request, identity, service, await _grant_for(request, identity, requested))


async def _decide(
    request: web.Request, key: bytes, version: object | None, scopes: list[str]
) -> tuple[Identity, tuple[Scope, ...], object | None]:
    """Who the Basic credentials name and what they are granted: from the grant cache while the
    store is unchanged (and the caller not throttled), else from the store. Also the version the
    decision holds for: None when the store changed while it was made (this request founding a
    namespace, say), since then neither this decision nor an answer kept under the version read
    before it (a racing request's, made before the change) may stand for it."""
    cache = request.app[keys.GRANT_CACHE]
    hit = cache.get(key, version)
    if hit is not None and hit.identity.anonymous:
        return hit.identity, hit.granted, version
    if hit is not None:
        authenticator, address = request.app[keys.AUTHENTICATOR], request.remote or ""
        if not authenticator.retry_after(hit.identity.name, address):
            credentials = decode_basic(request.headers.get("Authorization", ""))  # the header the key hashed
            # a success, as `login` would have counted it, and a use of the password's check
            authenticator.succeeded(hit.identity.name, address, credentials[1] if credentials else None)
            return hit.identity, hit.granted, version
    identity = await _basic_identity(request)
    granted = await _grant_for(request, identity, parse_scopes(scopes))
    if version is not None and request.app[keys.STORE].access_version() != version:
        return identity, granted, None
    cache.put(key, version, identity, granted)
    return identity, granted, version


async def get_token(request: web.Request) -> web.Response:
    """Docker token protocol: Basic (or anonymous) credentials, repeated `scope` parameters. The
    same request again within a few seconds of its token's signing gets the same answer, while the
    store is unchanged (see grant_cache.py); offline requests always get a token of their own."""
    try:
        service = _check_service(request, request.query.get("service"))
        offline = request.query.get("offline_token", "").lower() == "true"
        scopes = request.query.getall("scope", [])
        cache = request.app[keys.GRANT_CACHE]
        key = cache.key(request.headers.get("Authorization", ""), service, scopes)
        version = None if offline else request.app[keys.STORE].access_version()
        identity, granted, version = await _decide(request, key, version, scopes)
        now = time.time()
        answer = cache.answer(key, version, now)
        if answer is not None:
            _observe_issue(request, identity)
            return _answer(answer)
        second = int(now)
        body = _signed_body(request, identity, service, granted, now=second)
        if offline and not identity.anonymous and identity.limits is None:
            body["refresh_token"] = await _new_refresh_token(request, identity, service, request.query.get("client_id", ""))
        answer = json.dumps(body).encode()
        if identity.limits is None:
            cache.keep_answer(key, version, second, answer, now)
    except TokenRequestError as exc:
        observe.token_denied(request, exc.error)
        return _error_response(exc)
    except StoreError as exc:
        observe.token_denied(request, "temporarily_unavailable")
        log.error("token request failed: store unavailable: %s", exc)
        return _json({"error": "temporarily_unavailable", "error_description": "store unavailable"}, 503)
    return _answer(answer)


def _refresh_expiry(record: RefreshToken, settings: Settings, now: int) -> str | None:
    """Why the refresh token has expired (too old, or unused for too long), or None."""
    if now - record.created_at >= settings.refresh_max_age:
        return "issued longer ago than tokens.refresh_max_age"
    if now - (record.last_used_at or record.created_at) >= settings.refresh_max_idle:
        return "unused for longer than tokens.refresh_max_idle"
    return None


def _touch_due(record: RefreshToken, settings: Settings, now: int) -> bool:
    """Whether to record this use: at most hourly (or a tenth of the idle limit), since every
    write to the store ends the reuse of all cached grants (grant_cache.py)."""
    return now - (record.last_used_at or record.created_at) >= min(_TOUCH_SECONDS, settings.refresh_max_idle // 10)


async def _refresh_identity(request: web.Request, refresh_token: str, service: str) -> Identity:
    store = request.app[keys.STORE]
    token_hash = secret_hash(refresh_token)
    record = await store.get_refresh_token(token_hash)
    if record is None or record.revoked_at is not None:
        raise TokenRequestError(400, "invalid_grant", "refresh token unknown or revoked")
    if record.service != service:
        raise TokenRequestError(400, "invalid_grant", "refresh token was issued for another service")
    settings, now = request.app[keys.SETTINGS], int(time.time())
    expired = _refresh_expiry(record, settings, now)
    if expired is not None:
        log.info("refresh refused for %r: token %s", record.username, expired)
        raise TokenRequestError(400, "invalid_grant", "refresh token expired; log in again")
    user = await store.get_user(record.username)
    if user is None or user.disabled:
        log.info("refresh refused for %r: user missing or disabled", record.username)
        raise TokenRequestError(400, "invalid_grant", "refresh token unknown or revoked")
    if _touch_due(record, settings, now):
        await store.touch_refresh_token(token_hash, now)
    return Identity(user.name, admin=user.admin)


async def post_token(request: web.Request) -> web.Response:
    """OAuth2 token endpoint: `grant_type=password` or `refresh_token`."""
    try:
        if request.content_type != "application/x-www-form-urlencoded":
            raise TokenRequestError(400, "invalid_request", "expected an application/x-www-form-urlencoded body")
        try:
            form = await request.post()
        except (ValueError, LookupError, web.HTTPException):  # LookupError: a charset Python does not know
            raise TokenRequestError(400, "invalid_request", "unreadable form body") from None
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        service = _check_service(request, fields.get("service"))
        requested = parse_scopes([fields.get("scope", "")])
        grant_type = fields.get("grant_type", "")
        refresh_token: str | None = None
        if grant_type == "password":
            identity = await _password_identity(request, fields.get("username", ""), fields.get("password", ""))
            if fields.get("access_type") == "offline" and identity.limits is None:
                refresh_token = await _new_refresh_token(request, identity, service, fields.get("client_id", ""))
        elif grant_type == "refresh_token":
            refresh_token = fields.get("refresh_token", "")
            identity = await _refresh_identity(request, refresh_token, service)
        else:
            raise TokenRequestError(400, "unsupported_grant_type", "grant_type must be password or refresh_token")
        body = await _token_body(request, identity, service, requested)
    except TokenRequestError as exc:
        observe.token_denied(request, exc.error)
        return _error_response(exc)
    except StoreError as exc:
        observe.token_denied(request, "temporarily_unavailable")
        log.error("token request failed: store unavailable: %s", exc)
        return _json({"error": "temporarily_unavailable", "error_description": "store unavailable"}, 503)
    if refresh_token:
        body["refresh_token"] = refresh_token
    return _json(body)
