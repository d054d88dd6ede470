"""/namespaces and /namespaces/{namespace}: parse, call gateway.services.namespaces, render.

Deleting a namespace that holds repositories answers 200 with its reservation (see
tombstones.py) instead of 204. Every namespace answered carries its `quota` (bytes, null: none)
and `usage` (bytes its manifests hold, gateway/services/quotas.py); admins PATCH `quota` with a
size (`"10GiB"`, `"500MB"`, a number of bytes) or `"none"`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.caller import authenticate, services
from gateway.api.errors import bad_request
from gateway.api.inputs import Body, json_object
from gateway.api.names import namespace_param
from gateway.api.paging import page_body, page_request
from gateway.api.render import json_response, namespace_json
from gateway.api.tombstones import deletion_response
from gateway.auth.policy import VISIBILITIES
from gateway.services import namespaces, quotas
from gateway.services.errors import Invalid
from gateway.services.quotas import Quota
from gateway.store import Namespace


def _with_quota(namespace: Namespace, quota: Quota) -> dict[str, Any]:
    return {**namespace_json(namespace), "quota": quota.quota, "usage": quota.usage}


def _quota_field(body: dict[str, Any]) -> str | None:
    """The `quota` of a PATCH as text for `quotas.set_quota` (a number is bytes); None: absent."""
    if "quota" not in body:
        return None
    value = body["quota"]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and len(value) <= 64:
        return value
    raise bad_request('field \'quota\' must be a size such as "10GiB", "500MB" or a number of bytes, or "none"')


async def list_namespaces(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    page = page_request(request)
    found, next_name = await namespaces.list_namespaces(services(request), actor, page.after, page.limit)
    usage = await quotas.quotas_of(services(request), [n.name for n in found])
    return json_response(page_body([_with_quota(n, usage[n.name]) for n in found], next_name))


async def create_namespace(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    body = Body(await json_object(request), ("name", "team", "visibility"))
    name, team = body.required_text("name"), body.required_text("team")
    visibility = body.choice("visibility", VISIBILITIES) or namespaces.DEFAULT_VISIBILITY
    namespace = await namespaces.create_namespace(services(request), actor, name, team, visibility)
    return json_response(_with_quota(namespace, await quotas.quota_of(services(request), actor, name)), 201)


async def get_namespace(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    name = namespace_param(request)
    namespace = await namespaces.get_namespace(services(request), actor, name)
    return json_response(_with_quota(namespace, await quotas.quota_of(services(request), actor, name)))


async def update_namespace(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    name = namespace_param(request)
    data = await json_object(request)
    body = Body(data, ("visibility", "team", "immutable_tags", "quota"))
    visibility, team, quota = body.choice("visibility", VISIBILITIES), body.text("team"), _quota_field(data)
    immutable = body.texts("immutable_tags")
    if immutable is not None and any("," in pattern for pattern in immutable):
        raise Invalid("immutable_tags: one pattern per item, without commas")
    if quota is not None:  # first: only admins set quotas, and a refusal then changes nothing
        await quotas.set_quota(services(request), actor, name, quota)
    if quota is None or visibility is not None or team is not None or immutable is not None:
        await namespaces.update_namespace(
            services(request), actor, name, visibility=visibility, team=team,
            immutable_tags=None if immutable is None else ",".join(immutable),
        )
    updated = await namespaces.get_namespace(services(request), actor, name)
    return json_response(_with_quota(updated, await quotas.quota_of(services(request), actor, name)))


async def delete_namespace(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    name = namespace_param(request)
    deletion = await namespaces.delete_namespace(services(request), actor, name)
    return deletion_response(f"namespace {name!r}", deletion)
