"""The API's one middleware: every failure leaves as `{"error": {"code", "message"}}` JSON.

It covers our own `ApiError`, the refusals of gateway.services, aiohttp's routing errors (unknown path 404, wrong method 405,
body too large 413) and store failures (503; a racing duplicate is still a 409). Anything
else is a bug and is left to aiohttp, which logs it with its traceback.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.api.errors import (
    BAD_REQUEST,
    CONFLICT,
    FORBIDDEN,
    KINDS_BY_STATUS,
    NOT_FOUND,
    UNAVAILABLE,
    ApiError,
    ErrorKind,
    error_response,
)
from gateway.services import errors
from gateway.store import Conflict, StoreError

log = logging.getLogger(__name__)

# What each refusal of gateway.services is in the API.
SERVICE_KINDS: dict[type[errors.ServiceError], ErrorKind] = {
    errors.Invalid: BAD_REQUEST, errors.Forbidden: FORBIDDEN, errors.NotFound: NOT_FOUND,
    errors.Conflict: CONFLICT, errors.Unavailable: UNAVAILABLE,
}

# Headers of aiohttp's HTTP exceptions worth keeping on the JSON answer.
_KEPT_HEADERS = ("Allow",)


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        log.info("API %s %s refused (%d %s): %s", request.method, request.path, exc.kind.status, exc.kind.code, exc.message)
        return error_response(exc.kind.status, exc.kind.code, exc.message, exc.headers)
    except errors.ServiceError as exc:
        refusal = SERVICE_KINDS[type(exc)]
        log.info("API %s %s refused (%d %s): %s", request.method, request.path, refusal.status, refusal.code, exc.message)
        return error_response(refusal.status, refusal.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kind = KINDS_BY_STATUS.get(exc.status)
        code = kind.code if kind else f"http_{exc.status}"
        log.info("API %s %s refused (%d): %s", request.method, request.path, exc.status, exc.reason)
        headers = {name: exc.headers[name] for name in _KEPT_HEADERS if name in exc.headers}
        return error_response(exc.status, code, _message(request, exc), headers)
    except Conflict as exc:
        log.info("API %s %s conflicted with a concurrent change: %s", request.method, request.path, exc)
        return error_response(CONFLICT.status, CONFLICT.code, "the resource changed concurrently; try again")
    except StoreError as exc:
        log.error("API %s %s failed: store unavailable: %s", request.method, request.path, exc)
        return error_response(UNAVAILABLE.status, UNAVAILABLE.code, "the gateway's database is unavailable; try again later")


def _message(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"no API resource at {request.path[:200]}"
    if exc.status == 405:
        return f"{request.method} is not allowed here; allowed: {exc.headers.get('Allow', 'none')}"
    if exc.status == 413:
        return "request body too large"
    return exc.reason
