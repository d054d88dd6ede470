"""Sign in with OpenID Connect: the browser's half of the authorization code flow.

`start` (a link of the sign-in page: a GET, since the pages' `form-action 'self'` policy would
stop a form's redirect to the provider; starting a flow gives nobody anything, its end needs this
browser) makes a random flow secret for this browser, kept in an HttpOnly cookie, and a random
`state`; the store keeps only the hash of each, bound together. The nonce and the PKCE verifier are derived from the flow secret,
so nothing stored yields them. `callback` accepts the provider's redirect only with the `state`
this browser began, within FLOW_MAX_AGE, once (the store's row is deleted by the check); the ID
token is then verified (gateway.identity.oidc) and gateway.services.oidc_users decides whom it
signs in. Every failure is a readable page; the flow cookie is dropped whatever happens.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from aiohttp import web

from gateway import keys
from gateway.identity.oidc import REFUSED, OidcClient, ProviderUnavailable, SignInFailed, flow_secrets
from gateway.public import public_origin
from gateway.services.errors import ServiceError
from gateway.services.oidc_users import account_from_claims, sign_in_with_provider
from gateway.ui.context import services
from gateway.ui.errors import error_page, status_of
from gateway.ui.forms import FORM_COOKIE
from gateway.ui.pages import HOME
from gateway.ui.sessions import UI_PATH, forget_cookie, set_private_cookie, start_session

log = logging.getLogger(__name__)

FLOW_COOKIE = "portus_oidc"
FLOW_MAX_AGE = 600  # seconds from the sign-in button to the provider's redirect back
CALLBACK_PATH = f"{UI_PATH}/oidc/callback"
_SECRET_BYTES = 32
_MAX_PARAMETER = 4096
NOT_STARTED_HERE = (
    "This sign-in was not started in this browser, was started again in another tab, or took too long. "
    "Go back to the sign-in page and start again."
)
NOT_OFFERED = "Signing in with OpenID Connect is not set up on this gateway."


def _hash(kind: str, value: str) -> str:
    return hashlib.sha256(f"portus-gateway oidc {kind}:{value}".encode()).hexdigest()


def _client(request: web.Request) -> OidcClient:
    client = request.config_dict.get(keys.OIDC)
    if client is None:
        raise web.HTTPNotFound(reason=NOT_OFFERED)
    return client


def _redirect_uri(request: web.Request) -> str:
    return public_origin(request, request.config_dict[keys.SETTINGS]) + CALLBACK_PATH


async def start(request: web.Request) -> web.StreamResponse:
    client = _client(request)
    browser_secret, state = secrets.token_urlsafe(_SECRET_BYTES), secrets.token_urlsafe(_SECRET_BYTES)
    try:
        url = await client.authorization_url(_redirect_uri(request), state, flow_secrets(browser_secret))
    except ProviderUnavailable as exc:
        log.warning("oidc: sign-in not started: %s", exc.detail)
        return error_page(request, 503, exc.message)
    await request.config_dict[keys.STORE].begin_oidc_login(_hash("state", state), _hash("browser", browser_secret), FLOW_MAX_AGE)
    response = web.HTTPSeeOther(url)
    set_private_cookie(request, response, FLOW_COOKIE, browser_secret)
    raise response


def _failed(request: web.Request, status: int, message: str) -> web.Response:
    response = error_page(request, status, message)
    forget_cookie(response, FLOW_COOKIE)
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    client = _client(request)
    query = request.query
    browser_secret, state = request.cookies.get(FLOW_COOKIE, ""), query.get("state", "")
    if not browser_secret or not state or len(browser_secret) > _MAX_PARAMETER or len(state) > _MAX_PARAMETER:
        log.info("oidc: callback refused: no flow cookie or no state")
        return _failed(request, 400, NOT_STARTED_HERE)
    store = request.config_dict[keys.STORE]
    if not await store.finish_oidc_login(_hash("state", state), _hash("browser", browser_secret), FLOW_MAX_AGE):
        log.info("oidc: callback refused: a state this browser did not begin, used already, or expired")
        return _failed(request, 400, NOT_STARTED_HERE)
    if "iss" in query and query["iss"] != client.issuer:  # RFC 9207: an answer from another provider (mix-up)
        log.warning("oidc: callback refused: it names issuer %r", query["iss"][:200])
        return _failed(request, 401, REFUSED)
    if "error" in query:
        error = query.get("error", "")[:100]
        log.info("oidc: the provider did not sign the user in: %r", error)
        return _failed(request, 401, f"The sign-in service did not sign you in ({error}).")
    code = query.get("code", "")
    if not code or len(code) > _MAX_PARAMETER:
        return _failed(request, 400, "The sign-in service sent no sign-in code. Start again.")
    try:
        token = await client.redeem(code, _redirect_uri(request), flow_secrets(browser_secret))
    except ProviderUnavailable as exc:
        log.warning("oidc: sign-in failed, the provider is unavailable: %s", exc.detail)
        return _failed(request, 503, exc.message)
    except SignInFailed as exc:
        log.warning("oidc: sign-in refused: %s", exc.detail)
        return _failed(request, 401, exc.message)
    settings = request.config_dict[keys.SETTINGS]
    account = account_from_claims(
        token.issuer, token.subject, token.claims, settings.oidc_username_claim, settings.oidc_groups_claim
    )
    try:
        user = await sign_in_with_provider(services(request), account, settings.oidc_username_claim, settings.oidc_groups)
    except ServiceError as exc:
        log.info("oidc: sign-in of %r from %s refused: %s", token.subject, token.issuer, exc.message)
        return _failed(request, status_of(exc), exc.message)
    log.info("oidc: %r signed in as %r", token.subject, user.name)
    response = web.HTTPSeeOther(HOME)
    await start_session(request, response, user.name)
    forget_cookie(response, FLOW_COOKIE)
    forget_cookie(response, FORM_COOKIE)
    raise response
