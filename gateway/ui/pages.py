"""Rendering a page: the template with who is signed in and the form token, and the headers
every page carries (no caching of personal pages, no framing, nothing loaded from elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.ui.forms import keep_pre_session_token, pre_session_token
from gateway.ui.sessions import UI_PATH, SignedIn


@dataclass(frozen=True)
class Visitor:
    """Who is signed in (None: nobody), and whether the request came with a session that ended."""

    signed_in: SignedIn | None
    session_ended: bool = False


VISITOR = web.RequestKey("ui_visitor", Visitor)

HOME = f"{UI_PATH}/"
LOGIN = f"{UI_PATH}/login"

_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def signed_in(request: web.Request) -> SignedIn | None:
    visitor = request.get(VISITOR)
    return visitor.signed_in if visitor is not None else None


def require_signed_in(request: web.Request) -> SignedIn:
    """The signed-in user, or off to the sign-in page (saying why when a session just ended)."""
    who = signed_in(request)
    if who is None:
        visitor = request.get(VISITOR)
        raise web.HTTPFound(f"{LOGIN}?ended=1" if visitor is not None and visitor.session_ended else LOGIN)
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
