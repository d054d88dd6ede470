"""/webhooks: notification endpoints (admins). Those named in the settings are shown but are
changed in the settings, not here. Failed deliveries are listed and can be sent again."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from gateway import keys, names
from gateway.api.caller import authenticate, require_admin
from gateway.api.errors import bad_request, conflict, not_found
from gateway.api.inputs import Body, json_object
from gateway.api.names import checked
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, no_content
from gateway.events.hook_headers import headers_problem
from gateway.events.model import ACTIONS
from gateway.events.targets import redacted_url
from gateway.store import Conflict, Webhook

_FIELDS = ("url", "secret", "headers", "actions", "repository_pattern")


def webhook_json(hook: Webhook) -> dict[str, Any]:
    """Never the secret nor a password in the URL; header names only (their values may be credentials)."""
    return {
        "name": hook.name, "url": redacted_url(hook.url), "headers": sorted(hook.headers), "actions": list(hook.actions),
        "repository_pattern": hook.repository_pattern, "source": hook.source, "delivered_up_to": hook.cursor_seq,
    }


def _check_name(name: str) -> str:
    return checked(names.WEBHOOK, name)


def _fields(body: Body, current: Webhook | None, allow_private: bool) -> dict[str, Any]:
    url = body.text("url", required=current is None, max_length=names.WEBHOOK_URL_MAX_LENGTH)
    if url is not None and (problem := names.webhook_url_problem(url, allow_private)) is not None:
        raise bad_request(problem)
    secret = body.text("secret", required=current is None, max_length=255)
    if secret is not None and (problem := names.webhook_secret_problem(secret)) is not None:
        raise bad_request(problem)
    headers = body.text_map("headers")
    if headers is not None and (problem := headers_problem(headers)) is not None:
        raise bad_request(problem)
    actions = body.texts("actions", choices=ACTIONS)
    pattern = body.text("repository_pattern", max_length=255)
    return {
        "url": url if url is not None else current.url if current else "",
        "secret": secret if secret is not None else current.secret if current else "",
        "headers": headers if headers is not None else current.headers if current else {},
        "actions": tuple(actions) if actions is not None else current.actions if current else (),
        "repository_pattern": pattern if pattern is not None else current.repository_pattern if current else "",
    }


def _allow_private(request: web.Request) -> bool:
    return request.config_dict[keys.SETTINGS].webhooks_allow_private_targets


async def _existing(request: web.Request) -> Webhook:
    name = _check_name(request.match_info["webhook"])
    hook = await request.config_dict[keys.STORE].get_webhook(name)
    if hook is None:
        raise not_found(f"no such webhook {name!r}")
    return hook


def _editable(hook: Webhook) -> None:
    if hook.source == "config":
        raise conflict(f"webhook {hook.name!r} is configured in the settings; change it there")


async def list_webhooks(request: web.Request) -> web.Response:
    require_admin(await authenticate(request), "list webhooks")
    page = page_request(request)
    hooks, next_name = await collect(request.config_dict[keys.STORE].list_webhooks, lambda h: h.name, page)
    return json_response(page_body([webhook_json(h) for h in hooks], next_name))


async def create_webhook(request: web.Request) -> web.Response:
    require_admin(await authenticate(request), "create webhooks")
    body = Body(await json_object(request), ("name", *_FIELDS))
    name = _check_name(body.required_text("name", max_length=64))
    store = request.config_dict[keys.STORE]
    fields = _fields(body, None, _allow_private(request))
    hook = Webhook(name=name, source="api", cursor_seq=await store.max_event_seq(), **fields)
    try:
        await store.add_webhook(hook, int(time.time()))
    except Conflict:
        raise conflict(f"webhook {name!r} already exists") from None
    return json_response(webhook_json(hook), 201)


async def get_webhook(request: web.Request) -> web.Response:
    require_admin(await authenticate(request), "read webhooks")
    return json_response(webhook_json(await _existing(request)))


async def update_webhook(request: web.Request) -> web.Response:
    require_admin(await authenticate(request), "change webhooks")
    current = await _existing(request)
    _editable(current)
    body = Body(await json_object(request), _FIELDS)
    fields = _fields(body, current, _allow_private(request))
    hook = Webhook(name=current.name, source=current.source, cursor_seq=current.cursor_seq, **fields)
    await request.config_dict[keys.STORE].update_webhook(hook)
    return json_response(webhook_json(hook))


async def delete_webhook(request: web.Request) -> web.Response:
    require_admin(await authenticate(request), "delete webhooks")
    hook = await _existing(request)
    _editable(hook)
    await request.config_dict[keys.STORE].delete_webhook(hook.name)
    return no_content()


async def list_failures(request: web.Request) -> web.Response:
    require_admin(await authenticate(request), "read webhook failures")
    hook = await _existing(request)
    failures = await request.config_dict[keys.STORE].webhook_failures(hook.name)
    items = [
        {"event_seq": f.event_seq, "state": f.state, "attempts": f.attempts, "last_error": f.last_error, "updated_at": f.updated_at}
        for f in failures
    ]
    return json_response({"items": items, "next": None})


async def redeliver(request: web.Request) -> web.Response:
    require_admin(await authenticate(request), "redeliver webhook events")
    hook = await _existing(request)
    count = await request.config_dict[keys.STORE].requeue_failures(hook.name, int(time.time()))
    return json_response({"requeued": count}, 202)
