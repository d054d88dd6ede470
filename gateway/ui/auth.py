"""Sign in and sign out, with the credentials `docker login` takes (the same authenticator,
so the same throttling of failures). An application token opens no web session: it was made
to narrow what a client may do in the registry, never to manage."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from gateway import keys
from gateway.auth.login import DirectoryUnavailable, Throttled
from gateway.ui.forms import FORM_COOKIE
from gateway.ui.pages import HOME, LOGIN, render, signed_in
from gateway.ui.sessions import end_session, forget_cookie, start_session

_MAX_FIELD = 4096
WRONG_CREDENTIALS = "Wrong user name or password."
APP_TOKEN_REFUSED = "An application token cannot sign in to the web UI. Sign in with your password."
ENDED_NOTICE = "Your session has ended. Sign in again."
DIRECTORY_DOWN = "The user directory (LDAP) is unavailable, so your password cannot be checked now. Try again later."


def field(form: MultiDictProxy[Any], name: str) -> str:
    """A text field of a posted form ('' when missing, a file, or too long to be sensible)."""
    value = form.get(name)
    return value if isinstance(value, str) and len(value) <= _MAX_FIELD else ""


def throttled_message(exc: Throttled) -> str:
    return f"Too many failed attempts: try again in {exc.retry_after} s."


def _form(request: web.Request, *, username: str = "", error: str | None = None, status: int = 200) -> web.Response:
    notice = ENDED_NOTICE if request.query.get("ended") and error is None else None
    context = {"title": "Sign in", "username": username, "error": error, "notice": notice}
    return render(request, "login.html", context, status=status)


async def login_page(request: web.Request) -> web.Response:
    if signed_in(request) is not None:
        raise web.HTTPFound(HOME)
    return _form(request)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = field(form, "username"), field(form, "password")
    try:
        identity = await request.config_dict[keys.AUTHENTICATOR].login(username, password, request.remote or "")
    except Throttled as exc:
        return _form(request, username=username, error=throttled_message(exc), status=429)
    except DirectoryUnavailable:
        return _form(request, username=username, error=DIRECTORY_DOWN, status=503)
    if identity is None:
        return _form(request, username=username, error=WRONG_CREDENTIALS, status=401)
    if identity.limits is not None:
        return _form(request, username=username, error=APP_TOKEN_REFUSED, status=403)
    response = web.HTTPSeeOther(HOME)
    await start_session(request, response, identity.name)
    forget_cookie(response, FORM_COOKIE)
    raise response


async def logout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther(LOGIN)
    who = signed_in(request)
    if who is not None:
        await end_session(request, response, who)
    raise response
