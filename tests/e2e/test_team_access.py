"""Teams, visibility and application tokens with real clients against the real registry."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.clients import LogWindow, Skopeo, run, stored_tags
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway, require_tool
from tests.support.waiting import eventually, eventually_async

pytestmark = pytest.mark.slow  # several gateways or databases per test: run first (tests/conftest.py)

PASSWORD = "team-test-password"


@dataclass(frozen=True)
class Crew:
    team: str
    owner: str
    contributor: str
    viewer: str
    outsider: str

    def namespace(self, visibility: str) -> str:
        return f"{self.team}-{visibility}"


@pytest.fixture
def crew(gateway: Gateway) -> Crew:
    """A fresh team with one user per role, and one namespace per visibility."""
    suffix = uuid.uuid4().hex[:8]
    made = Crew(f"crew{suffix}", f"own{suffix}", f"con{suffix}", f"view{suffix}", f"out{suffix}")
    for user in (made.owner, made.contributor, made.viewer, made.outsider):
        gateway.add_user(user, PASSWORD)
    gateway.cli("team", "add", made.team)
    for user, role in ((made.owner, "owner"), (made.contributor, "contributor"), (made.viewer, "viewer")):
        gateway.cli("team", "member", "add", made.team, user, "--role", role)
    for visibility in ("public", "protected", "private"):
        gateway.cli("namespace", "add", made.namespace(visibility), "--team", made.team, "--visibility", visibility)
    return made


@pytest.fixture
def skopeo(gateway: Gateway, tmp_path: Path) -> Skopeo:
    return Skopeo.create(gateway, tmp_path / "skopeo")


def push(skopeo: Skopeo, tmp_path: Path, repository: str, credentials: str | None) -> bool:
    layout = build_layout(tmp_path / f"layout-{uuid.uuid4().hex[:6]}", layers=2, seed=repository, tag="v1")
    return skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(repository, "v1"), dest_creds=credentials).ok


def pull(skopeo: Skopeo, tmp_path: Path, repository: str, credentials: str | None) -> bool:
    target = tmp_path / f"pulled-{uuid.uuid4().hex[:6]}"
    return skopeo.copy(skopeo.ref(repository, "v1"), f"oci:{target}:v1", src_creds=credentials).ok


async def test_contributor_pushes_viewer_pulls_outsider_and_anonymous_per_visibility(
    crew: Crew, skopeo: Skopeo, gateway: Gateway, tmp_path: Path
) -> None:
    private, public = f"{crew.namespace('private')}/app", f"{crew.namespace('public')}/app"
    assert push(skopeo, tmp_path, private, f"{crew.contributor}:{PASSWORD}")
    assert push(skopeo, tmp_path, public, f"{crew.contributor}:{PASSWORD}")
    assert pull(skopeo, tmp_path, private, f"{crew.viewer}:{PASSWORD}")
    assert not push(skopeo, tmp_path, f"{crew.namespace('private')}/viewer-push", f"{crew.viewer}:{PASSWORD}")
    assert await stored_tags(gateway, f"{crew.namespace('private')}/viewer-push") == (404, [])
    assert not pull(skopeo, tmp_path, private, f"{crew.outsider}:{PASSWORD}")
    assert pull(skopeo, tmp_path, public, None), "anonymous pulls a public namespace"
    assert not pull(skopeo, tmp_path, private, None)


async def test_push_into_a_namespace_that_does_not_exist_is_denied_clearly(gateway: Gateway, skopeo: Skopeo, tmp_path: Path) -> None:
    user = f"lost{uuid.uuid4().hex[:8]}"
    gateway.add_user(user, PASSWORD)
    window = LogWindow.begin(gateway)
    layout = build_layout(tmp_path / "layout", layers=1, seed=user, tag="v1")
    result = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(f"nowhere{user}/app", "v1"), dest_creds=f"{user}:{PASSWORD}")
    assert not result.ok
    assert f"namespace 'nowhere{user}' does not exist or is not yours to push to" in result.stderr, result.describe()
    assert window.wait_for(rf"denied \(token of '{user}' lacks pull,push on repository:nowhere{user}/app\): namespace 'nowhere{user}' is missing")
    # Another user's private namespace answers alike: the message tells missing from hidden apart for nobody.
    other = f"other{uuid.uuid4().hex[:8]}"
    gateway.add_user(other, PASSWORD)
    hidden = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(f"{other}/app", "v1"), dest_creds=f"{user}:{PASSWORD}")
    assert not hidden.ok
    assert f"namespace '{other}' does not exist or is not yours to push to" in hidden.stderr, hidden.describe()


async def test_auto_create_setting_creates_the_namespace_for_its_first_pusher(
    make_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    gw = make_gateway({"GATEWAY_NAMESPACES_AUTO_CREATE": "true"})
    skopeo = Skopeo.create(gw, tmp_path / "skopeo")
    assert push(skopeo, tmp_path, "fresh--space/app", "alice:alice-secret-pw")  # a name no user can have
    listing = gw.cli("namespace", "list").stdout
    assert "fresh--space team=fresh--space visibility=private" in listing
    assert not pull(skopeo, tmp_path, "fresh--space/app", "bob:bob-secret-pw"), "an auto-created namespace is private"


async def test_application_token_works_with_skopeo_within_its_limits_and_dies_on_revocation(
    crew: Crew, gateway: Gateway, skopeo: Skopeo, tmp_path: Path
) -> None:
    out = gateway.cli(
        "token", "create", crew.owner, "--name", "ci", "--namespace", crew.namespace("private"), "--actions", "pull,push"
    ).stdout
    secret = out.split()[-1]
    assert secret.startswith("pgat_") and secret not in gateway.log_text()
    assert push(skopeo, tmp_path, f"{crew.namespace('private')}/built", f"{crew.owner}:{secret}")
    assert not push(skopeo, tmp_path, f"{crew.namespace('public')}/built", f"{crew.owner}:{secret}"), "outside its namespaces"
    assert not push(skopeo, tmp_path, f"{crew.namespace('private')}/other", f"someone:{secret}"), "bound to its user"

    async with aiohttp.ClientSession() as session:
        params = {"service": gateway.host, "scope": f"repository:{crew.namespace('private')}/built:pull"}
        headers = {"Authorization": aiohttp.encode_basic_auth(crew.owner, secret)}
        async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
            assert response.status == 200
            bearer = {"Authorization": f"Bearer {(await response.json())['token']}"}
        tags_url = f"{gateway.url}/v2/{crew.namespace('private')}/built/tags/list"
        async with session.get(tags_url, headers=bearer) as response:
            assert response.status == 200
        gateway.cli("token", "revoke", crew.owner, "ci")

        async def tags_status() -> int:
            async with session.get(tags_url, headers=bearer) as response:
                return response.status

        # The gateway re-reads revocations when the store changes; 30 s only keeps a broken one from hanging.
        refused = await eventually_async(tags_status, lambda status: status == 401, timeout=30)
        assert refused == 401, "a JWT issued from a revoked application token stops working (another process revoked it)"
        async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
            assert response.status == 401


def test_docker_login_accepts_an_application_token(crew: Crew, gateway: Gateway, tmp_path: Path) -> None:
    docker = require_tool("docker")
    secret = gateway.cli("token", "create", crew.owner, "--name", "docker", "--actions", "pull").stdout.split()[-1]
    from tests.e2e.clients import client_env

    env = {**client_env(tmp_path / "docker-env"), "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    result = run([docker, "login", gateway.host, "-u", crew.owner, "--password-stdin"], env, stdin=secret + "\n")
    assert result.ok and "Login Succeeded" in result.stdout, result.describe()
    wrong = run([docker, "login", gateway.host, "-u", crew.owner, "--password-stdin"], env, stdin=secret[:-2] + "xx\n")
    assert not wrong.ok


async def test_failed_logins_are_throttled_per_user_and_address_only(make_gateway: Callable[..., Gateway]) -> None:
    """Three failures of alice from 127.0.0.1 slow down alice from 127.0.0.1 only: bob from there,
    and alice from 127.0.0.2 (the same loopback, another source address), still sign in."""
    gw = make_gateway({"GATEWAY_LOGINS_MAX_FAILURES": "3", "GATEWAY_LOGINS_FAILURE_WINDOW": "60"})
    url = f"{gw.url}/v2/token"
    other_address = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession() as session, aiohttp.ClientSession(connector=other_address) as elsewhere:

        async def status(user: str, password: str, client: aiohttp.ClientSession = session) -> tuple[int, str | None]:
            headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
            async with client.get(url, params={"service": gw.host}, headers=headers) as response:
                return response.status, response.headers.get("Retry-After")

        for _ in range(3):
            assert (await status("alice", "wrong"))[0] == 401
        throttled, retry_after = await status("alice", "alice-secret-pw")
        assert throttled == 429 and retry_after is not None and int(retry_after) > 0
        assert (await status("bob", "bob-secret-pw"))[0] == 200, "other accounts are not locked"
        assert (await status("alice", "alice-secret-pw", elsewhere))[0] == 200, "alice from another address is not locked"
        assert (await status("alice", "alice-secret-pw"))[0] == 429, "alice from the first address still is"
    assert '127.0.0.2 "GET /v2/token' in await eventually(gw.log_text, lambda log: "127.0.0.2 " in log), "it came from 127.0.0.2"
