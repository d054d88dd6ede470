"""OCI error descriptors (code, message, HTTP status) and the one function that renders them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

API_VERSION_HEADER = "Docker-Distribution-Api-Version"
API_VERSION = "registry/2.0"


@dataclass(frozen=True)
class ErrorCode:
    code: str
    message: str
    status: int


_CODES = (
    ErrorCode("UNAUTHORIZED", "authentication required", 401),
    ErrorCode("DENIED", "requested access to the resource is denied", 403),
    ErrorCode("NAME_INVALID", "invalid repository name", 400),
    ErrorCode("NAME_UNKNOWN", "repository name not known to registry", 404),
    ErrorCode("MANIFEST_INVALID", "manifest invalid", 400),
    ErrorCode("MANIFEST_UNKNOWN", "manifest unknown", 404),
    ErrorCode("TAG_INVALID", "manifest tag did not match URI", 400),
    ErrorCode("DIGEST_INVALID", "provided digest did not match uploaded content", 400),
    ErrorCode("BLOB_UNKNOWN", "blob unknown to registry", 404),
    ErrorCode("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", 404),
    ErrorCode("BLOB_UPLOAD_INVALID", "blob upload invalid", 400),
    ErrorCode("SIZE_INVALID", "provided length did not match content length", 400),
    ErrorCode("UNSUPPORTED", "the operation is unsupported", 405),
    ErrorCode("TOOMANYREQUESTS", "too many requests", 429),
    ErrorCode("UNAVAILABLE", "service unavailable", 503),
    ErrorCode("NOT_FOUND", "not found", 404),
    ErrorCode("PAGINATION_NUMBER_INVALID", "invalid number of results requested", 400),
)
CODES: Mapping[str, ErrorCode] = {c.code: c for c in _CODES}


def error_body(code: str, message: str | None = None, detail: Any = None) -> dict[str, Any]:
    descriptor = CODES[code]
    return {"errors": [{"code": code, "message": message or descriptor.message, "detail": detail}]}


def error_response(
    code: str,
    message: str | None = None,
    detail: Any = None,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    return web.Response(
        status=status or CODES[code].status,
        text=json.dumps(error_body(code, message, detail)),
        content_type="application/json",
        headers=headers,
    )


def challenge_header(realm: str, service: str, scope: str, error: str | None = None) -> str:
    """`Bearer realm="..",service="..",scope=".."[,error=".."]`: comma-joined, no spaces, quoted."""
    parts = [f'realm="{realm}"', f'service="{service}"']
    if scope:
        parts.append(f'scope="{scope}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ",".join(parts)
