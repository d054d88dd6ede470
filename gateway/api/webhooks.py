"""/webhooks: notification endpoints (admins). Those named in the settings are shown but are
changed in the settings, not here. Failed deliveries are listed and can be sent again; so can
one of the recent deliveries (successes and failures, newest first)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.caller import authenticate, services
from gateway.api.errors import bad_request
from gateway.api.inputs import Body, json_object
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, no_content, time_text
from gateway.events.targets import redacted_url
from gateway.services import webhooks
from gateway.services.webhooks import WebhookChanges
from gateway.store import Webhook, WebhookDelivery

_FIELDS = ("url", "secret", "headers", "actions", "repository_pattern")


def webhook_json(hook: Webhook) -> dict[str, Any]:
    """Never the secret nor a password in the URL; header names only (their values may be credentials)."""
    return {
        "name": hook.name, "url": redacted_url(hook.url), "headers": sorted(hook.headers), "actions": list(hook.actions),
        "repository_pattern": hook.repository_pattern, "source": hook.source, "delivered_up_to": hook.cursor_seq,
        "disabled": hook.disabled_reason,
    }


def _changes(body: Body) -> WebhookChanges:
    actions = body.texts("actions")
    return WebhookChanges(
        url=body.text("url"), secret=body.text("secret"), headers=body.text_map("headers"),
        actions=tuple(actions) if actions is not None else None, repository_pattern=body.text("repository_pattern"),
    )


def _after(text: str) -> int | None:
    """`?after=` of a webhook's lists (admins only, so numbered): an event or a delivery."""
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise bad_request("after must be the `next` of a previous page")
    return int(text)


def _name(request: web.Request) -> str:
    return request.match_info["webhook"]


async def list_webhooks(request: web.Request) -> web.Response:
    actor, page = (await authenticate(request)).actor, page_request(request)

    async def fetch(after: str, limit: int) -> list[Webhook]:
        return await webhooks.list_webhooks(services(request), actor, after, limit)

    hooks, next_name = await collect(fetch, lambda h: h.name, page)
    return json_response(page_body([webhook_json(h) for h in hooks], next_name))


async def create_webhook(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    body = Body(await json_object(request), ("name", *_FIELDS))
    name = body.required_text("name")
    hook = await webhooks.create_webhook(services(request), actor, name, _changes(body))
    return json_response(webhook_json(hook), 201)


async def get_webhook(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    return json_response(webhook_json(await webhooks.get_webhook(services(request), actor, _name(request))))


async def update_webhook(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    changes = _changes(Body(await json_object(request), _FIELDS))
    return json_response(webhook_json(await webhooks.update_webhook(services(request), actor, _name(request), changes)))


async def delete_webhook(request: web.Request) -> web.Response:
    await webhooks.delete_webhook(services(request), (await authenticate(request)).actor, _name(request))
    return no_content()


async def list_failures(request: web.Request) -> web.Response:
    """Paged by event: `next` is the last event's sequence number when more follow."""
    actor, page = (await authenticate(request)).actor, page_request(request)
    found = await webhooks.list_failures(services(request), actor, _name(request), _after(page.after) or 0, page.limit + 1)
    failures = found[: page.limit]
    items = [
        {
            "event_seq": f.event_seq, "state": f.state, "attempts": f.attempts, "last_error": f.last_error,
            "updated_at": f.updated_at,
        }
        for f in failures
    ]
    return json_response(page_body(items, str(failures[-1].event_seq) if len(found) > page.limit else None))


async def redeliver(request: web.Request) -> web.Response:
    count = await webhooks.redeliver(services(request), (await authenticate(request)).actor, _name(request))
    return json_response({"requeued": count}, 202)


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id, "event_seqs": list(delivery.seqs), "status_code": delivery.status_code, "error": delivery.error,
        "attempts": delivery.attempts, "redelivery": delivery.redelivery, "delivered_at": time_text(delivery.delivered_at),
    }


async def list_deliveries(request: web.Request) -> web.Response:
    """Newest first, paged by delivery: `next` is the last delivery's id when older ones follow."""
    actor, page = (await authenticate(request)).actor, page_request(request)
    found = await webhooks.list_deliveries(services(request), actor, _name(request), _after(page.after), page.limit + 1)
    shown = found[: page.limit]
    return json_response(page_body([delivery_json(d) for d in shown], str(shown[-1].id) if len(found) > page.limit else None))


async def redeliver_one(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    text = request.match_info["delivery"]
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise bad_request("the delivery must be the id of one of the webhook's recent deliveries")
    count = await webhooks.redeliver_one(services(request), actor, _name(request), int(text))
    return json_response({"requeued": count}, 202)
