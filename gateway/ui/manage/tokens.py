"""My application tokens: the list (paged by name), the form to create one (its secret shown once, in the
answer to the POST and nowhere else), and revoking one."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.services import tokens
from gateway.services.errors import Conflict, Invalid
from gateway.services.oidc_users import signs_in_with_provider
from gateway.services.paging import page_of
from gateway.store import AppToken
from gateway.ui.browse_view import next_link, page_size
from gateway.ui.context import services
from gateway.ui.errors import status_of
from gateway.ui.manage.common import PAGE_SIZE, after, checked, done, flash, text
from gateway.ui.pages import render, require_signed_in
from gateway.ui.sessions import UI_PATH

TOKENS_PATH = f"{UI_PATH}/tokens"
NEVER = "never"
# The expiry choices offered (a lifetime tokens.create_token understands), the first the default.
EXPIRIES = (("30d", "30 days"), ("7d", "7 days"), ("13w", "90 days"), ("52w", "one year"), (NEVER, "never"))


async def _page(
    request: web.Request, *, form: dict[str, Any] | None = None, error: str | None = None, status: int = 200,
) -> web.Response:
    who = require_signed_in(request)
    using = services(request)

    async def fetch(start: str, count: int) -> list[AppToken]:
        return await tokens.list_tokens(using, who.actor, who.user.name, start, count)

    listed, next_after = await page_of(fetch, lambda t: t.name, after(request), page_size(request, PAGE_SIZE))
    context = {
        "title": "Application tokens", "nav": "tokens", "tokens": listed, "next": next_link(request, "after", next_after),
        "actions": tokens.ACTIONS, "no_password": signs_in_with_provider(who.user),
        "expiries": EXPIRIES, "flash": flash(request), "error": error,
        "form": form or {"name": "", "namespaces": "", "actions": list(tokens.DEFAULT_ACTIONS), "expires": EXPIRIES[0][0]},
    }
    return render(request, "manage_tokens.html", context, status=status)


async def tokens_page(request: web.Request) -> web.Response:
    return await _page(request)


async def create(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    form = await request.post()
    name, namespaces, expires = text(form, "name"), text(form, "namespaces"), text(form, "expires")
    actions = checked(form, "actions")
    try:
        created = await tokens.create_token(
            services(request), who.actor, who.user.name, name,
            namespaces=namespaces.replace(",", " ").split(), actions=actions,
            expires=None if expires == NEVER else expires,
        )
    except (Invalid, Conflict) as exc:
        kept = {"name": name, "namespaces": namespaces, "actions": actions, "expires": expires}
        return await _page(request, form=kept, error=exc.message, status=status_of(exc))
    context = {"title": "Token created", "nav": "tokens", "token": created.record, "secret": created.secret}
    return render(request, "manage_token_created.html", context)


async def revoke(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name = request.match_info["name"]
    await tokens.revoke_token(services(request), who.actor, who.user.name, name)
    raise done(request, TOKENS_PATH, f"Token {name} revoked.")
