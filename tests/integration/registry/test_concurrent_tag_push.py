"""One tag pushed through two gateways on one store at the same moment, with two different
manifests (both stores): both pushes succeed, the tag ends at one of the two digests in the
registry and in the repository index the gateways keep. (Which one the index keeps may differ
from the registry's after such a race: each gateway indexes its push after the registry
answered it. Closing that needs a lock across instances, the multi-instance work of issue 20.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from gateway.store import open_store
from tests.integration.api.conftest import no_traceback_since
from tests.support.client import bearer
from tests.support.images import OCI_CONFIG, OCI_MANIFEST, push_blob, push_manifest
from tests.support.processes import Gateway, Registry

REPOSITORY = "alice/race"
ROUNDS = 8


async def _document(session: aiohttp.ClientSession, gateway: Gateway, headers: dict[str, str], seed: str) -> dict[str, Any]:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "seed": seed}).encode()
    layer = f"layer {seed}".encode()
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": await push_blob(session, gateway.url, REPOSITORY, config, headers), "size": len(config)},
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": await push_blob(session, gateway.url, REPOSITORY, layer, headers), "size": len(layer),
        }],
    }


async def _registry_digest(session: aiohttp.ClientSession, registry: Registry, tag: str) -> str:
    async with session.head(f"{registry.url}/v2/{REPOSITORY}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}) as response:
        assert response.status == 200, tag
        return response.headers["Docker-Content-Digest"]


async def _race(
    session: aiohttp.ClientSession, twins: tuple[Gateway, Gateway], registry: Registry, database_url: str
) -> tuple[dict[str, tuple[set[str], str]], dict[str, str], int]:
    """Push two manifests to each of ROUNDS tags, one through each gateway at once; returns per
    tag (the two digests, the registry's digest), the index's tags and how many push events
    were recorded for them. Both pushes must succeed."""
    scope = f"repository:{REPOSITORY}:pull,push"
    headers = [await bearer(session, gateway.url, gateway.host, "alice", scope) for gateway in twins]
    documents = [await _document(session, twins[i], headers[i], f"seed-{i}") for i in (0, 1)]
    outcome: dict[str, tuple[set[str], str]] = {}
    for n in range(ROUNDS):
        tag = f"race{n}"
        pushes = await asyncio.gather(*(
            push_manifest(session, twins[i].url, REPOSITORY, tag, documents[i], headers[i]) for i in (0, 1)
        ))
        assert [status for status, _ in pushes] == [201, 201], pushes
        outcome[tag] = ({digest for _, digest in pushes}, await _registry_digest(session, registry, tag))
    store = await open_store(database_url)
    try:
        indexed = {row.tag: row.digest for row in await store.list_tags(REPOSITORY, limit=1000)}
        events = await store.list_events(repository=REPOSITORY, action="push", limit=1000)
    finally:
        await store.close()
    recorded = sum(1 for e in events if str(e.body.get("target", {}).get("tag", "")).startswith("race"))
    for gateway in twins:
        no_traceback_since(gateway, 0)
    return outcome, indexed, recorded


async def test_one_tag_pushed_through_two_gateways_at_once_takes_both_pushes(
    session: aiohttp.ClientSession, twins: tuple[Gateway, Gateway], registry: Registry, database_url: str
) -> None:
    outcome, indexed, recorded = await _race(session, twins, registry, database_url)
    for tag, (pushed, in_registry) in outcome.items():
        assert len(pushed) == 2 and in_registry in pushed, (tag, pushed, in_registry)
        assert indexed.get(tag) in pushed, (tag, indexed.get(tag), pushed)
    assert recorded == 2 * ROUNDS  # every push recorded, through whichever gateway
