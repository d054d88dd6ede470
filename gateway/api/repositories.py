"""/repositories and /repositories/{name}/tags: what the caller may pull, paged.

Filtered by the same policy as the token endpoint (a pull scope per repository), so the API
never shows a repository whose pull a token request would refuse.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.caller import Caller, authenticate
from gateway.api.errors import forbidden, not_found
from gateway.api.names import check_repository
from gateway.api.paging import collect, in_memory, page_body, page_request
from gateway.api.render import json_response
from gateway.api.repository_source import repository_names, tag_names
from gateway.auth.namespaces import facts_for
from gateway.auth.policy import NamespaceFacts, grant, namespace_of
from gateway.auth.scopes import Scope


class PullCheck:
    """May this caller pull a repository? Namespace facts are looked up once per request."""

    def __init__(self, request: web.Request, caller: Caller) -> None:
        self._store = request.config_dict[keys.STORE]
        self._rules = request.config_dict[keys.POLICY_RULES]
        self._identity = caller.identity
        self._facts: dict[str, NamespaceFacts] = {}

    async def allows(self, repository: str) -> bool:
        scope = Scope("repository", repository, ("pull",))
        if namespace_of(repository) not in self._facts:
            self._facts.update(await facts_for(self._store, self._identity, [scope], self._rules))
        return bool(grant(self._identity, [scope], self._facts, self._rules).scopes)


async def list_repositories(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    page = page_request(request)
    names = await repository_names(request)
    found, next_name = await collect(in_memory(names, str), str, page, PullCheck(request, caller).allows)
    return json_response(page_body([{"name": n} for n in found], next_name))


async def list_tags(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    repository = check_repository(request.match_info["name"])
    page = page_request(request)
    if not await PullCheck(request, caller).allows(repository):
        raise forbidden(f"you may not pull {repository!r}")
    tags = await tag_names(request, repository)
    if tags is None:
        raise not_found(f"no such repository {repository!r}")
    found, next_name = await collect(in_memory(tags, str), str, page)
    return json_response(page_body([{"name": t} for t in found], next_name))
