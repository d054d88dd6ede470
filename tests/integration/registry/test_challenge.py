"""Every /v2 request without a good token gets the exact Bearer challenge clients expect."""

from __future__ import annotations

import aiohttp

from tests.support.client import bearer
from tests.support.processes import Gateway


async def test_base_endpoint_without_token_gets_challenge_without_scope(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{gateway.url}/v2/") as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == (
            f'Bearer realm="{gateway.url}/v2/token",service="{gateway.host}"'
        )
        assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
        body = await response.json()
        assert body["errors"][0]["code"] == "UNAUTHORIZED"


async def test_manifest_put_without_token_asks_for_pull_and_push(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session, session.put(f"{gateway.url}/v2/alice/app/manifests/v1", data=b"{}") as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == (
            f'Bearer realm="{gateway.url}/v2/token",service="{gateway.host}",scope="repository:alice/app:pull,push"'
        )


async def test_mount_challenge_names_both_repositories(gateway: Gateway) -> None:
    url = f"{gateway.url}/v2/alice/app/blobs/uploads/?mount=sha256:{'a' * 64}&from=alice/base"
    async with aiohttp.ClientSession() as session, session.post(url) as response:
        assert response.status == 401
        assert 'scope="repository:alice/app:pull,push repository:alice/base:pull"' in response.headers["WWW-Authenticate"]


async def test_token_lacking_the_action_gets_insufficient_scope(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/app:pull")
        async with session.delete(f"{gateway.url}/v2/alice/app/manifests/sha256:{'b' * 64}", headers=headers) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].endswith(
                'scope="repository:alice/app:delete",error="insufficient_scope"'
            )
            assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


async def test_token_for_one_repository_does_not_open_another(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/app:pull")
        async with session.get(f"{gateway.url}/v2/alice/other/tags/list", headers=headers) as response:
            assert response.status == 401
            assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


async def test_valid_token_opens_base_endpoint(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice")
        async with session.get(f"{gateway.url}/v2/", headers=headers) as response:
            assert response.status == 200
            assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
