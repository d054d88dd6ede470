"""/events: the audit log (who sees what: gateway/services/events.py). Newest first, filtered
by repository, action, actor and time (RFC 3339), paged by `after` (the `next` of a page, or an
event's `cursor`). Admins' events carry their `seq` too and their `next` is a number; others get
opaque cursors only (gateway/services/event_cursors.py)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from gateway import keys
from gateway.api.caller import authenticate, services
from gateway.api.errors import bad_request
from gateway.api.paging import page_body, page_request
from gateway.api.render import json_response
from gateway.auth.permissions import Actor
from gateway.services import events
from gateway.services.event_cursors import EventCursors
from gateway.services.events import EventQuery


def _moment_ms(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)  # Python 3.11 reads a trailing Z
    except ValueError:
        raise bad_request(f"{name} must be an RFC 3339 time such as 2026-11-26T10:00:00Z") from None
    if moment.tzinfo is None:
        raise bad_request(f"{name} needs a time zone (e.g. a trailing Z)")
    return int(moment.timestamp() * 1000)


async def list_events(request: web.Request) -> web.Response:
    identity = (await authenticate(request)).identity
    page, query = page_request(request), request.query
    cursors = EventCursors(request.config_dict[keys.SEALER])
    asked = EventQuery(
        repository=query.get("repository"), action=query.get("action"), actor=query.get("actor"),
        since_ms=_moment_ms(request, "since"), until_ms=_moment_ms(request, "until"),
        before_seq=cursors.start(identity, page.after), limit=page.limit,
    )
    found = await events.list_events(services(request), identity, asked)
    numbered = Actor.of(identity).admin
    items = [
        {**event.body, **({"seq": event.seq} if numbered else {}), "cursor": cursors.seal(identity, event.seq)}
        for event in found.items
    ]
    return json_response(page_body(items, None if found.next is None else cursors.next_of(identity, found.next)))
