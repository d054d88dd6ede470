"""First run in the browser: the setup form behind the one-time code, and the one log line at
start that names its URL (see gateway.services.setup for the code itself).

Which process logs it: a single `serve` process at start; with `--workers N` the supervisor,
once, before it starts the workers (they accept the code from the store but stay quiet).
Separate instances on one database each log the same code when their secrets key opens it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from yarl import URL

from gateway import keys
from gateway.auth.sealing import Sealer
from gateway.config import Settings
from gateway.services.errors import Conflict, Invalid
from gateway.services.setup import CLOSED_MESSAGE, SetupClosed, complete_setup, open_setup, setup_is_open
from gateway.store import Store
from gateway.ui.auth import field
from gateway.ui.context import services
from gateway.ui.forms import FORM_COOKIE
from gateway.ui.pages import HOME, render
from gateway.ui.sessions import UI_PATH, forget_cookie, start_session

log = logging.getLogger(__name__)

SETUP_PATH = f"{UI_PATH}/setup"
PASSWORDS_DIFFER = "The two passwords differ. Type the same password twice."
_ANY_ADDRESS = frozenset({"", "0.0.0.0", "::"})


def gateway_origin(settings: Settings) -> str:
    """The origin an operator's browser reaches: the public URL's, else the listening address
    (an any-address as localhost)."""
    if settings.public_url is not None:
        return str(settings.public_url.origin())
    host = "localhost" if settings.listen_host in _ANY_ADDRESS else settings.listen_host
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.tls_cert_file is not None else "http"
    return f"{scheme}://{host}:{settings.listen_port}"


def setup_url(settings: Settings, code: str) -> str:
    return str(URL(gateway_origin(settings) + SETUP_PATH).with_query(code=code))


async def announce_setup(settings: Settings, store: Store, sealer: Sealer) -> None:
    """Log the setup URL when the store has no admin and none is configured (one line)."""
    configured = bool(settings.admin_username and settings.admin_password)
    offer = await open_setup(store, sealer, admin_configured=configured)
    if offer is None:
        return
    if offer.code is None:
        log.warning(
            "first run: no admin yet, and the setup code was made by an instance with another secrets key;"
            " its log names the setup URL (or set GATEWAY_ADMIN_USERNAME and GATEWAY_ADMIN_PASSWORD)"
        )
        return
    log.info("first run: no admin yet; create one at %s (the link works once)", setup_url(settings, offer.code))


async def announcing(app: web.Application) -> AsyncIterator[None]:
    """Cleanup-context body: announce once the store is open."""
    await announce_setup(app[keys.SETTINGS], app[keys.STORE], app[keys.SEALER])
    yield


def _closed(request: web.Request) -> web.Response:
    return render(request, "setup_closed.html", {"title": "Already set up", "message": CLOSED_MESSAGE}, status=404)


def _form(request: web.Request, code: str, *, username: str = "", error: str | None = None, status: int = 200) -> web.Response:
    context = {"title": "Create the first admin", "code": code, "username": username, "error": error}
    return render(request, "setup.html", context, status=status)


async def setup_page(request: web.Request) -> web.Response:
    code = request.query.get("code", "")
    if not await setup_is_open(request.config_dict[keys.STORE], code):
        return _closed(request)
    return _form(request, code)


async def setup(request: web.Request) -> web.Response:
    form = await request.post()
    code, username = field(form, "code"), field(form, "username")
    password, again = field(form, "password"), field(form, "password_again")
    if not await setup_is_open(request.config_dict[keys.STORE], code):
        return _closed(request)
    if password != again:
        return _form(request, code, username=username, error=PASSWORDS_DIFFER, status=400)
    try:
        user = await complete_setup(services(request), code, username, password)
    except SetupClosed:
        return _closed(request)
    except Invalid as exc:
        return _form(request, code, username=username, error=exc.message, status=400)
    except Conflict as exc:
        return _form(request, code, username=username, error=exc.message, status=409)
    log.info("first run: admin %r created through the setup form", user.name)
    response = web.HTTPSeeOther(HOME)
    await start_session(request, response, user.name)
    forget_cookie(response, FORM_COOKIE)
    raise response
