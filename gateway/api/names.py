"""Names in API paths: the rules of gateway.names, refused as a 400 by the services' own check."""

from __future__ import annotations

from aiohttp import web

from gateway import names
from gateway.services.guards import valid_name


def user_param(request: web.Request) -> str:
    return valid_name(names.USER, request.match_info["user"])


def team_param(request: web.Request) -> str:
    return valid_name(names.TEAM, request.match_info["team"])


def namespace_param(request: web.Request) -> str:
    return valid_name(names.NAMESPACE, request.match_info["namespace"])
