"""The docker CLI's login (works without a daemon) and the refresh-token grant it relies on.

Measured with docker CLI 28: `docker login HOST -u U --password-stdin` tries https, then http;
it sends `GET /v2/token?account=U&client_id=docker&offline_token=true&service=...` and, when the
answer carries a `refresh_token`, stores it as `identitytoken` with `auth` = base64("U:") (the
password is not kept). The CLI itself only spends that identity token through the daemon (push,
pull, or a daemon-side login): `docker login HOST` with stored credentials needs a password
or a daemon, and without a TTY it fails with "Cannot perform an interactive login". So the
refresh grant the daemon would send (`POST /v2/token`, `grant_type=refresh_token`,
`client_id=docker`) is exercised here directly with the identity token docker stored.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from tests.e2e.clients import LogWindow, Result, client_env, run
from tests.support.client import USERS
from tests.support.processes import Gateway, require_tool


class DockerCLI:
    def __init__(self, config_dir: Path) -> None:
        self.binary = require_tool("docker")
        self.config_dir = config_dir
        self.env = client_env(config_dir.parent / "docker-env")
        self.env["DOCKER_CONFIG"] = str(config_dir)
        config_dir.mkdir(parents=True, exist_ok=True)

    def login(self, server: str, user: str | None = None, password: str | None = None) -> Result:
        args = [self.binary, "login", server]
        if user is not None:
            args += ["-u", user, "--password-stdin"]
        return run(args, self.env, stdin=(password + "\n") if password is not None else "")

    def config(self) -> dict[str, Any]:
        path = self.config_dir / "config.json"
        return dict(json.loads(path.read_text())) if path.exists() else {}


@pytest.fixture
def docker(tmp_path: Path) -> DockerCLI:
    return DockerCLI(tmp_path / "docker-config")


async def post_refresh(gateway: Gateway, refresh_token: str, *, service: str, scope: str = "") -> tuple[int, dict[str, Any]]:
    """The OAuth2 refresh grant exactly as the docker daemon's token handler sends it."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "service": service, "client_id": "docker"}
    if scope:
        form["scope"] = scope
    async with aiohttp.ClientSession() as session, session.post(f"{gateway.url}/v2/token", data=form) as response:
        return response.status, dict(await response.json())


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_docker_login_with_password_succeeds_and_asks_for_an_offline_token(docker: DockerCLI, gateway: Gateway) -> None:
    window = LogWindow.begin(gateway)
    result = docker.login(gateway.host, "alice", USERS["alice"])
    assert result.ok, result.describe()
    assert "Login Succeeded" in result.stdout
    requests = window.wait_for(r'"GET /v2/token\?[^"]*" 200 [^"]*"-" "Docker-Client/')
    assert requests, window.text()[-4000:]
    assert all("account=alice" in line and "client_id=docker" in line and "offline_token=true" in line for line in requests)


def test_docker_login_with_wrong_password_fails_and_stores_nothing(docker: DockerCLI, gateway: Gateway) -> None:
    result = docker.login(gateway.host, "alice", "not-her-password")
    assert not result.ok, result.describe()
    assert "Login Succeeded" not in result.stdout
    assert "invalid username or password" in result.stderr
    assert gateway.host not in docker.config().get("auths", {})


def test_docker_login_stores_the_refresh_token_as_identity_token_not_the_password(
    docker: DockerCLI, gateway: Gateway
) -> None:
    result = docker.login(gateway.host, "alice", USERS["alice"])
    assert result.ok, result.describe()
    entry = docker.config()["auths"][gateway.host]
    assert entry["identitytoken"].startswith("pgr_")
    assert base64.b64decode(entry["auth"]).decode() == "alice:"
    assert USERS["alice"] not in (docker.config_dir / "config.json").read_text()


async def test_identity_token_stored_by_docker_refreshes_into_an_access_token_for_alice(
    docker: DockerCLI, gateway: Gateway
) -> None:
    result = docker.login(gateway.host, "alice", USERS["alice"])
    assert result.ok, result.describe()
    identity_token = docker.config()["auths"][gateway.host]["identitytoken"]

    window = LogWindow.begin(gateway)
    status, body = await post_refresh(gateway, identity_token, service=gateway.host, scope="repository:alice/docker-refresh:pull,push")
    assert status == 200, body
    assert window.wait_for(r'"POST /v2/token HTTP/1.1" 200 ')
    token_claims = claims(body["access_token"])
    assert token_claims["sub"] == "alice"
    assert token_claims["aud"] == gateway.host
    assert token_claims["access"] == [{"type": "repository", "name": "alice/docker-refresh", "actions": ["pull", "push"]}]
    assert body["scope"] == "repository:alice/docker-refresh:pull,push"
    assert body["expires_in"] >= 60
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", body["issued_at"]), body["issued_at"]

    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        async with session.get(f"{gateway.url}/v2/", headers=headers) as response:
            assert response.status == 200


async def test_identity_token_does_not_refresh_for_another_service(docker: DockerCLI, gateway: Gateway) -> None:
    result = docker.login(gateway.host, "alice", USERS["alice"])
    assert result.ok, result.describe()
    identity_token = docker.config()["auths"][gateway.host]["identitytoken"]
    status, body = await post_refresh(gateway, identity_token, service="registry.example.com")
    assert status == 400, body
    assert "access_token" not in body


async def test_refresh_with_an_identity_token_docker_never_received_is_refused(gateway: Gateway) -> None:
    status, body = await post_refresh(gateway, "pgr_" + "A" * 43, service=gateway.host)
    assert status == 400, body
    assert body["error"] == "invalid_grant"
    assert "access_token" not in body

