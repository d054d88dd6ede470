"""A token the endpoint answers from a decision it kept is a use of the password behind it: the
authenticator hears of it with the password, so the check is kept alive as a login would keep
it, and the next decision after the kept one ends needs no KDF run. In-process, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.app import create_app
from gateway.auth.credentials import MIN_COST, PasswordHasher
from gateway.auth.login import Authenticator
from gateway.config import load_settings

Client = TestClient[aiohttp.web.Request, aiohttp.web.Application]


@pytest.fixture
async def client(tmp_path: Path, database_url: str) -> AsyncIterator[Client]:
    settings = load_settings({"GATEWAY_DATA_DIR": str(tmp_path / "data"), "GATEWAY_DATABASE_URL": database_url})
    started = TestClient(TestServer(create_app(settings, announce_setup=False)))
    await started.start_server()
    await started.app[keys.STORE].create_user("alice", await PasswordHasher(cost=MIN_COST).hash("alice-secret-pw"))
    yield started
    await started.close()


async def test_a_token_answered_from_a_kept_decision_renews_the_password_check(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    uses: list[tuple[str, str | None]] = []
    original = Authenticator.succeeded

    def succeeded(self: Authenticator, username: str, address: str, password: str | None = None) -> None:
        uses.append((username, password))
        original(self, username, address, password)

    monkeypatch.setattr(Authenticator, "succeeded", succeeded)
    async with client.get("/v2/") as challenge:
        service = challenge.headers["WWW-Authenticate"].split('service="')[1].split('"')[0]
    params = {"service": service, "scope": "repository:alice/app:pull"}
    headers = {"Authorization": aiohttp.encode_basic_auth("alice", "alice-secret-pw")}
    await client.app[keys.STORE].poll_version()  # MariaDB vouches for nothing before a poll (the watch polls on)
    for _ in range(3):
        async with client.get("/v2/token", params=params, headers=headers) as answer:
            assert answer.status == 200
    assert uses, "no request was answered from the kept decision"
    assert set(uses) == {("alice", "alice-secret-pw")}
