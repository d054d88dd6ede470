"""Creates of one name racing each other, through two gateways on one store (both stores): exactly
one 201, every other one a 409 with the API's error JSON, never a 500, and one row left behind
(a team's founder is the winner alone)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.integration.api.conftest import (
    PASSWORD,
    Api,
    Reply,
    no_traceback_since,
    team_space,
    unique,
)
from tests.support.client import USERS
from tests.support.processes import Gateway

pytestmark = pytest.mark.slow  # several gateways or databases per test: run first (tests/conftest.py)

RACERS = 6


async def _race(apis: list[Api], path: str, body: dict[str, Any]) -> list[Reply]:
    """The same create from every client at once (alternating between the two gateways)."""
    return list(await asyncio.gather(*(api.post(path, body) for api in apis)))


def _one_winner(replies: list[Reply]) -> int:
    statuses = sorted(r.status for r in replies)
    assert statuses == [201] + [409] * (len(replies) - 1), [(r.status, r.body) for r in replies]
    assert all(r.error_code == "conflict" for r in replies if r.status == 409)
    return next(i for i, r in enumerate(replies) if r.status == 201)


def _admins(session: aiohttp.ClientSession, twins: tuple[Gateway, Gateway]) -> list[Api]:
    return [Api(session, twins[i % 2], Gateway.ADMIN) for i in range(RACERS)]


async def test_racing_user_creates_make_one_user(session: aiohttp.ClientSession, twins: tuple[Gateway, Gateway]) -> None:
    apis = _admins(session, twins)
    for _ in range(3):
        name = unique("race")
        _one_winner(await _race(apis, "/users", {"name": name, "password": PASSWORD}))
        assert (await apis[1].ok("GET", f"/users/{name}"))["name"] == name
    for gateway in twins:
        no_traceback_since(gateway, 0)


async def test_racing_team_creates_make_one_team_owned_by_the_winner(
    session: aiohttp.ClientSession, twins: tuple[Gateway, Gateway]
) -> None:
    founders = [Api(session, twins[i % 2], (user, USERS[user])) for i, user in enumerate(["alice", "bob"] * (RACERS // 2))]
    for _ in range(3):
        name = unique("race")
        winner = founders[_one_winner(await _race(founders, "/teams", {"name": name}))]
        members = await Api(session, twins[0], Gateway.ADMIN).ok("GET", f"/teams/{name}/members")
        assert winner.auth is not None
        assert [(m["user"], m["role"]) for m in members["items"]] == [(winner.auth[0], "owner")]
    for gateway in twins:
        no_traceback_since(gateway, 0)


async def test_racing_namespace_creates_make_one_namespace(
    session: aiohttp.ClientSession, twins: tuple[Gateway, Gateway]
) -> None:
    apis = _admins(session, twins)
    team = unique("race")
    await apis[0].ok("POST", "/teams", {"name": team}, 201)
    for visibility in ("private", "public", "protected"):
        name = team_space("race")
        _one_winner(await _race(apis, "/namespaces", {"name": name, "team": team, "visibility": visibility}))
        created = await apis[1].ok("GET", f"/namespaces/{name}")
        assert (created["team"], created["visibility"]) == (team, visibility)
    for gateway in twins:
        no_traceback_since(gateway, 0)
