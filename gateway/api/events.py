"""/events: the audit log. Admins see everything; others only events of repositories they may
pull, and of those neither a mount's source repository they may not pull, nor another user's
address, user agent or application token name, nor the gateway's own address. Newest first,
filtered by repository, action, actor and time, paged by `after`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from gateway import keys, names
from gateway.api.caller import Caller, authenticate
from gateway.api.errors import bad_request
from gateway.api.names import checked
from gateway.api.paging import page_body, page_request
from gateway.api.render import json_response
from gateway.auth.namespaces import PullFilter
from gateway.events.model import ACTIONS

_BATCH = 200


def _moment_ms(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{name} must be an RFC 3339 time such as 2026-11-26T10:00:00Z") from None
    if moment.tzinfo is None:
        raise bad_request(f"{name} needs a time zone (e.g. a trailing Z)")
    return int(moment.timestamp() * 1000)


def _cursor(text: str) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise bad_request("after must be the `next` of a previous page")
    return int(text)


async def _as_seen_by(body: dict[str, Any], caller: Caller, visible: PullFilter) -> dict[str, Any]:
    """An event as a non-admin sees it (see the module docstring); the envelope's shape is kept."""
    target = dict(body.get("target") or {})
    source_repository = target.get("fromRepository")
    if isinstance(source_repository, str) and not await visible.allows(source_repository):
        del target["fromRepository"]
    requested = dict(body.get("request") or {})
    actor = dict(body.get("actor") or {})
    if actor.get("name") != caller.name:
        requested.update(addr="", useragent="")
        actor.pop("applicationToken", None)
    source = {**(body.get("source") or {}), "addr": ""}
    return {**body, "target": target, "request": requested, "actor": actor, "source": source}


async def list_events(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    page = page_request(request)
    query = request.query
    repository = checked(names.REPOSITORY, query["repository"]) if "repository" in query else None
    actor = checked(names.USER, query["actor"]) if "actor" in query else None
    action = query.get("action")
    if action is not None and action not in ACTIONS:
        raise bad_request(f"action must be one of {', '.join(ACTIONS)}")
    since, until = _moment_ms(request, "since"), _moment_ms(request, "until")
    store = request.config_dict[keys.STORE]
    visible = None if caller.admin else PullFilter(store, caller.identity, request.config_dict[keys.POLICY_RULES])
    found: list[dict[str, object]] = []
    cursor = _cursor(page.after)
    more = False
    while not more:
        rows = await store.list_events(
            repository=repository, action=action, actor=actor, since_ms=since, until_ms=until,
            before_seq=cursor, limit=max(_BATCH, page.limit + 1),
        )
        if not rows:
            break
        for row in rows:
            if visible is None or await visible.allows(row.repository):
                if len(found) == page.limit:
                    more = True
                    break
                shown = row.body if visible is None else await _as_seen_by(row.body, caller, visible)
                found.append({**shown, "seq": row.seq})
                cursor = row.seq
        if not more and len(rows) < max(_BATCH, page.limit + 1):
            break
        if not more:
            cursor = rows[-1].seq
    next_key = str(found[-1]["seq"]) if more and found else None
    return json_response(page_body(found, next_key))
