"""Rendering a page: the template with who is signed in and the form token, and the headers
every page carries (no caching of personal pages, no framing, nothing loaded from elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.ui.forms import keep_pre_session_token, pre_session_token
from gateway.ui.sessions import UI_PATH, SignedIn

SIGNED_IN = "ui.signed_in"
SESSION_ENDED = "ui.session_ended"

HOME = f"{UI_PATH}/"
LOGIN = f"{UI_PATH}/login"

_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def signed_in(request: web.Request) -> SignedIn | None:
    who: SignedIn | None = request.get(SIGNED_IN)
    return who


def require_signed_in(request: web.Request) -> SignedIn:
    """The signed-in user, or off to the sign-in page (saying why when a session just ended)."""
    who = signed_in(request)
    if who is None:
        raise web.HTTPFound(f"{LOGIN}?ended=1" if request.get(SESSION_ENDED) else LOGIN)
    return who


def render(request: web.Request, template: str, context: Mapping[str, Any] | None = None, *, status: int = 200) -> web.Response:
    who = signed_in(request)
    token = who.csrf if who is not None else pre_session_token(request)
    values = {"signed_in": who, "csrf": token, "ui": UI_PATH, **(context or {})}
    response = aiohttp_jinja2.render_template(template, request, values, status=status)
    if who is None:
        keep_pre_session_token(request, response, token)
    response.headers.update(_HEADERS)
    return response
