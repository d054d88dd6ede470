"""The UI's per-request checks: who is signed in (sessions.py), and that a state-changing
request comes from one of our own forms (forms.py); refusals are readable 403 pages."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.ui.errors import error_page
from gateway.ui.forms import FIELD, expected_token, same_origin, token_matches
from gateway.ui.pages import VISITOR, Visitor, signed_in
from gateway.ui.sessions import SESSION_COOKIE, UI_PATH, current_session, forget_cookie

log = logging.getLogger(__name__)

STATIC_PREFIX = f"{UI_PATH}/static/"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CROSS_SITE_MESSAGE = (
    "This form was sent from another site, so it was refused. Open the page on this gateway and send it from there."
)
STALE_FORM_MESSAGE = (
    "This form is out of date (or did not come from this gateway), so it was refused. Reload the page and send it again."
)


@web.middleware
async def ui_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(STATIC_PREFIX):
        return await handler(request)
    who, stale = await current_session(request)
    request[VISITOR] = Visitor(who, stale)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _drop_stale_cookie(exc, stale)
        raise
    _drop_stale_cookie(response, stale)
    return response


def _drop_stale_cookie(response: web.StreamResponse, stale: bool) -> None:
    """Unless the response set a new session (a sign-in over an ended one)."""
    if stale and SESSION_COOKIE not in response.cookies:
        forget_cookie(response, SESSION_COOKIE)


@web.middleware
async def ui_forms(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in _SAFE_METHODS:
        return await handler(request)
    if not same_origin(request):
        log.info("web UI: refused %s %s from origin %r", request.method, request.path, request.headers.get("Origin"))
        return error_page(request, 403, CROSS_SITE_MESSAGE)
    form = await request.post()
    given = form.get(FIELD)
    if not isinstance(given, str) or not token_matches(given, expected_token(request, signed_in(request))):
        log.info("web UI: refused %s %s: missing or wrong form token", request.method, request.path)
        return error_page(request, 403, STALE_FORM_MESSAGE)
    return await handler(request)
