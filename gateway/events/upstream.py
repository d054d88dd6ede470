"""POST /v2/webhooks/events: notifications from an upstream registry (the path Portus used),
for registries that are also written to directly. Recorded in the same log and index."""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from gateway import keys
from gateway.events.model import ACTIONS, Event, RequestInfo, Target
from gateway.store import StoreError

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024


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
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


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
    return Event(
        id=_str(item, "id"),
        timestamp=moment,
        action=item["action"],
        target=Target(
            repository=_str(target, "repository"), media_type=_str(target, "mediaType"), digest=_str(target, "digest"),
            size=size if isinstance(size, int) else 0, url=_str(target, "url"), tag=_str(target, "tag"),
            from_repository=_str(target, "fromRepository"),
        ),
        request=RequestInfo(_str(request, "id"), _str(request, "addr"), _str(request, "host"), _str(request, "method"), _str(request, "useragent")),
        actor=_str(item.get("actor"), "name"),
        app_token="",
        source_addr=_str(source, "addr"),
        instance_id=_str(source, "instanceID") or "upstream",
    )


async def receive_upstream_events(request: web.Request) -> web.Response:
    if not _authorized(request):
        log.info("upstream notification refused from %s: missing or wrong shared secret", request.remote)
        return web.json_response({"error": {"code": "UNAUTHORIZED", "message": "missing or wrong shared secret"}}, status=401)
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.json_response({"error": {"code": "TOO_LARGE", "message": "notification too large"}}, status=413)
    try:
        document = json.loads(await request.content.read(MAX_BODY + 1))
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"error": {"code": "BAD_REQUEST", "message": "body is not JSON"}}, status=400)
    items = document.get("events") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return web.json_response({"error": {"code": "BAD_REQUEST", "message": "expected {\"events\": [...]}"}}, status=400)
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
