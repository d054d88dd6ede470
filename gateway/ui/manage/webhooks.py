"""Admins' webhook pages: the webhooks (paged) with the form to add one, one webhook with its
edit form, its recent deliveries (successes and failures, newest first, paged) each with a button
to send it again, its failed deliveries (paged by event) and a button to queue them again, and
deleting it after a confirmation. Every rule is the webhooks service's (the same messages as /api/v1); webhooks from
the settings are shown read-only. No page shows a secret, a URL's password or a header's value."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from yarl import URL

from gateway.events.model import ACTIONS
from gateway.events.targets import redact, redacted_url
from gateway.services import webhooks
from gateway.services.errors import Conflict, Invalid
from gateway.services.webhooks import WebhookChanges
from gateway.store import Webhook, WebhookDelivery
from gateway.ui.browse_view import next_link, page_size
from gateway.ui.context import services
from gateway.ui.errors import status_of
from gateway.ui.manage.common import PAGE_SIZE, after, done, flash
from gateway.ui.manage.webhook_form import WebhookForm, parse_headers, shown_url
from gateway.ui.pages import render, require_signed_in
from gateway.ui.sessions import UI_PATH

WEBHOOKS_PATH = f"{UI_PATH}/webhooks"
FAILURES_AFTER = "failures_after"
DELIVERIES_BEFORE = "deliveries_before"
DELIVERIES_PAGE = 10


def webhook_path(name: str) -> str:
    return f"{WEBHOOKS_PATH}/{URL.build(path=name).raw_path}"


def _shown(hook: Webhook) -> dict[str, Any]:
    """What the pages show of a webhook."""
    return {
        "name": hook.name, "url": redacted_url(hook.url), "actions": hook.actions, "headers": sorted(hook.headers),
        "repository_pattern": hook.repository_pattern, "source": hook.source, "editable": hook.source != "config",
        "delivered_up_to": hook.cursor_seq, "disabled": hook.disabled_reason,
    }


def _message(error: Invalid | Conflict, url: str) -> str:
    return redact(error.message, url) if url else error.message


async def _list_page(
    request: web.Request, *, form: WebhookForm | None = None, error: str | None = None, status: int = 200,
) -> web.Response:
    who = require_signed_in(request)
    listed = await webhooks.list_webhooks(services(request), who.actor, after(request), PAGE_SIZE + 1)
    context = {
        "title": "Webhooks", "nav": "webhooks", "webhooks": [_shown(h) for h in listed[:PAGE_SIZE]],
        "next_after": listed[PAGE_SIZE - 1].name if len(listed) > PAGE_SIZE else None,
        "flash": flash(request), "error": error, "actions": ACTIONS, "form": form or WebhookForm(),
    }
    return render(request, "manage_webhooks.html", context, status=status)


async def webhooks_page(request: web.Request) -> web.Response:
    return await _list_page(request)


async def create(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    form = WebhookForm.posted(await request.post())
    try:
        changes = WebhookChanges(
            url=form.url, secret=form.secret, headers=parse_headers(form.headers),
            actions=tuple(form.actions), repository_pattern=form.repository_pattern,
        )
        await webhooks.create_webhook(services(request), who.actor, form.name, changes)
    except (Invalid, Conflict) as exc:
        return await _list_page(request, form=form.kept(), error=_message(exc, form.url), status=status_of(exc))
    raise done(request, webhook_path(form.name), f"Webhook {form.name} added.")


def _number(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Invalid(f"{what} is not a number")
    return int(text)


def _failures_after(request: web.Request) -> int:
    """Where a page of failed deliveries starts: after this event's sequence number."""
    text = request.query.get(FAILURES_AFTER, "")
    return _number(text, "the page of failed deliveries to start from") if text else 0


def _deliveries_before(request: web.Request) -> int | None:
    """Where a page of recent deliveries starts: before this delivery (None: the newest)."""
    text = request.query.get(DELIVERIES_BEFORE, "")
    return _number(text, "the page of deliveries to start from") if text else None


def _delivery_shown(delivery: WebhookDelivery) -> dict[str, Any]:
    seqs = delivery.seqs
    return {
        "id": delivery.id, "events": len(seqs), "first": seqs[0] if seqs else None, "last": seqs[-1] if seqs else None,
        "ok": delivery.succeeded, "status_code": delivery.status_code, "error": delivery.error,
        "attempts": delivery.attempts, "redelivery": delivery.redelivery, "at": delivery.delivered_at,
    }


async def _hook_page(
    request: web.Request, *, form: WebhookForm | None = None, error: str | None = None, status: int = 200,
) -> web.Response:
    who = require_signed_in(request)
    name, found = request.match_info["name"], services(request)
    hook = await webhooks.get_webhook(found, who.actor, name)
    limit = page_size(request, PAGE_SIZE)
    failures = await webhooks.list_failures(found, who.actor, name, _failures_after(request), limit + 1)
    more = failures[limit - 1].event_seq if len(failures) > limit else None
    deliveries = await webhooks.list_deliveries(found, who.actor, name, _deliveries_before(request), DELIVERIES_PAGE + 1)
    older = deliveries[DELIVERIES_PAGE - 1].id if len(deliveries) > DELIVERIES_PAGE else None
    current = WebhookForm(url=shown_url(hook.url), actions=list(hook.actions), repository_pattern=hook.repository_pattern)
    context = {
        "title": f"Webhook {name}", "nav": "webhooks", "hook": _shown(hook), "failures": failures[:limit],
        "failures_next": next_link(request, FAILURES_AFTER, None if more is None else str(more)),
        "deliveries": [_delivery_shown(d) for d in deliveries[:DELIVERIES_PAGE]],
        "kept_deliveries": webhooks.KEPT_DELIVERIES,
        "deliveries_next": next_link(request, DELIVERIES_BEFORE, None if older is None else str(older)),
        "flash": flash(request), "error": error, "hook_path": webhook_path(name), "actions": ACTIONS,
        "form": form or current,
    }
    return render(request, "manage_webhook.html", context, status=status)


async def webhook_page(request: web.Request) -> web.Response:
    return await _hook_page(request)


async def edit(request: web.Request) -> web.Response:
    """Blank URL, secret or headers leave them as they are (they are never shown back)."""
    who = require_signed_in(request)
    name, form = request.match_info["name"], WebhookForm.posted(await request.post())
    try:
        headers = parse_headers(form.headers) if form.headers or form.clear_headers else None
        changes = WebhookChanges(
            url=form.url or None, secret=form.secret or None, headers=headers,
            actions=tuple(form.actions), repository_pattern=form.repository_pattern,
        )
        await webhooks.update_webhook(services(request), who.actor, name, changes)
    except (Invalid, Conflict) as exc:
        return await _hook_page(request, form=form.kept(), error=_message(exc, form.url), status=status_of(exc))
    raise done(request, webhook_path(name), f"Webhook {name} changed.")


async def confirm_delete(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    hook = await webhooks.get_webhook(services(request), who.actor, request.match_info["name"])
    context = {
        "title": f"Delete webhook {hook.name}", "nav": "webhooks", "hook": _shown(hook), "hook_path": webhook_path(hook.name),
    }
    return render(request, "manage_webhook_delete.html", context)


async def delete(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name = request.match_info["name"]
    await webhooks.delete_webhook(services(request), who.actor, name)
    raise done(request, WEBHOOKS_PATH, f"Webhook {name} deleted.")


async def redeliver(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name = request.match_info["name"]
    count = await webhooks.redeliver(services(request), who.actor, name)
    raise done(request, webhook_path(name), f"{count} failed {'delivery' if count == 1 else 'deliveries'} queued again.")


async def redeliver_one(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name = request.match_info["name"]
    delivery = _number(request.match_info["delivery"], "the delivery")
    count = await webhooks.redeliver_one(services(request), who.actor, name, delivery)
    events = "event" if count == 1 else "events"
    raise done(request, webhook_path(name), f"The {count} {events} of delivery {delivery} queued again.")
