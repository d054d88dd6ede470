"""Names in API paths and query parameters: the rules of gateway.names, refused as a 400."""

from __future__ import annotations

from aiohttp import web

from gateway import names
from gateway.api.errors import bad_request


def checked(grammar: names.Grammar, name: str) -> str:
    if (problem := grammar.problem(name)) is not None:
        raise bad_request(problem)
    return name


def user_param(request: web.Request) -> str:
    return checked(names.USER, request.match_info["user"])


def team_param(request: web.Request) -> str:
    return checked(names.TEAM, request.match_info["team"])


def namespace_param(request: web.Request) -> str:
    return checked(names.NAMESPACE, request.match_info["namespace"])
