"""Cross-site request protection for every state-changing form, both ways at once:

- the request must come from one of our own pages: its Origin (or, when a browser sends none,
  its Referer's origin) must be the gateway's own origin;
- the form must carry the form token: a signed-in session's own, or before sign-in (the sign-in
  and first-run forms: login CSRF) the random value of a pre-session cookie that only our pages
  set and only our origin can read back into the form.
Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from yarl import URL

from gateway import keys
from gateway.public import public_origin
from gateway.ui.sessions import SignedIn, set_private_cookie

FORM_COOKIE = "portus_form"
FIELD = "csrf"
_TOKEN_BYTES = 32
_MAX_TOKEN = 128


def same_origin(request: web.Request) -> bool:
    claimed = request.headers.get("Origin")
    if claimed is None:
        referer = request.headers.get("Referer")
        if not referer:
            return False
        try:
            claimed = str(URL(referer).origin())
        except ValueError:
            return False
    return claimed == public_origin(request, request.config_dict[keys.SETTINGS])


def expected_token(request: web.Request, signed_in: SignedIn | None) -> str:
    """The token this request's form must carry ('' when there is none to match)."""
    if signed_in is not None:
        return signed_in.csrf
    token = request.cookies.get(FORM_COOKIE, "")
    return token if len(token) <= _MAX_TOKEN else ""


def token_matches(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def pre_session_token(request: web.Request) -> str:
    """The pre-session token of this browser, made when it has none (see `keep_pre_session_token`)."""
    token = request.cookies.get(FORM_COOKIE, "")
    return token if token and len(token) <= _MAX_TOKEN else secrets.token_urlsafe(_TOKEN_BYTES)


def keep_pre_session_token(request: web.Request, response: web.StreamResponse, token: str) -> None:
    if request.cookies.get(FORM_COOKIE) != token:
        set_private_cookie(request, response, FORM_COOKIE, token)
