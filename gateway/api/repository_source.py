"""Where the API's repository and tag lists come from: for now, the upstream registry itself.

Kept behind these two functions so a later change can answer from an index built from events
without touching the handlers. The upstream needs no credentials (it trusts the gateway's
private network); its failures become a 502 for the caller, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from gateway import keys
from gateway.api.errors import UPSTREAM_UNAVAILABLE, ApiError

log = logging.getLogger(__name__)

CATALOG_PAGE = 100
MAX_CATALOG_PAGES = 1000
_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=10)
# The shared session does not decompress (the proxy streams bodies as they are), so ask for none.
_HEADERS = {"Accept": "application/json", "Accept-Encoding": "identity"}


def _unavailable(reason: str) -> ApiError:
    log.warning("repository list from upstream failed: %s", reason)
    return ApiError(UPSTREAM_UNAVAILABLE, "the upstream registry did not answer as expected; try again later")


async def _get_json(request: web.Request, url: URL) -> tuple[int, Any, bool]:
    """(status, JSON body or None, whether a next page is linked)."""
    session = request.config_dict[keys.UPSTREAM]
    try:
        async with session.get(url, headers=_HEADERS, timeout=_TIMEOUT) as response:
            if response.status != 200:
                return response.status, None, False
            body = await response.json(content_type=None)
            return response.status, body, "next" in response.headers.get("Link", "")
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise _unavailable(f"GET {url}: {exc!r}") from None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


async def repository_names(request: web.Request) -> list[str]:
    """Every repository the upstream knows, sorted."""
    origin = request.config_dict[keys.SETTINGS].upstream_url.origin()
    names: list[str] = []
    last = ""
    for _ in range(MAX_CATALOG_PAGES):
        query = {"n": str(CATALOG_PAGE), **({"last": last} if last else {})}
        status, body, more = await _get_json(request, origin.with_path("/v2/_catalog").with_query(query))
        if status != 200 or not isinstance(body, dict):
            raise _unavailable(f"catalog answered {status}")
        page = _strings(body.get("repositories"))
        names.extend(page)
        if not more or not page:
            break
        last = page[-1]
    return sorted(set(names))


async def tag_names(request: web.Request, repository: str) -> list[str] | None:
    """The tags of a repository (validated name), sorted; None when the upstream does not know it."""
    origin = request.config_dict[keys.SETTINGS].upstream_url.origin()
    status, body, _ = await _get_json(request, origin.with_path(f"/v2/{repository}/tags/list"))
    if status == 404:
        return None
    if status != 200 or not isinstance(body, dict):
        raise _unavailable(f"tag list of {repository} answered {status}")
    return sorted(set(_strings(body.get("tags"))))
