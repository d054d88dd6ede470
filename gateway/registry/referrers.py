"""GET /v2/NAME/referrers/DIGEST (OCI distribution 1.1) from the gateway's index of pushed
manifests' `subject`s: an image index, filtered by `artifactType`, never a 404."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gateway import keys
from gateway.registry.routes import Route
from gateway.store import ManifestRow

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
PAGE = 1000


def descriptor(row: ManifestRow) -> dict[str, Any]:
    found: dict[str, Any] = {"mediaType": row.media_type, "digest": row.digest, "size": row.size}
    if row.artifact_type:
        found["artifactType"] = row.artifact_type
    if row.annotations:
        found["annotations"] = row.annotations
    return found


def image_index(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": manifests}


async def referrers(request: web.Request, route: Route) -> web.Response:
    rows = await request.app[keys.STORE].referrers(route.name, route.reference)
    headers: dict[str, str] = {}
    artifact_type = request.query.get("artifactType")
    if artifact_type is not None:
        rows = [r for r in rows if r.artifact_type == artifact_type]
        headers["OCI-Filters-Applied"] = "artifactType"
    last = request.query.get("last", "")
    if last:
        rows = [r for r in rows if r.digest > last]
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        query = {"last": rows[-1].digest, **({"artifactType": artifact_type} if artifact_type is not None else {})}
        headers["Link"] = f'</v2/{route.name}/referrers/{route.reference}?{urlencode(query)}>; rel="next"'
    # Exactly the media type, no charset: clients (and the OCI conformance suite) compare it whole.
    body = json.dumps(image_index([descriptor(r) for r in rows])).encode()
    return web.Response(body=body, content_type=INDEX_MEDIA_TYPE, headers=headers)
