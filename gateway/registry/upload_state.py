"""Chunked uploads to the letter of OCI 1.1, over a registry 2.8 that is not.

Registry 2.8 appends an out-of-order chunk without complaint, and cancels an upload whose
`_state` is stale (a repeated chunk sent to an old Location). So the gateway keeps each
upload's latest offset and upstream `_state` in the shared store (every instance sees the
same): an out-of-order or repeated chunk gets 416 with the current `Range`, the upstream
always receives the latest `_state`, and `GET` on an upload is answered 204 from the store.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote

import aiohttp
from aiohttp import web

from gateway import keys, safe_json
from gateway.public import public_origin
from gateway.registry.access import Access
from gateway.registry.errors import error_response
from gateway.registry.routes import Route
from gateway.registry.uploads import PARAM as UPLOAD_PARAM
from gateway.registry.uploads import add_param, split_query
from gateway.store import UploadState

_CONTENT_RANGE = re.compile(r"(?:bytes[ =])?(\d{1,19})-(\d{1,19})")  # offsets fit in 64 bits
_MAC_BYTES = 32


def offset_from_state(raw_state: str) -> int | None:
    """The offset inside distribution's `_state` token (base64url of a MAC and a JSON body)."""
    text = unquote(raw_state)
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        offset = safe_json.loads(decoded[_MAC_BYTES:]).get("Offset")
    except (binascii.Error, ValueError, AttributeError):
        return None
    return offset if isinstance(offset, int) and offset >= 0 else None


def range_header(offset: int) -> str:
    return f"0-{max(offset - 1, 0)}"


def upload_location(request: web.Request, route: Route, access: Access, state: UploadState) -> str:
    origin = public_origin(request, request.app[keys.SETTINGS])
    location = f"{origin}/v2/{route.name}/blobs/uploads/{state.id}?_state={state.state}"
    return add_param(location, request.app[keys.UPLOAD_BINDER].bind(route.name, state.id, access.subject))


def with_latest_state(raw_query: str, state: UploadState) -> str:
    """The client's query with its (possibly stale) `_state` replaced by the latest one."""
    rest, _ = split_query(raw_query, "_state")
    return f"_state={state.state}" + (f"&{rest}" if rest else "")


async def known_state(request: web.Request, route: Route) -> UploadState | None:
    if route.kind != "upload" or not route.reference:
        return None
    return await request.app[keys.STORE].get_upload(route.reference, route.name)


def status_response(request: web.Request, route: Route, access: Access, state: UploadState) -> web.Response:
    """GET on an upload: 204 with where it stands."""
    return web.Response(
        status=204,
        headers={
            "Range": range_header(state.offset),
            "Location": upload_location(request, route, access, state),
            "Docker-Upload-UUID": state.id,
        },
    )


def chunk_out_of_order(request: web.Request, route: Route, access: Access, state: UploadState) -> web.Response | None:
    """416 with the current Range when a PATCH's Content-Range does not start at the offset."""
    header = request.headers.get("Content-Range")
    if request.method != "PATCH" or header is None:
        return None
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if match is None:
        return error_response(
            "BLOB_UPLOAD_INVALID", "malformed Content-Range", status=416, headers=_where(request, route, access, state)
        )
    start, end = int(match.group(1)), int(match.group(2))
    if start == state.offset and end >= start:
        return None
    return error_response(
        "BLOB_UPLOAD_INVALID",
        f"chunk starts at {start} but the upload is at {state.offset}",
        status=416,
        headers=_where(request, route, access, state),
    )


def _where(request: web.Request, route: Route, access: Access, state: UploadState) -> dict[str, str]:
    return {
        "Range": range_header(state.offset),
        "Location": upload_location(request, route, access, state),
        "Docker-Upload-UUID": state.id,
    }


async def remember(request: web.Request, route: Route, upstream: aiohttp.ClientResponse) -> None:
    """After the upstream answered an upload request, keep (or drop) what it says."""
    store = request.app[keys.STORE]
    if upstream.status == 202 and request.method in ("POST", "PATCH"):
        location = upstream.headers.get("Location", "")
        upload_id = upstream.headers.get("Docker-Upload-UUID", "") or route.reference
        raw_query = location.split("?", 1)[1] if "?" in location else ""
        _, state = split_query(split_query(raw_query, UPLOAD_PARAM)[0], "_state")
        if upload_id and state:
            offset = offset_from_state(state)
            if offset is None:
                match = re.fullmatch(r"0-(\d+)", upstream.headers.get("Range", ""))
                offset = int(match.group(1)) + 1 if match and int(match.group(1)) > 0 else 0
            await store.save_upload(UploadState(upload_id, route.name, offset, state), new=request.method == "POST")
    elif route.reference and request.method in ("PUT", "DELETE") and upstream.status in (201, 204):
        await store.forget_upload(route.reference)
