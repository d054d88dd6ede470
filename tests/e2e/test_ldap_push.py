"""LDAP with a real client: a directory user in a mapped group pushes with skopeo to their
team's namespace; removed from the group, the gateway's periodic sync takes that push away
(and voids the token they held) without them signing in again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.e2e.clients import Skopeo
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway
from tests.support.slapd import Slapd, gateway_env, password
from tests.support.waiting import eventually_async

USER = "lou"
TEAM = "web"


async def _token(session: aiohttp.ClientSession, gateway: Gateway, scope: str) -> dict[str, str]:
    headers = {"Authorization": aiohttp.encode_basic_auth(USER, password(USER))}
    async with session.get(f"{gateway.url}/v2/token", params={"scope": scope}, headers=headers) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def test_a_mapped_group_pushes_and_leaving_it_takes_push_away_at_the_next_sync(
    make_gateway: Callable[..., Gateway], slapd: Slapd, tmp_path: Path
) -> None:
    gateway = make_gateway({**gateway_env(slapd, TEAM), "GATEWAY_LDAP_SYNC_INTERVAL": "1"}, add_users=False)
    gateway.cli("team", "add", TEAM)
    gateway.cli("namespace", "add", TEAM, "--team", TEAM, "--visibility", "private")
    skopeo = Skopeo.create(gateway, tmp_path / "skopeo")
    repository = f"{TEAM}/app-{uuid.uuid4().hex[:8]}"
    layout = build_layout(tmp_path / "layout", layers=1, seed=repository, tag="v1")
    credentials = f"{USER}:{password(USER)}"

    pushed = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(repository, "v1"), dest_creds=credentials)
    assert pushed.ok, pushed.describe()
    assert f"{USER} (ldap)" in gateway.cli("user", "list").stdout.splitlines(), "made at the first sign-in"

    scope = f"repository:{repository}:pull,push"
    async with aiohttp.ClientSession() as session:
        held = await _token(session, gateway, scope)
        assert held["scope"] == scope
        slapd.leave_group(USER, TEAM + "-devs")

        async def granted() -> str:
            return (await _token(session, gateway, scope))["scope"]

        assert await eventually_async(granted, lambda scope: scope == "", timeout=15) == ""
        async with session.get(
            f"{gateway.url}/v2/{repository}/tags/list", headers={"Authorization": f"Bearer {held['token']}"}
        ) as response:
            assert response.status == 401, "the token held from before the sync is void"

    refused = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(repository, "v2"), dest_creds=credentials)
    assert not refused.ok, refused.describe()
