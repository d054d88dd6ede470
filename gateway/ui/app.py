"""The web UI as an aiohttp sub-application mounted at /ui, with `/` sending browsers to it.

A sub-app (like the API at /api/v1) so its middlewares (readable error pages, sessions, form
protection) cover the UI only; /v2, /api/v1 and the probes keep their own answers. Handlers
reach the gateway's shared objects through `request.config_dict`.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.ui import auth, browse, browse_delete, browse_tags, first_run, home, oidc, quotas
from gateway.ui.errors import ui_errors
from gateway.ui.manage.routes import add_manage_pages
from gateway.ui.middleware import ui_forms, ui_session
from gateway.ui.pages import HOME
from gateway.ui.sessions import UI_PATH

STATIC_DIR = Path(__file__).resolve().parent / "static"


async def to_ui(request: web.Request) -> web.Response:
    raise web.HTTPFound(HOME)


def create_ui_app() -> web.Application:
    ui = web.Application(middlewares=[ui_errors, ui_session, ui_forms])
    aiohttp_jinja2.setup(
        ui, loader=jinja2.PackageLoader("gateway.ui", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, default_helpers=False,
    )
    ui.router.add_get("/", home.home)
    ui.router.add_get("/login", auth.login_page)
    ui.router.add_post("/login", auth.login)
    ui.router.add_post("/logout", auth.logout)
    ui.router.add_get("/oidc/start", oidc.start)
    ui.router.add_get("/oidc/callback", oidc.callback)
    ui.router.add_get("/setup", first_run.setup_page)
    ui.router.add_post("/setup", first_run.setup)
    add_manage_pages(ui)
    ui.router.add_get("/namespaces", browse.namespaces_page)
    ui.router.add_get("/namespaces/{namespace}", browse.namespace_page)
    ui.router.add_post("/namespaces/{namespace}/retention", browse.set_retention_policy)
    ui.router.add_post("/namespaces/{namespace}/quota", quotas.change)
    ui.router.add_get("/repositories/{name:.+}", browse.repository_page)
    ui.router.add_get("/search", browse.search_page)
    ui.router.add_get("/manifests/delete", browse_delete.confirm_page)
    ui.router.add_post("/manifests/delete", browse_delete.delete)
    ui.router.add_get("/tags/delete", browse_tags.confirm_page)
    ui.router.add_post("/tags/delete", browse_tags.delete)
    ui.router.add_post("/namespaces/{namespace}/immutable-tags", browse_tags.change_immutable_tags)
    ui.router.add_static("/static", STATIC_DIR)
    return ui


def setup_ui(app: web.Application, *, announce_setup: bool = True) -> None:
    """Mount the UI under /ui; `announce_setup`: this process logs the first-run URL (not the
    workers of a supervisor, which logs it once itself)."""
    app.add_subapp(UI_PATH, create_ui_app())
    app.router.add_get("/", to_ui)
    if announce_setup:
        app.cleanup_ctx.append(first_run.announcing)
