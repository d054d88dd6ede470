"""Helpers for the management API tests: a small JSON client and fresh, uniquely named things.

The session gateway is shared by every test, so each test makes its own users, teams and
namespaces with unique names, and checks that nothing it did left a traceback in the log.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tests.support.processes import Gateway

PASSWORD = "api-test-password"


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def team_space(prefix: str) -> str:
    """A fresh namespace name no user can have (`--`), which a team owner who is no admin may create."""
    return f"{prefix}--{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error_code(self) -> str:
        return str(self.body["error"]["code"])

    @property
    def message(self) -> str:
        return str(self.body["error"]["message"])


_UNSET: Any = object()


@dataclass
class Api:
    """Calls /api/v1 as one user (HTTP Basic); `as_` gives the same client as someone else."""

    session: aiohttp.ClientSession
    gateway: Gateway
    auth: tuple[str, str] | None = None
    log: list[Reply] = field(default_factory=list)

    def as_(self, user: str, password: str = PASSWORD) -> Api:
        return Api(self.session, self.gateway, (user, password))

    def anonymous(self) -> Api:
        return Api(self.session, self.gateway, None)

    async def call(
        self, method: str, path: str, body: Any = _UNSET, *, raw: bytes | str | None = None,
        params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if self.auth is not None and "Authorization" not in sent:
            sent["Authorization"] = aiohttp.encode_basic_auth(*self.auth)
        data: bytes | str | None = raw
        if body is not _UNSET:
            data = json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        url = f"{self.gateway.url}/api/v1{path}"
        async with self.session.request(method, url, data=data, params=params, headers=sent) as response:
            text = await response.text()
            parsed = json.loads(text) if text else None
            if response.status >= 400:
                assert response.content_type == "application/json" and isinstance(parsed, dict), text
                assert set(parsed) == {"error"} and set(parsed["error"]) == {"code", "message"}, parsed
            return Reply(response.status, parsed, dict(response.headers))

    async def get(self, path: str, **params: str) -> Reply:
        return await self.call("GET", path, params=params or None)

    async def post(self, path: str, body: Any) -> Reply:
        return await self.call("POST", path, body)

    async def put(self, path: str, body: Any) -> Reply:
        return await self.call("PUT", path, body)

    async def patch(self, path: str, body: Any) -> Reply:
        return await self.call("PATCH", path, body)

    async def delete(self, path: str) -> Reply:
        return await self.call("DELETE", path)

    async def ok(self, method: str, path: str, body: Any = _UNSET, expected: int = 200) -> Any:
        reply = await self.call(method, path, body)
        assert reply.status == expected, (method, path, reply)
        return reply.body

    async def new_user(self, prefix: str = "u", *, admin: bool = False) -> str:
        """A fresh user (password PASSWORD), created through the API by this (admin) client."""
        name = unique(prefix)
        await self.ok("POST", "/users", {"name": name, "password": PASSWORD, "admin": admin}, 201)
        return name

    async def new_team(self, owner: str, prefix: str = "t") -> str:
        """A fresh team founded by `owner` (password PASSWORD), who becomes its owner."""
        name = unique(prefix)
        await self.as_(owner).ok("POST", "/teams", {"name": name}, 201)
        return name

    async def collect(self, path: str, limit: int) -> tuple[list[Any], int]:
        """Every item of a paged list, following `next`; and how many pages it took."""
        items: list[Any] = []
        params = {"limit": str(limit)}
        pages = 0
        while True:
            reply = await self.call("GET", path, params=params)
            assert reply.status == 200, reply
            pages += 1
            assert len(reply.body["items"]) <= limit
            items.extend(reply.body["items"])
            if reply.body["next"] is None:
                return items, pages
            assert pages < 10_000, f"{path} never reached its last page"
            params = {"limit": str(limit), "after": reply.body["next"]}


_SERVER_ERROR_ACCESS = re.compile(r'" 5\d\d \d+ "')


def no_traceback_since(gateway: Gateway, start: int, *, allow_5xx: bool = False) -> None:
    """No traceback (and, unless allowed, no 5xx answer) in the gateway log after byte `start`."""
    with gateway.log_path.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode(errors="replace")
    assert "Traceback" not in text, text[-5000:]
    served = [line for line in text.splitlines() if "gateway.access" in line and _SERVER_ERROR_ACCESS.search(line)]
    assert allow_5xx or not served, served[:20]


@pytest.fixture
def clean_log(gateway: Gateway) -> Iterator[None]:
    """Fail the test if the gateway logged a traceback while it ran."""
    start = gateway.log_path.stat().st_size
    yield
    no_traceback_since(gateway, start)


@pytest.fixture
async def admin(session: aiohttp.ClientSession, gateway: Gateway, clean_log: None) -> Api:
    """The shared gateway's API as its admin."""
    return Api(session, gateway, Gateway.ADMIN)


@pytest.fixture
async def hourly_refresh_admin(session: aiohttp.ClientSession, make_gateway: Callable[..., Gateway]) -> AsyncIterator[Api]:
    """The API of a gateway of its own that re-reads revocations from the store only hourly, so a
    revocation seen at once must have come from the API's in-process call."""
    gateway = make_gateway({"GATEWAY_REVOCATION_REFRESH_SECONDS": "3600"})
    yield Api(session, gateway, Gateway.ADMIN)
    no_traceback_since(gateway, 0)


@pytest.fixture
async def store_admin(
    make_gateway: Callable[..., Gateway], database_url: str, session: aiohttp.ClientSession
) -> AsyncIterator[Api]:
    """The API of a gateway of its own, on SQLite and on MariaDB."""
    gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url})
    yield Api(session, gateway, Gateway.ADMIN)
    no_traceback_since(gateway, 0)
