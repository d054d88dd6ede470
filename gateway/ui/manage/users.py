"""Admins' user pages: the list (paged), adding a user, disabling and enabling, making and
unmaking admins, resetting a password, and deleting a user after a confirmation that says what
follows. The users service refuses everyone else (a 403 page)."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from gateway.services import users
from gateway.services.errors import Conflict, Invalid
from gateway.services.paging import page_of
from gateway.services.users import UserChange
from gateway.store import User
from gateway.ui.browse_view import query_text
from gateway.ui.context import services
from gateway.ui.errors import status_of
from gateway.ui.manage.common import PAGE_SIZE, after, done, flash, text
from gateway.ui.pages import LOGIN, render, require_signed_in
from gateway.ui.sessions import UI_PATH

USERS_PATH = f"{UI_PATH}/users"
PASSWORDS_DIFFER = "The two passwords differ. Type the same password twice."
# The flag changes offered on each row: the change and what the page says once it is done.
CHANGES = {
    "disable": (UserChange(disabled=True), "{name} is disabled; their sessions and logins have ended."),
    "enable": (UserChange(disabled=False), "{name} is enabled again."),
    "make-admin": (UserChange(admin=True), "{name} is now an admin."),
    "unmake-admin": (UserChange(admin=False), "{name} is no longer an admin."),
}


def _next(after_name: str | None, query: str) -> str | None:
    """The next page's address: the search kept, nothing else (not a notice already shown)."""
    if after_name is None:
        return None
    return str(URL(USERS_PATH).with_query({"after": after_name, **({"q": query} if query else {})}))


async def _page(request: web.Request, *, name: str = "", error: str | None = None, status: int = 200) -> web.Response:
    """The list, or with `?q=` the users whose name contains it (admins find one among thousands)."""
    who = require_signed_in(request)
    using = services(request)
    query = query_text(request, "q")

    async def fetch(start: str, count: int) -> list[User]:
        return await users.list_users(using, who.actor, start, count, query)

    listed, next_after = await page_of(fetch, lambda u: u.name, after(request), PAGE_SIZE)
    context = {
        "title": "Users", "nav": "users", "users": listed, "next": _next(next_after, query),
        "flash": flash(request), "error": error, "name": name, "query": query,
    }
    return render(request, "manage_users.html", context, status=status)


async def users_page(request: web.Request) -> web.Response:
    return await _page(request)


async def create(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    form = await request.post()
    name, password = text(form, "name"), form.get("password", "")
    if not isinstance(password, str) or password != form.get("password_again"):
        return await _page(request, name=name, error=PASSWORDS_DIFFER, status=400)
    try:
        await users.create_user(services(request), who.actor, name, password, admin=bool(form.get("admin")))
    except (Invalid, Conflict) as exc:
        return await _page(request, name=name, error=exc.message, status=status_of(exc))
    raise done(request, USERS_PATH, f"User {name} added.")


async def change(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name, wanted = request.match_info["name"], CHANGES.get(request.match_info["change"])
    if wanted is None:
        raise web.HTTPNotFound
    changed = await users.update_user(services(request), who.actor, name, wanted[0])
    message = wanted[1].format(name=name)
    raise done(request, USERS_PATH, f"{message} {changed.note}" if changed.note else message)


async def reset_password(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    form = await request.post()
    name, password = text(form, "name"), form.get("password", "")
    if not isinstance(password, str) or password != form.get("password_again"):
        return await _page(request, error=PASSWORDS_DIFFER, status=400)
    try:
        await users.update_user(services(request), who.actor, name, UserChange(password=password))
    except Invalid as exc:
        return await _page(request, error=exc.message, status=400)
    raise done(request, USERS_PATH, f"The password of {name} is reset; their sessions and logins have ended.")


async def confirm_delete(request: web.Request) -> web.Response:
    """What deleting the user does, before the form that does it (for who may only)."""
    who = require_signed_in(request)
    preview = await users.check_delete_user(services(request), who.actor, request.match_info["name"])
    context = {
        "title": f"Delete user {preview.user.name}", "nav": "users", "preview": preview,
        "back": USERS_PATH if who.user.admin else f"{UI_PATH}/account",
    }
    return render(request, "manage_user_delete.html", context)


async def delete(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name = request.match_info["name"]
    deletion = await users.delete_user(services(request), who.actor, name)
    message = f"User {name} deleted; their application tokens are revoked and their sessions and logins have ended."
    if deletion.reserved is not None:
        count = deletion.reserved.repositories
        message += (
            f" Their namespace {name} holds {count} {'repository' if count == 1 else 'repositories'}, so the name"
            " stays reserved until an admin releases or purges it."
        )
    raise done(request, USERS_PATH if who.user.admin else LOGIN, message)
