"""Push small images straight over HTTP (no client binary), for tests about what the gateway records."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


async def push_blob(session: aiohttp.ClientSession, base_url: str, repo: str, data: bytes, headers: dict[str, str]) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    async with session.post(f"{base_url}/v2/{repo}/blobs/uploads/", headers=headers) as started:
        assert started.status == 202, await started.text()
        location = started.headers["Location"]
    async with session.put(location, params={"digest": digest}, data=data, headers=headers) as done:
        assert done.status == 201, await done.text()
    return digest


async def push_manifest(
    session: aiohttp.ClientSession, base_url: str, repo: str, reference: str, document: dict[str, Any], headers: dict[str, str],
    media_type: str = OCI_MANIFEST,
) -> tuple[int, str]:
    """PUT a manifest under `reference` (a tag; empty: its own digest)."""
    body = json.dumps(document).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    async with session.put(
        f"{base_url}/v2/{repo}/manifests/{reference or digest}", data=body, headers={**headers, "Content-Type": media_type}
    ) as response:
        await response.read()
        return response.status, digest


async def push_image(
    session: aiohttp.ClientSession, base_url: str, repo: str, tag: str, headers: dict[str, str], seed: str = "",
    extra: dict[str, Any] | None = None,
) -> str:
    """A one-layer OCI image under `tag` (empty: by digest); returns the manifest digest. `extra`
    adds top-level manifest fields."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "seed": seed}).encode()
    config_digest = await push_blob(session, base_url, repo, config, headers)
    layer = f"layer {repo} {seed}".encode()
    layer_digest = await push_blob(session, base_url, repo, layer, headers)
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
        **(extra or {}),
    }
    status, digest = await push_manifest(session, base_url, repo, tag, document, headers)
    assert status == 201, status
    return digest


OCI_INDEX = "application/vnd.oci.image.index.v1+json"


async def push_index(
    session: aiohttp.ClientSession, base_url: str, repo: str, tag: str, headers: dict[str, str],
    platforms: list[dict[str, str]],
) -> str:
    """An OCI index of one small image per platform (each pushed by digest first, as the registry
    wants the children before the index); returns the index's digest."""
    entries = []
    for number, platform in enumerate(platforms):
        digest = await push_image(session, base_url, repo, "", headers, seed=f"{tag}-{number}")
        async with session.get(
            f"{base_url}/v2/{repo}/manifests/{digest}", headers={**headers, "Accept": OCI_MANIFEST}
        ) as response:
            size = len(await response.read())
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "platform": platform})
    status, digest = await push_manifest(
        session, base_url, repo, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, headers, OCI_INDEX,
    )
    assert status == 201, status
    return digest
