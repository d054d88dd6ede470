"""The audit log page: events newest first with filters (repository, action, actor, from and
to dates in UTC), paged with the service's cursor; each user sees what gateway.services.events
shows them (admins everything, others only what they may pull). The "Older events" link of a
non-admin carries an opaque cursor, never an event number (gateway/services/event_cursors.py).
A non-admin's page may be short, or empty, and still have older events: the service reads a
bounded number of rows a request (MAX_ROWS_READ), so the page says so and links on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from yarl import URL

from gateway import keys
from gateway.auth.policy import Identity
from gateway.events.model import IMPORTED_ACTION, LOGGED_ACTIONS
from gateway.services.errors import Invalid
from gateway.services.event_cursors import EventCursors
from gateway.services.events import EventPage, EventQuery, list_events
from gateway.ui.context import services
from gateway.ui.manage.common import PAGE_SIZE
from gateway.ui.pages import render, require_signed_in
from gateway.ui.sessions import UI_PATH

AUDIT_PATH = f"{UI_PATH}/audit"
FILTERS = ("repository", "action", "actor", "since", "until")
MAX_LIMIT = 100
_MAX_BEFORE = 255  # a cursor is under 100 characters; longer text is cut and then fails to open
_DAY = timedelta(days=1)


def _day_ms(text: str, label: str, *, end: bool = False) -> int | None:
    """A date field (YYYY-MM-DD, UTC) as milliseconds: the day's first, or with `end` its last."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{label} must be a date like 2024-05-31") from None
    moment = datetime.combine(day + _DAY if end else day, time(), UTC)
    return int(moment.timestamp() * 1000) - (1 if end else 0)


def _number(text: str, what: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise Invalid(f"{what} is not a number")
    return int(text)


def _query(filters: dict[str, str], before_seq: int | None, limit: str) -> EventQuery:
    """`limit`: events a page (at most MAX_LIMIT, PAGE_SIZE when not given)."""
    return EventQuery(
        repository=filters["repository"] or None, action=filters["action"] or None, actor=filters["actor"] or None,
        since_ms=_day_ms(filters["since"], "from"), until_ms=_day_ms(filters["until"], "to", end=True),
        before_seq=before_seq,
        limit=min(_number(limit, "the page size") or PAGE_SIZE, MAX_LIMIT),
    )


def _rows(page: EventPage) -> list[dict[str, Any]]:
    """What the table shows of each event (as the service let the asker see it)."""
    rows = []
    for event in page.items:
        target, actor = event.body.get("target") or {}, event.body.get("actor") or {}
        action = str(event.body.get("action", ""))
        imported = event.body.get("portus")
        if action == IMPORTED_ACTION and isinstance(imported, dict):
            action = f"{action} {str(imported.get('key', ''))[:100]}"  # what it was in Portus: team.add_member, ...
        rows.append({
            "time": str(event.body.get("timestamp", ""))[:19].replace("T", " "), "action": action,
            "repository": target.get("repository", ""), "tag": target.get("tag", ""),
            "digest": str(target.get("digest", "")), "actor": actor.get("name", "") or "(anonymous)",
        })
    return rows


async def audit_page(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    filters = {name: request.query.get(name, "").strip()[:256] for name in FILTERS}
    cursors = EventCursors(request.config_dict[keys.SEALER])
    rows: list[dict[str, Any]] = []
    older, error, status = None, None, 200
    try:
        identity = Identity(who.user.name, admin=who.user.admin)
        before_seq = cursors.start(identity, request.query.get("before", "")[:_MAX_BEFORE])
        query = _query(filters, before_seq, request.query.get("limit", ""))
        page = await list_events(services(request), identity, query)
    except Invalid as exc:
        error, status = exc.message, 400
    else:
        rows = _rows(page)
        if page.next is not None:
            kept = {name: value for name, value in filters.items() if value}
            if "limit" in request.query:
                kept["limit"] = request.query["limit"]
            older = str(URL(AUDIT_PATH).with_query({**kept, "before": cursors.next_of(identity, page.next)}))
    context = {
        "title": "Audit log", "nav": "audit", "filters": filters, "actions": LOGGED_ACTIONS, "events": rows,
        "older": older, "flash": None, "error": error,
    }
    return render(request, "manage_audit.html", context, status=status)
