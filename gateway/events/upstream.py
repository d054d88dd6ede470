"""POST /v2/webhooks/events: notifications from an upstream registry (the path Portus used),
for registries that are also written to directly. Recorded in the same log and index."""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from gateway import keys, safe_json
from gateway.bodies import read_limited
from gateway.events.model import ACTIONS, Event, RequestInfo, Target, event_json
from gateway.store import StoreError

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
_MAX_SIZE = 2**63 - 1  # a BIGINT
_LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z


def _authorized(request: web.Request) -> bool:
    secret = request.app[keys.SETTINGS].events_upstream_secret
    if not secret:
        return False
    presented = request.headers.get("Authorization", "")
    scheme, _, value = presented.partition(" ")
    if scheme.lower() not in ("bearer", "token"):
        return False
    return hmac.compare_digest(value.strip().encode(), secret.encode())


def _timestamp(text: Any) -> float | None:
    """Seconds since the epoch; None unless it falls between 1970 and 9999 in UTC (an offset can
    carry year 1 or 9999 out of what the event's own timestamp text can show)."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
    return moment if 0 <= moment < _LAST_SECOND else None


def _str(mapping: Any, key: str) -> str:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else ""


def parse_upstream_event(item: Any) -> Event | None:
    """A distribution notification event as our Event; None when it is not one we keep."""
    if not isinstance(item, dict) or item.get("action") not in ACTIONS:
        return None
    target, request, source = item.get("target"), item.get("request"), item.get("source")
    moment = _timestamp(item.get("timestamp"))
    if not _str(item, "id") or not isinstance(target, dict) or not _str(target, "repository") or moment is None:
        return None
    size = target.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_SIZE:
        return None
    event = Event(
        id=_str(item, "id"),
        timestamp=moment,
        action=item["action"],
        target=Target(
            repository=_str(target, "repository"), media_type=_str(target, "mediaType"), digest=_str(target, "digest"),
            size=size, url=_str(target, "url"), tag=_str(target, "tag"),
            from_repository=_str(target, "fromRepository"),
        ),
        request=RequestInfo(
            _str(request, "id"), _str(request, "addr"), _str(request, "host"), _str(request, "method"), _str(request, "useragent")
        ),
        actor=_str(item.get("actor"), "name"),
        app_token="",
        source_addr=_str(source, "addr"),
        instance_id=_str(source, "instanceID") or "upstream",
    )
    return event if _storable(event) else None


def _storable(event: Event) -> bool:
    """Whether the store can take the event as it is: text within its columns' widths, and valid
    Unicode throughout (a `\\ud800` escape decodes to a lone surrogate, which no column takes)."""
    target = event.target
    columns = ((event.id, 64), (target.repository, 255), (target.tag, 128), (target.digest, 200), (event.actor, 64))
    if any(len(text) > width for text, width in columns):  # the widths in gateway/store/schema.py
        return False
    try:
        json.dumps(event_json(event), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def receive_upstream_events(request: web.Request) -> web.Response:
    if not _authorized(request):
        log.info("upstream notification refused from %s: missing or wrong shared secret", request.remote)
        return web.json_response({"error": {"code": "UNAUTHORIZED", "message": "missing or wrong shared secret"}}, status=401)
    body = await read_limited(request, MAX_BODY)
    if body is None:
        return web.json_response({"error": {"code": "TOO_LARGE", "message": "notification too large"}}, status=413)
    try:
        document = safe_json.loads(body)
    except safe_json.TooDeep:
        return web.json_response({"error": {"code": "BAD_REQUEST", "message": "body is JSON nested too deeply"}}, status=400)
    except ValueError:
        return web.json_response({"error": {"code": "BAD_REQUEST", "message": "body is not JSON"}}, status=400)
    items = document.get("events") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return web.json_response({"error": {"code": "BAD_REQUEST", "message": 'expected {"events": [...]}'}}, status=400)
    recorder = request.app[keys.EVENTS]
    recorded = skipped = 0
    try:
        for item in items:
            event = parse_upstream_event(item)
            if event is None:
                skipped += 1
            elif await recorder.write(event):
                recorded += 1
    except StoreError as exc:
        log.error("upstream notification not recorded: %s", exc)
        return web.json_response({"error": {"code": "UNAVAILABLE", "message": "event log unavailable"}}, status=503)
    return web.json_response({"recorded": recorded, "skipped": skipped, "duplicates": len(items) - recorded - skipped})
