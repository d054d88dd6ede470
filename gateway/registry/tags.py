"""GET /v2/NAME/tags/list, paged by the gateway: `n`, `last` (exclusive), lexical order and a
`Link` header, since registry 2.8 does not page tag lists."""

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

MAX_TAG_LIST_BYTES = 64 * 1024 * 1024


async def tag_list(request: web.Request, route: Route) -> web.Response:
    params = page_params(request)
    if isinstance(params, web.Response):
        return params
    n, last = params
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
    page = remaining[:n] if request.query.get("n") is not None else remaining
    headers = {}
    if len(page) < len(remaining) and page:
        headers["Link"] = f'</v2/{route.name}/tags/list?{urlencode({"n": n, "last": page[-1]})}>; rel="next"'
    return web.json_response({"name": route.name, "tags": page}, headers=headers)
