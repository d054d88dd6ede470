"""Per-request facts for the access log and the metrics: a request id, and who did what where.

The middleware (gateway/ops/middleware.py) creates a `RequestInfo` for every request; handlers
fill in what only they know through gateway/ops/observe.py (`note`); the access logger reads it
once the response is finished. The key lives here, next to its type, because it is per request,
not an application object.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from aiohttp import web

REQUEST_ID_HEADER = "X-Request-Id"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


@dataclass
class RequestInfo:
    request_id: str
    route: str = ""
    user: str | None = None
    repository: str = ""
    action: str = ""
    remote: str | None = None  # the client behind a trusted proxy (gateway/ops/forwarded.py)


REQUEST_INFO = web.RequestKey("request_info", RequestInfo)


def new_request_id() -> str:
    """32 random hex digits, the form `uuid4().hex` gave, at a third of its cost."""
    return secrets.token_hex(16)


def request_id_for(request: web.BaseRequest) -> str:
    """The caller's `X-Request-Id` when it is a sane token (a proxy in front may set one), else a new one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _CLIENT_ID.fullmatch(given) else new_request_id()


def info_of(request: web.BaseRequest) -> RequestInfo | None:
    return request.get(REQUEST_INFO) if isinstance(request, web.Request) else None
