"""Which proxied exchanges are events, and what they say: one pure function over the request
the client sent and the answer the registry gave."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway import safe_json
from gateway.auth.scopes import is_valid_digest
from gateway.events.image_facts import ImageFacts, image_facts
from gateway.events.model import Event, RequestInfo, Target, new_event_id
from gateway.registry.routes import Route

MANIFEST_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True)
class Exchange:
    """What the recorder needs to know about one proxied request and its upstream answer."""

    route: Route
    method: str
    query: Mapping[str, str]  # the forwarded query as the registry read it (gateway/registry/go_form.py)
    status: int
    request_headers: Mapping[str, str]
    response_headers: Mapping[str, str]
    remote: str
    origin: str
    subject: str
    app_token: str
    manifest: bytes | None = None
    request_id: str = ""  # the gateway's own, as its access log and X-Request-Id answer give it
    blobs: Mapping[str, int] | None = None  # a pushed manifest's blobs, sized before the registry took it


@dataclass(frozen=True)
class ManifestFacts:
    """The parts of a pushed manifest the index (and the referrers API) keeps."""

    media_type: str
    artifact_type: str | None
    subject: str | None
    annotations: dict[str, str] | None
    image: ImageFacts


def manifest_facts(body: bytes, content_type: str) -> ManifestFacts:
    try:
        document: Any = safe_json.loads(body)
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    media_type = content_type or str(document.get("mediaType") or "")
    subject = document.get("subject")
    subject_digest = subject.get("digest") if isinstance(subject, dict) else None
    artifact_type = document.get("artifactType")
    if not isinstance(artifact_type, str):
        config = document.get("config")
        artifact_type = config.get("mediaType") if isinstance(config, dict) and isinstance(config.get("mediaType"), str) else None
    annotations = document.get("annotations")
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        annotations = None
    return ManifestFacts(
        media_type=media_type, artifact_type=artifact_type,
        subject=subject_digest if isinstance(subject_digest, str) and is_valid_digest(subject_digest) else None,
        annotations=annotations, image=image_facts(document),
    )


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def is_mount(query: Mapping[str, str], created: str) -> bool:
    """Whether a 201 to an upload POST with this query (as the registry read it) is a mount, the
    registry having answered with the digest `created`. Registry 2.8 mounts whenever `mount` and
    `from` are both set; a later registry that takes a `digest` completes a monolithic upload of
    that digest instead (only the answer's digest tells which when both are given)."""
    mounted, source, uploaded = query.get("mount", ""), query.get("from", ""), query.get("digest", "")
    return bool(mounted and source) and (not uploaded or not created or created == mounted)


def event_for(
    exchange: Exchange, now: float | None = None, *, source_addr: str = "", instance_id: str = ""
) -> Event | None:
    """The event this exchange is, or None: push (manifest PUT 201), pull (manifest GET 200),
    mount (blob mount 201) and delete (manifest or blob DELETE 202)."""
    route, method, status = exchange.route, exchange.method, exchange.status
    headers = exchange.response_headers
    digest = headers.get("Docker-Content-Digest", "")
    target: Target | None = None
    action = ""
    if route.kind == "manifest":
        tag = "" if is_valid_digest(route.reference) else route.reference
        digest = digest or (route.reference if not tag else "")
        url = f"{exchange.origin}/v2/{route.name}/manifests/{digest}"
        if method == "PUT" and status == 201:
            action = "push"
            size = (
                len(exchange.manifest) if exchange.manifest is not None
                else _int(exchange.request_headers.get("Content-Length"))
            )
            target = Target(route.name, exchange.request_headers.get("Content-Type", ""), digest, size, url, tag)
        elif method == "GET" and status == 200:
            action = "pull"
            target = Target(route.name, headers.get("Content-Type", ""), digest, _int(headers.get("Content-Length")), url, tag)
        elif method == "DELETE" and status == 202:
            action = "delete"
            target = Target(route.name, "", route.reference if not tag else digest, 0, url, tag)
    elif route.kind == "blob" and method == "DELETE" and status == 202:
        action = "delete"
        target = Target(route.name, "", route.reference, 0, f"{exchange.origin}/v2/{route.name}/blobs/{route.reference}")
    elif route.kind == "upload" and method == "POST" and status == 201 and is_mount(exchange.query, digest):
        action = "mount"
        mounted = exchange.query["mount"]
        target = Target(
            route.name, "", digest or mounted, _int(headers.get("Content-Length")),
            f"{exchange.origin}/v2/{route.name}/blobs/{digest or mounted}", "", exchange.query["from"],
        )
    if target is None:
        return None
    request = RequestInfo(
        id=exchange.request_id or new_event_id(),
        addr=exchange.remote,
        host=exchange.request_headers.get("Host", ""),
        method=method,
        useragent=exchange.request_headers.get("User-Agent", "")[:512],
    )
    return Event(
        id=new_event_id(), timestamp=time.time() if now is None else now, action=action, target=target,
        request=request, actor=exchange.subject, app_token=exchange.app_token, source_addr=source_addr,
        instance_id=instance_id,
    )
