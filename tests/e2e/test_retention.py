"""Tag retention over a real registry 2.8, from the command line: three repositories with
different tag counts keep exactly N tags each (Portus counted across the registry and deleted
nearly everything), a tag sharing its manifest with a deleted one still pulls byte for byte,
and every deletion is an audit event naming the policy."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp

from tests.support.client import fetch_token
from tests.support.images import push_image
from tests.support.processes import Gateway, Registry

ADMIN = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json"


async def api(session: aiohttp.ClientSession, gateway: Gateway, method: str, path: str, body: Any = None) -> Any:
    async with session.request(method, f"{gateway.url}/api/v1{path}", json=body, headers=ADMIN) as response:
        assert response.status < 300, await response.text()
        return await response.json() if response.status != 204 else None


async def registry_tags(session: aiohttp.ClientSession, registry: Registry, repository: str) -> list[str]:
    async with session.get(f"{registry.url}/v2/{repository}/tags/list") as response:
        return sorted((await response.json()).get("tags") or [])


async def manifest_bytes(session: aiohttp.ClientSession, registry: Registry, repository: str, tag: str) -> bytes:
    async with session.get(f"{registry.url}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}) as response:
        assert response.status == 200, await response.text()
        return await response.read()


async def test_keep_last_keeps_exactly_n_tags_in_each_repository_and_each_deletion_names_its_policy(
    gateway: Gateway, registry: Registry
) -> None:
    team = f"keep-{uuid.uuid4().hex[:8]}"
    counts = {f"{team}/many": 5, f"{team}/few": 3, f"{team}/one": 1}
    async with aiohttp.ClientSession() as session:
        await api(session, gateway, "POST", "/teams", {"name": team})
        await api(session, gateway, "POST", "/namespaces", {"name": team, "team": team})
        scopes = [f"repository:{name}:pull,push" for name in counts]
        token = await fetch_token(session, gateway.url, gateway.host, *Gateway.ADMIN, *scopes)
        headers = {"Authorization": f"Bearer {token['token']}"}
        digests = {}
        for repository, count in counts.items():
            for index in range(1, count + 1):  # the last the newest, by push time and then by name
                # t1 of many names the same manifest as t5 (kept): deleting t1 alone must spare it.
                seed = f"{repository}-{5 if index == 1 else index}"
                digests[repository, index] = await push_image(session, gateway.url, repository, f"t{index}", headers, seed=seed)
        shared = digests[f"{team}/many", 5]
        assert digests[f"{team}/many", 1] == shared
        before = await manifest_bytes(session, registry, f"{team}/many", "t5")

        shown = gateway.cli("retention", "set", team, "--keep-last", "2", "--min-age", "0")
        assert shown.stdout.startswith(f"namespace {team}: keep-last=2 (set by (command line) at ")
        assert gateway.cli("retention", "show", team).stdout == shown.stdout

        dry = gateway.cli("retention", "run", "--dry-run").stdout.splitlines()
        doomed = {f"{team}/many:t1", f"{team}/many:t2", f"{team}/many:t3", f"{team}/few:t1"}
        assert {line.split()[2] for line in dry if line.startswith(f"would delete {team}/")} == doomed
        untouched = {name: len(await registry_tags(session, registry, name)) for name in counts}
        assert untouched == counts, "a dry run deletes nothing"

        ran = gateway.cli("retention", "run")
        assert {line.split()[1] for line in ran.stdout.splitlines() if line.startswith(f"deleted {team}/")} == doomed
        assert {name: await registry_tags(session, registry, name) for name in counts} == {
            f"{team}/many": ["t4", "t5"], f"{team}/few": ["t2", "t3"], f"{team}/one": ["t1"],
        }
        assert await manifest_bytes(session, registry, f"{team}/many", "t5") == before
        indexed = await api(session, gateway, "GET", f"/repositories/{team}/many/tags")
        assert [t["name"] for t in indexed["items"]] == ["t4", "t5"] and indexed["items"][1]["digest"] == shared

        events = (await api(session, gateway, "GET", f"/events?repository={team}/many&action=delete"))["items"]
        agents = sorted((e["target"]["tag"], e["request"]["useragent"]) for e in events)
        assert [tag for tag, _ in agents] == ["t1", "t2", "t3"]
        assert all(f"portus-gateway retention (policy {team}: not one of the newest 2)" == agent for _, agent in agents)
        assert json.dumps(events).count('"name": "(command line)"') >= 3
