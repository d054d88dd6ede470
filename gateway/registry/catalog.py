"""GET /v2/_catalog from the repository index: only what the caller may pull (the API's list,
gateway/services/repositories.py), paged with `n`, `last` and a `Link` header (registry 2.8
neither filters nor pages reliably)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from gateway import keys
from gateway.app_services import services_of
from gateway.auth.namespaces import identity_of
from gateway.registry.access import Access
from gateway.registry.errors import error_response
from gateway.services.repositories import list_repositories

DEFAULT_PAGE = 100
MAX_PAGE = 1000


def page_params(request: web.Request) -> tuple[int, str] | web.Response:
    """(n, last) from the query, or an OCI error response for a bad `n`."""
    raw = request.query.get("n")
    n = DEFAULT_PAGE
    if raw is not None:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 7:
            return error_response("PAGINATION_NUMBER_INVALID", detail={"n": raw[:20]})
        n = min(int(raw), MAX_PAGE)
    return n, request.query.get("last", "")[:255]


def next_link(path: str, last: str, n: int) -> str:
    return f"<{path}?{urlencode({'last': last, 'n': n})}>; rel=\"next\""


async def catalog(request: web.Request, access: Access) -> web.Response:
    params = page_params(request)
    if isinstance(params, web.Response):
        return params
    n, last = params
    if n == 0:
        return web.json_response({"repositories": []})
    identity = await identity_of(request.app[keys.STORE], access.subject, access.app_token)
    # One more than the page tells whether another follows.
    listed = await list_repositories(services_of(request.config_dict), identity, last, n + 1)
    found = [row.name for row in listed[:n]]
    headers = {"Link": next_link("/v2/_catalog", found[-1], n)} if len(listed) > n else None
    return web.json_response({"repositories": found}, headers=headers)
