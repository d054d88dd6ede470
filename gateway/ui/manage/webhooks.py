"""Admins' webhook pages: the webhooks (paged), and one webhook's failed deliveries with a
button to queue them again. Creating and editing stay with the API and the settings."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from gateway.services import webhooks
from gateway.ui.context import services
from gateway.ui.manage.common import PAGE_SIZE, after, done, flash
from gateway.ui.pages import render, require_signed_in
from gateway.ui.sessions import UI_PATH

WEBHOOKS_PATH = f"{UI_PATH}/webhooks"


def webhook_path(name: str) -> str:
    return f"{WEBHOOKS_PATH}/{URL.build(path=name).raw_path}"


async def webhooks_page(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    listed = await webhooks.list_webhooks(services(request), who.actor, after(request), PAGE_SIZE + 1)
    context = {
        "title": "Webhooks", "nav": "webhooks", "webhooks": listed[:PAGE_SIZE],
        "next_after": listed[PAGE_SIZE - 1].name if len(listed) > PAGE_SIZE else None,
    }
    return render(request, "manage_webhooks.html", context)


async def webhook_page(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name, found = request.match_info["name"], services(request)
    hook = await webhooks.get_webhook(found, who.actor, name)
    failures = await webhooks.list_failures(found, who.actor, name)
    context = {
        "title": f"Webhook {name}", "nav": "webhooks", "hook": hook, "failures": failures,
        "flash": flash(request), "error": None, "hook_path": webhook_path(name),
    }
    return render(request, "manage_webhook.html", context)


async def redeliver(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name = request.match_info["name"]
    count = await webhooks.redeliver(services(request), who.actor, name)
    raise done(webhook_path(name), f"{count} failed {'delivery' if count == 1 else 'deliveries'} queued again.")
