"""Readiness: may this instance take traffic? The store answers, the upstream registry answers
`GET /v2/` (any status under 500: a 401 from a token-auth upstream is up), and the signing key is
loaded with a certificate that is currently valid. Checks run concurrently, each bounded by the
readiness timeout; 503 when one fails. The body says which, but never the raw error (the log does).
A configured LDAP directory and OpenID provider are checked and reported too, without making the
instance unready (the provider's answer is kept a few seconds: see OidcClient.check).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from gateway import keys
from gateway.auth.login import DirectoryUnavailable
from gateway.identity.oidc import ProviderUnavailable
from gateway.store import StoreError

log = logging.getLogger(__name__)


class NotReady(Exception):
    """A component is down; the message is safe to show to anyone."""


async def _store(app: web.Application) -> None:
    try:
        await app[keys.STORE].ping()
    except StoreError as exc:
        log.warning("readiness: store ping failed: %s", exc)
        raise NotReady("database unavailable") from None


async def _upstream(app: web.Application) -> None:
    settings = app[keys.SETTINGS]
    url = settings.upstream_url.origin().with_path("/v2/")
    try:
        async with app[keys.UPSTREAM].get(url, allow_redirects=False) as response:
            status = response.status
    except (aiohttp.ClientError, OSError) as exc:
        where = f"{url} (socket {settings.upstream_socket})" if settings.upstream_socket else str(url)
        log.warning("readiness: upstream %s unreachable: %s", where, exc)
        raise NotReady("unreachable") from None
    if status >= 500:
        log.warning("readiness: upstream %s answered %d", url, status)
        raise NotReady(f"answered {status}")


async def _signing_key(app: web.Application) -> None:
    key = app.get(keys.SIGNING_KEY)
    if key is None:
        raise NotReady("no signing key loaded")
    now = datetime.datetime.now(datetime.UTC)
    if not key.certificate.not_valid_before_utc <= now <= key.certificate.not_valid_after_utc:
        raise NotReady("the signing certificate is not valid now (registries would refuse its tokens)")


async def _directory(app: web.Application) -> None:
    try:
        await app[keys.LDAP].directory.check()
    except DirectoryUnavailable:
        raise NotReady("the LDAP directory does not answer (LDAP users cannot sign in; local users can)") from None


async def _oidc_provider(app: web.Application) -> None:
    try:
        await app[keys.OIDC].check()
    except ProviderUnavailable:
        raise NotReady(
            "the OpenID provider's discovery document does not answer (its users cannot sign in to the web UI; "
            "passwords and application tokens work)"
        ) from None


# Reported, but not a reason to take no traffic: local accounts (the break-glass admin) and
# tokens already issued keep working while the directory or the provider is down.
ADVISORY = frozenset({"directory", "oidc_provider"})

CHECKS: dict[str, Callable[[web.Application], Awaitable[None]]] = {
    "store": _store,
    "upstream": _upstream,
    "signing_key": _signing_key,
}


async def _run(check: Callable[[web.Application], Awaitable[None]], app: web.Application, timeout: float) -> dict[str, object]:
    started = time.monotonic()
    result: dict[str, object] = {"status": "up"}
    try:
        async with asyncio.timeout(timeout):
            await check(app)
    except NotReady as exc:
        result = {"status": "down", "reason": str(exc)}
    except TimeoutError:
        result = {"status": "down", "reason": f"no answer within {timeout:g}s"}
    result["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


async def check_components(app: web.Application) -> dict[str, dict[str, object]]:
    """Every check's result by name (the readiness probe's, and the admins' health page's)."""
    timeout = app[keys.SETTINGS].readiness_timeout
    checks = dict(CHECKS)
    if app.get(keys.LDAP) is not None:
        checks["directory"] = _directory
    if app.get(keys.OIDC) is not None:
        checks["oidc_provider"] = _oidc_provider
    results = await asyncio.gather(*(_run(check, app, timeout) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


async def readyz(request: web.Request) -> web.Response:
    components = await check_components(request.app)
    ready = all(result["status"] == "up" for name, result in components.items() if name not in ADVISORY)
    body = {"status": "ready" if ready else "not ready", "checks": components}
    return web.json_response(body, status=200 if ready else 503, headers={"Cache-Control": "no-store"})
