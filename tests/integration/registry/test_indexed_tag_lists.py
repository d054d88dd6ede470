"""`/v2/NAME/tags/list` of a repository the index knows is read from the index a page at a time
(the OCI `n` and `last`, a `Link` to the next page), without asking the registry: here the
registry is a closed port, so any question to it would be a 503. A repository the index has no
tag of is still asked of the registry. On both stores, in-process."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.app import create_app
from gateway.auth.credentials import MIN_COST, PasswordHasher
from gateway.config import load_settings
from gateway.registry import tags as tag_lists
from gateway.store import ImportedTag

Client = TestClient[aiohttp.web.Request, aiohttp.web.Application]
REPOSITORY = "alice/indexed"
# Byte order, as the registry sorts: capitals before small letters, "1.10" before "1.9".
TAGS = sorted([f"1.{k}" for k in range(40)] + ["Latest", "latest", "_x", "v-1", "V2"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def client(tmp_path: Path, database_url: str) -> AsyncIterator[Client]:
    settings = load_settings({
        "GATEWAY_DATA_DIR": str(tmp_path / "data"), "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_UPSTREAM_URL": f"http://127.0.0.1:{_closed_port()}",
    })
    started = TestClient(TestServer(create_app(settings, announce_setup=False)))
    await started.start_server()
    store = started.app[keys.STORE]
    await store.create_user("alice", await PasswordHasher(cost=MIN_COST).hash("alice-secret-pw"))
    await store.import_tags(REPOSITORY, [ImportedTag(t, "sha256:" + f"{i:064x}", 1, 1) for i, t in enumerate(TAGS)])
    yield started
    await started.close()


async def _get(client: Client, path: str, scope: str) -> tuple[int, dict[str, Any], str | None]:
    async with client.get("/v2/") as challenge:
        service = challenge.headers["WWW-Authenticate"].split('service="')[1].split('"')[0]
    basic = aiohttp.encode_basic_auth("alice", "alice-secret-pw")
    async with client.get("/v2/token", params={"service": service, "scope": scope}, headers={"Authorization": basic}) as answer:
        token = (await answer.json())["token"]
    async with client.get(path, headers={"Authorization": f"Bearer {token}"}) as answer:
        return answer.status, await answer.json(), answer.headers.get("Link")


async def test_tag_lists_are_paged_from_the_index_and_only_unknown_repositories_reach_the_registry(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One app per store for every case: a fresh MariaDB database takes seconds to migrate."""
    scope = f"repository:{REPOSITORY}:pull"
    paged: list[str] = []
    path: str | None = f"/v2/{REPOSITORY}/tags/list?n=7"
    while path is not None:
        status, body, link = await _get(client, path, scope)
        assert status == 200, body
        assert body["name"] == REPOSITORY and len(body["tags"]) <= 7
        paged += body["tags"]
        path = None if link is None else link.split(">")[0].lstrip("<")
    assert paged == TAGS
    status, body, link = await _get(client, f"/v2/{REPOSITORY}/tags/list?n=3&last=1.9", scope)
    assert (status, body["tags"], link) == (200, ["Latest", "V2", "_x"], f'</v2/{REPOSITORY}/tags/list?n=3&last=_x>; rel="next"')
    for query, expected in (("n=0", []), ("last=zzz", []), ("n=100&last=v-1", []), ("n=1000", TAGS), ("last=_x", ["latest", "v-1"])):
        status, body, link = await _get(client, f"/v2/{REPOSITORY}/tags/list?{query}", scope)
        assert (status, body["tags"], link) == (200, expected, None), query
    monkeypatch.setattr(tag_lists, "_INDEX_CHUNK", 4)  # a list without `n` is read whole, a chunk at a time
    status, body, link = await _get(client, f"/v2/{REPOSITORY}/tags/list", scope)
    assert (status, body["tags"], link) == (200, TAGS, None)
    status, body, _ = await _get(client, "/v2/alice/elsewhere/tags/list?n=5", "repository:alice/elsewhere:pull")
    assert status == 503 and body["errors"][0]["code"] == "UNAVAILABLE"
