"""/namespaces and /namespaces/{namespace}: parse, call gateway.services.namespaces, render.

Deleting a namespace that holds repositories answers 200 with its reservation (see
tombstones.py) instead of 204.
"""

from __future__ import annotations

from aiohttp import web

from gateway.api.caller import authenticate, services
from gateway.api.inputs import Body, json_object
from gateway.api.names import namespace_param
from gateway.api.paging import page_body, page_request
from gateway.api.render import json_response, namespace_json
from gateway.api.tombstones import deletion_response
from gateway.auth.policy import VISIBILITIES
from gateway.services import namespaces
from gateway.services.errors import Invalid


async def list_namespaces(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    page = page_request(request)
    found, next_name = await namespaces.list_namespaces(services(request), actor, page.after, page.limit)
    return json_response(page_body([namespace_json(n) for n in found], next_name))


async def create_namespace(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    body = Body(await json_object(request), ("name", "team", "visibility"))
    name, team = body.required_text("name"), body.required_text("team")
    visibility = body.choice("visibility", VISIBILITIES) or namespaces.DEFAULT_VISIBILITY
    namespace = await namespaces.create_namespace(services(request), actor, name, team, visibility)
    return json_response(namespace_json(namespace), 201)


async def get_namespace(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    namespace = await namespaces.get_namespace(services(request), actor, namespace_param(request))
    return json_response(namespace_json(namespace))


async def update_namespace(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    name = namespace_param(request)
    body = Body(await json_object(request), ("visibility", "team", "immutable_tags"))
    visibility, team = body.choice("visibility", VISIBILITIES), body.text("team")
    immutable = body.texts("immutable_tags")
    if immutable is not None and any("," in pattern for pattern in immutable):
        raise Invalid("immutable_tags: one pattern per item, without commas")
    updated = await namespaces.update_namespace(
        services(request), actor, name, visibility=visibility, team=team,
        immutable_tags=None if immutable is None else ",".join(immutable),
    )
    return json_response(namespace_json(updated))


async def delete_namespace(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    name = namespace_param(request)
    deletion = await namespaces.delete_namespace(services(request), actor, name)
    return deletion_response(f"namespace {name!r}", deletion)
