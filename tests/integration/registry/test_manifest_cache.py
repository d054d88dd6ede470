"""Manifests from the gateway's memory: same answer as the registry, never to a token without
pull on the repository, gone after a DELETE, pulls still recorded; a tag that moved, through
this gateway or another on the same store, is never answered with its old digest."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.support.client import bearer
from tests.support.images import OCI_MANIFEST, push_image
from tests.support.processes import Gateway
from tests.support.waiting import eventually_async


async def test_repeated_gets_by_digest_are_answered_alike_and_a_delete_ends_them(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        push = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/cached:pull,push,delete")
        digest = await push_image(session, gateway.url, "alice/cached", "v1", push, seed="cached")
        url = f"{gateway.url}/v2/alice/cached/manifests/{digest}"
        before = await _answers_from_memory(session, gateway, "digest")
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
        remembered = await _answers_from_memory(session, gateway, "digest")
        assert remembered - before >= 3, "after the first answer at most, the digest is answered from memory"

        other = await bearer(session, gateway.url, gateway.host, "bob", "repository:alice/cached:pull")
        async with session.get(url, headers=other) as response:
            # refused as a missing name would be (no token could help bob), and not from the cache
            assert response.status == 404, "bob's token does not grant pull on alice's private repository"
            assert (await response.json())["errors"][0]["code"] == "NAME_UNKNOWN"
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
        assert await _answers_from_memory(session, gateway, "digest") == remembered, "nothing answered from memory after the DELETE"


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

        async def recorded_pulls() -> list[object]:
            async with session.get(
                f"{gateway.url}/api/v1/events", params={"repository": "alice/cached-events", "action": "pull"}, headers=admin
            ) as response:
                assert response.status == 200, await response.text()
                return list((await response.json())["items"])

        pulls = await eventually_async(recorded_pulls, lambda found: len(found) >= 3, timeout=30)  # written in batches
        assert len(pulls) == 3


async def _digest_by_tag(session: aiohttp.ClientSession, url: str, headers: dict[str, str], method: str = "GET") -> str:
    async with session.request(method, url, headers={**headers, "Accept": OCI_MANIFEST}) as response:
        body = await response.read()
        assert response.status == 200, body
        digest = response.headers["Docker-Content-Digest"]
        if method == "GET":
            assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
        return digest


async def _answers_from_memory(session: aiohttp.ClientSession, gateway: Gateway, by: str) -> float:
    async with session.get(f"{gateway.url}/metrics") as response:
        text = await response.text()
    line = f'gateway_manifest_cache_answers_total{{by="{by}"}} '
    return sum(float(row[len(line):]) for row in text.splitlines() if row.startswith(line))


async def test_a_tag_pushed_again_here_is_answered_with_its_new_digest_at_once(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        push = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/moving:pull,push")
        url = f"{gateway.url}/v2/alice/moving/manifests/latest"
        before = await _answers_from_memory(session, gateway, "tag")
        for n in range(3):
            digest = await push_image(session, gateway.url, "alice/moving", "latest", push, seed=f"moving {n}")
            assert [await _digest_by_tag(session, url, push, method) for method in ("GET", "HEAD", "GET", "GET")] == [digest] * 4
        assert await _answers_from_memory(session, gateway, "tag") > before
        async with session.get(url, headers={**push, "Accept": "application/vnd.docker.distribution.manifest.v2+json"}) as response:
            assert response.status == 404, "like registry 2.8: an OCI manifest only for clients that accept one"


@pytest.mark.parametrize("store", ["sqlite", "mariadb"])
async def test_a_tag_moved_through_another_gateway_on_the_same_store_is_followed_there(
    make_gateway: Callable[..., Gateway], tmp_path: Path, mariadb_url: str, store: str
) -> None:
    """On SQLite the other gateway sees the move at once (the WAL index); on MariaDB within one
    poll of the change version (the promise is 1 s), and never an older digest afterwards."""
    shared = (
        {"GATEWAY_DATA_DIR": str(tmp_path / "shared")} if store == "sqlite"
        else {"GATEWAY_DATABASE_URL": mariadb_url, "GATEWAY_DATA_DIR": str(tmp_path / "shared")}
    )
    pusher = make_gateway(shared)
    puller = make_gateway(shared, add_users=False)
    async with aiohttp.ClientSession() as session:
        repository = f"alice/moved-{store}"
        push = await bearer(session, pusher.url, pusher.host, "alice", f"repository:{repository}:pull,push")
        pull = await bearer(session, puller.url, puller.host, "alice", f"repository:{repository}:pull")
        url = f"{puller.url}/v2/{repository}/manifests/v1"
        for n in range(4):
            digest = await push_image(session, pusher.url, repository, "v1", push, seed=f"moved {n}")
            if store == "mariadb":
                seen = await eventually_async(lambda: _digest_by_tag(session, url, pull), lambda found, want=digest: found == want, timeout=20)
                assert seen == digest, "the other gateway kept answering the tag's old digest"
            for _ in range(5):
                assert await _digest_by_tag(session, url, pull) == digest
                assert await _digest_by_tag(session, url, pull, "HEAD") == digest
        answered = await _answers_from_memory(session, puller, "tag")
    assert answered > 0, "between pushes the tag was answered from memory"
