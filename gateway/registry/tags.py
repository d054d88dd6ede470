"""GET /v2/NAME/tags/list, paged by the gateway: `n`, `last` (exclusive), lexical order and a
`Link` header, since registry 2.8 does not page tag lists. Read from the repository index (the
tags pushed, deleted and imported through the gateway), a range of its key a page; a repository
the index has no tag of (filled before the gateway stood in front of the registry) is listed by
the registry and paged here."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from gateway import keys, safe_json
from gateway.bodies import read_limited
from gateway.ops import observe
from gateway.registry.catalog import page_params
from gateway.registry.errors import error_response
from gateway.registry.routes import Route
from gateway.registry.upstream_auth import forwarded_authorization
from gateway.store import Store

MAX_TAG_LIST_BYTES = 64 * 1024 * 1024


# Tag names read a statement while a list without `n` (all of it) is gathered from the index.
_INDEX_CHUNK = 1000


async def tag_list(request: web.Request, route: Route) -> web.Response:
    params = page_params(request)
    if isinstance(params, web.Response):
        return params
    n, last = params
    paged = request.query.get("n") is not None
    indexed = await _indexed_page(request.app[keys.STORE], route.name, last, n if paged else None)
    if indexed is not None:
        page, more = indexed
        return _answer(route.name, page, more, n)
    return await _registry_tag_list(request, route, n, last, paged)


async def _indexed_page(store: Store, repository: str, last: str, n: int | None) -> tuple[list[str], bool] | None:
    """The page after `last` from the index and whether more follow (one name more than the page
    is read to tell); None when the index has no tag of the repository at all."""
    if n is None:
        page: list[str] = []
        while chunk := await store.tag_names(repository, page[-1] if page else last, _INDEX_CHUNK):
            page += chunk
            if len(chunk) < _INDEX_CHUNK:
                break
        more = False
    else:
        page = await store.tag_names(repository, last, n + 1)
        more = len(page) > n
        page = page[:n]
    if not page and not more and not await store.tag_names(repository, "", 1):
        return None
    return page, more


def _answer(repository: str, page: list[str], more: bool, n: int) -> web.Response:
    headers = {}
    if more and page:
        headers["Link"] = f'</v2/{repository}/tags/list?{urlencode({"n": n, "last": page[-1]})}>; rel="next"'
    return web.json_response({"name": repository, "tags": page}, headers=headers)


async def _registry_tag_list(request: web.Request, route: Route, n: int, last: str, paged: bool) -> web.Response:
    """The registry's whole list of a repository the index does not know, sorted and paged."""
    settings = request.app[keys.SETTINGS]
    url = f"{settings.upstream_url.origin()}/v2/{route.name}/tags/list"
    timeout = aiohttp.ClientTimeout(
        total=None, connect=settings.upstream_connect_timeout, sock_connect=settings.upstream_connect_timeout,
        sock_read=settings.upstream_read_timeout,
    )
    try:
        asked = {"Accept": "application/json", **forwarded_authorization(request)}
        async with request.app[keys.UPSTREAM].get(url, headers=asked, timeout=timeout) as upstream:
            # Whole: `content.read(n)` returns what has arrived so far, and a list of a thousand
            # tags (11 kB) arrived in pieces about every other time (a 503 "unreadable").
            body = await read_limited(upstream, MAX_TAG_LIST_BYTES)
            if body is None:
                return error_response("UNAVAILABLE", "the upstream registry answered a tag list too large to page", status=503)
            if upstream.status != 200:
                return web.Response(status=upstream.status, body=body, content_type="application/json")
    except (TimeoutError, aiohttp.ClientError, OSError):
        observe.upstream_failed(request, "unreachable")
        return error_response("UNAVAILABLE", "the upstream registry is unavailable", status=503)
    try:
        document = safe_json.loads(body)
        tags = sorted(t for t in (document.get("tags") or []) if isinstance(t, str))
    except (ValueError, AttributeError):
        return error_response("UNAVAILABLE", "the upstream registry answered an unreadable tag list", status=503)
    remaining = [t for t in tags if t > last] if last else tags
    page = remaining[:n] if paged else remaining
    return _answer(route.name, page, len(page) < len(remaining), n)
