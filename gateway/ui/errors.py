"""Every failure in the UI is a readable page: the service layer's refusals by their kind
(400/403/404/409/503), HTTP errors (an unknown page, a wrong method) by their status, a store
that does not answer as 503, anything else as 500 with the details in the log only."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unavailable
from gateway.store import StoreError
from gateway.ui.pages import render

log = logging.getLogger(__name__)

_KIND_STATUS: tuple[tuple[type[ServiceError], int], ...] = (
    (Invalid, 400), (Forbidden, 403), (NotFound, 404), (Conflict, 409), (Unavailable, 503),
)
_TITLES = {
    400: "That did not work", 403: "Not allowed", 404: "Not found", 405: "Not allowed here",
    409: "Conflict", 413: "Too large", 500: "Something went wrong", 503: "Try again later",
}
_HTTP_MESSAGES = {
    404: "There is no such page.",
    405: "This page does not take that kind of request.",
}


def status_of(error: ServiceError) -> int:
    return next((status for kind, status in _KIND_STATUS if isinstance(error, kind)), 400)


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    title = _TITLES.get(status, "That did not work")
    return render(request, "error.html", {"title": title, "message": message}, status=status)


@web.middleware
async def ui_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ServiceError as exc:
        return error_page(request, status_of(exc), exc.message)
    except StoreError as exc:
        log.warning("web UI: the store failed for %s: %s", request.path, exc)
        return error_page(request, 503, "The gateway's database does not answer right now. Try again in a moment.")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_page(request, exc.status, _HTTP_MESSAGES.get(exc.status, exc.reason))
    except Exception:
        log.exception("web UI: %s %s failed", request.method, request.path)
        return error_page(request, 500, "The gateway could not answer this page. The details are in its log.")
