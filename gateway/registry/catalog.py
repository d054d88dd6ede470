"""GET /v2/_catalog from the repository index: only what the caller may pull, paged with
`n`, `last` and a `Link` header (registry 2.8 neither filters nor pages reliably)."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.auth.namespaces import PullFilter, identity_of
from gateway.registry.access import Access
from gateway.registry.errors import error_response

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
    from urllib.parse import urlencode

    return f"<{path}?{urlencode({'last': last, 'n': n})}>; rel=\"next\""


async def catalog(request: web.Request, access: Access) -> web.Response:
    params = page_params(request)
    if isinstance(params, web.Response):
        return params
    n, last = params
    if n == 0:
        return web.json_response({"repositories": []})
    store = request.app[keys.STORE]
    identity = await identity_of(store, access.subject, access.app_token)
    check = PullFilter(store, identity, request.app[keys.POLICY_RULES])
    found: list[str] = []
    cursor, more = last, False
    while not more:
        batch = await store.list_repositories(after=cursor, limit=max(n, 100))
        if not batch:
            break
        await check.prefetch(row.name for row in batch)
        for row in batch:
            if await check.allows(row.name):
                if len(found) == n:
                    more = True
                    break
                found.append(row.name)
        cursor = batch[-1].name
    headers = {"Link": next_link("/v2/_catalog", found[-1], n)} if more and found else None
    return web.json_response({"repositories": found}, headers=headers)
