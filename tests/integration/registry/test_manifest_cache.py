"""Manifests by digest from the gateway's memory: same answer as the registry, never to a token
without pull on the repository, gone after a DELETE, pulls still recorded."""

from __future__ import annotations

import asyncio
import hashlib

import aiohttp

from tests.support.client import bearer
from tests.support.images import OCI_MANIFEST, push_image
from tests.support.processes import Gateway


async def test_repeated_gets_by_digest_are_answered_alike_and_a_delete_ends_them(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        push = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/cached:pull,push,delete")
        digest = await push_image(session, gateway.url, "alice/cached", "v1", push, seed="cached")
        url = f"{gateway.url}/v2/alice/cached/manifests/{digest}"
        answers = []
        for method in ("GET", "GET", "HEAD", "GET"):
            async with session.request(method, url, headers={**push, "Accept": OCI_MANIFEST}) as response:
                body = await response.read()
                answers.append((response.status, response.headers["Content-Type"], response.headers["Docker-Content-Digest"],
                                response.headers["Content-Length"], response.headers["Docker-Distribution-Api-Version"]))
                if method == "GET":
                    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
                else:
                    assert body == b""
        assert len(set(answers)) == 1 and answers[0][:3] == (200, OCI_MANIFEST, digest)

        other = await bearer(session, gateway.url, gateway.host, "bob", "repository:alice/cached:pull")
        async with session.get(url, headers=other) as response:
            assert response.status == 401, "bob's token does not grant pull on alice's private repository"
        async with session.get(url) as response:
            assert response.status == 401
        mallory = await bearer(session, gateway.url, gateway.host, "bob", "repository:bob/elsewhere:pull")
        async with session.get(f"{gateway.url}/v2/bob/elsewhere/manifests/{digest}", headers=mallory) as response:
            assert response.status == 404, "a digest cached for one repository is not served in another"

        async with session.delete(url, headers=push) as response:
            assert response.status == 202
        for method in ("GET", "HEAD"):
            async with session.request(method, url, headers=push) as response:
                assert response.status == 404


async def test_pulls_answered_from_memory_are_still_events(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        push = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/cached-events:pull,push")
        digest = await push_image(session, gateway.url, "alice/cached-events", "v1", push, seed="events")
        url = f"{gateway.url}/v2/alice/cached-events/manifests/{digest}"
        for _ in range(3):
            async with session.get(url, headers={**push, "Accept": OCI_MANIFEST}) as response:
                assert response.status == 200
        async with session.get(url, headers=push) as response:
            assert response.status == 404, "like registry 2.8: an OCI manifest only for clients that accept one"
        admin = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
        pulls: list[object] = []
        for _ in range(30):
            async with session.get(
                f"{gateway.url}/api/v1/events", params={"repository": "alice/cached-events", "action": "pull"}, headers=admin
            ) as response:
                assert response.status == 200, await response.text()
                pulls = (await response.json())["items"]
            if len(pulls) >= 3:
                break
            await asyncio.sleep(0.2)
        assert len(pulls) == 3
