"""The distribution notification envelope, so existing registry-notification consumers work as-is.

Pure data and JSON shaping; no I/O.
"""

from __future__ import annotations

import datetime
import functools
import math
import uuid
from dataclasses import dataclass
from typing import Any

ENVELOPE_MEDIA_TYPE = "application/vnd.docker.distribution.events.v2+json"
ACTIONS = ("push", "pull", "mount", "delete")
# The action of an audit entry imported from Portus's activity log that is no registry action
# (a team or namespace change, ...); its body's `portus` member says what it was.
IMPORTED_ACTION = "portus"
LOGGED_ACTIONS = (*ACTIONS, IMPORTED_ACTION)  # what the audit log may hold, and be filtered by


@dataclass(frozen=True)
class Target:
    repository: str
    media_type: str = ""
    digest: str = ""
    size: int = 0
    url: str = ""
    tag: str = ""
    from_repository: str = ""


@dataclass(frozen=True)
class RequestInfo:
    id: str
    addr: str
    host: str
    method: str
    useragent: str


@dataclass(frozen=True)
class Event:
    id: str
    timestamp: float
    action: str
    target: Target
    request: RequestInfo
    actor: str
    app_token: str
    source_addr: str
    instance_id: str


def new_event_id() -> str:
    return str(uuid.uuid4())


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return datetime.datetime.fromtimestamp(second, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def rfc3339_nano(moment: float) -> str:
    """UTC with microseconds, as `datetime.isoformat` gives it (and rounded as `fromtimestamp`
    rounds), from the second's text made once: every pull event carries one."""
    fraction, whole = math.modf(moment)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    elif micro < 0:
        whole, micro = whole - 1, micro + 1_000_000
    return f"{_utc_second(int(whole))}.{micro:06d}Z"


def event_json(event: Event) -> dict[str, Any]:
    """One event in the shape distribution's notifications use."""
    target: dict[str, Any] = {
        "mediaType": event.target.media_type,
        "digest": event.target.digest,
        "size": event.target.size,
        "length": event.target.size,
        "repository": event.target.repository,
        "url": event.target.url,
    }
    if event.target.tag:
        target["tag"] = event.target.tag
    if event.target.from_repository:
        target["fromRepository"] = event.target.from_repository
    actor: dict[str, Any] = {"name": event.actor}
    if event.app_token:
        actor["applicationToken"] = event.app_token
    return {
        "id": event.id,
        "timestamp": rfc3339_nano(event.timestamp),
        "action": event.action,
        "target": target,
        "request": {
            "id": event.request.id,
            "addr": event.request.addr,
            "host": event.request.host,
            "method": event.request.method,
            "useragent": event.request.useragent,
        },
        "actor": actor,
        "source": {"addr": event.source_addr, "instanceID": event.instance_id},
    }


def envelope_bytes(joined_bodies: str) -> bytes:
    """The envelope `{"events": [...]}` as compact JSON, built from events already stored as
    compact JSON and joined with commas (so a delivery neither parses nor re-encodes them)."""
    return ('{"events":[' + joined_bodies + "]}").encode("utf-8")
