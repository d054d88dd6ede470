"""My account: who I am, my personal namespace's visibility (changed on its settings page), and
changing my own password (proving the current one: a session is a browser that may have been
left open). The change ends every other session of mine; this browser gets a new session at
once, so it stays signed in."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from gateway import keys
from gateway.auth.login import Throttled
from gateway.auth.policy import Identity
from gateway.services import namespaces, users
from gateway.services.errors import Forbidden, Invalid
from gateway.services.users import OwnPasswordChange
from gateway.ui.auth import field, throttled_message
from gateway.ui.context import services
from gateway.ui.errors import status_of
from gateway.ui.manage.common import FLASH, flash
from gateway.ui.manage.namespace_settings import settings_path
from gateway.ui.notices import signed_notice
from gateway.ui.pages import render, require_signed_in
from gateway.ui.sessions import UI_PATH, start_session

ACCOUNT_PATH = f"{UI_PATH}/account"
CHANGED = "Your password is changed. Your other sessions have ended; this one stays signed in."


async def _page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    who = require_signed_in(request)
    own = await namespaces.namespace_settings(services(request), who.actor, who.user.name)
    context = {
        "title": "Your account", "nav": "account", "user": who.user, "namespace": own.namespace,
        "settings_path": settings_path(who.user.name), "flash": flash(request), "error": error,
    }
    return render(request, "manage_account.html", context, status=status)


async def account_page(request: web.Request) -> web.Response:
    return await _page(request)


async def change_password(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    form = await request.post()
    change = OwnPasswordChange(field(form, "current_password"), field(form, "new_password"), field(form, "new_password_again"))
    authenticator, address = request.config_dict[keys.AUTHENTICATOR], request.remote or ""

    async def authenticate(username: str, password: str) -> Identity | None:
        return await authenticator.login(username, password, address)

    try:
        await users.change_own_password(services(request), who.actor, change, authenticate)
    except (Invalid, Forbidden) as exc:
        return await _page(request, error=exc.message, status=status_of(exc))
    except Throttled as exc:
        return await _page(request, error=throttled_message(exc), status=429)
    response = web.HTTPSeeOther(ACCOUNT_PATH)
    key = await start_session(request, response, who.user.name)  # the change ended this session too
    response.headers["Location"] = str(URL(ACCOUNT_PATH).with_query(signed_notice(key, FLASH, CHANGED)))
    raise response

