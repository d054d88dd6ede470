"""API errors: a small registry of kinds (code + HTTP status), one exception, one serializer.

Handlers raise `ApiError`; only the middleware turns it into a response, so every refusal has
the same `{"error": {"code", "message"}}` shape and is logged in one place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class ErrorKind:
    code: str
    status: int


BAD_REQUEST = ErrorKind("bad_request", 400)
UNAUTHORIZED = ErrorKind("unauthorized", 401)
FORBIDDEN = ErrorKind("forbidden", 403)
NOT_FOUND = ErrorKind("not_found", 404)
METHOD_NOT_ALLOWED = ErrorKind("method_not_allowed", 405)
CONFLICT = ErrorKind("conflict", 409)
TOO_LARGE = ErrorKind("too_large", 413)
TOO_MANY_REQUESTS = ErrorKind("too_many_requests", 429)
UNAVAILABLE = ErrorKind("unavailable", 503)

KINDS_BY_STATUS = {
    kind.status: kind
    for kind in (
        BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, TOO_LARGE,
        TOO_MANY_REQUESTS, UNAVAILABLE,
    )
}

# Sent with every 401 so that browsers and curl know to offer Basic credentials.
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="portus-gateway"'}


class ApiError(Exception):
    """A refused API request; `message` is shown to the caller, so it names no secret."""

    def __init__(self, kind: ErrorKind, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.headers = dict(headers or {})


def error_body(code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(error_body(code, message)), content_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def bad_request(message: str) -> ApiError:
    return ApiError(BAD_REQUEST, message)


def forbidden(message: str) -> ApiError:
    return ApiError(FORBIDDEN, message)


def not_found(message: str) -> ApiError:
    return ApiError(NOT_FOUND, message)


def conflict(message: str) -> ApiError:
    return ApiError(CONFLICT, message)
