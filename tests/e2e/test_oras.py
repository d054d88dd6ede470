"""oras-py (PyPI `oras`) pushes an artifact with a `subject`; the referrers API finds it."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import aiohttp
import oras.client
import oras.oci

from tests.support.client import bearer
from tests.support.images import OCI_MANIFEST, push_image
from tests.support.processes import Gateway


async def test_oras_pushes_an_artifact_the_referrers_api_finds(gateway: Gateway, tmp_path: Path) -> None:
    repo = f"alice/oras-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push")
        subject_digest = await push_image(session, gateway.url, repo, "v1", headers)
        async with session.get(f"{gateway.url}/v2/{repo}/manifests/v1", headers={**headers, "Accept": OCI_MANIFEST}) as response:
            subject_size = len(await response.read())
        token = headers["Authorization"].removeprefix("Bearer ")

    signature = tmp_path / "signature.txt"
    signature.write_text("signed by the tests")

    def push() -> int:
        client = oras.client.OrasClient(hostname=gateway.host, insecure=True, auth_backend="token")
        # oras-py re-sends a pull-only token after a 401 insufficient_scope, so give it pull,push up front.
        client.auth.set_token_auth(token)
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            response = client.push(
                target=f"{gateway.host}/{repo}:signature",
                files=[f"{signature.name}:application/vnd.example.signature.v1"],
                subject=oras.oci.Subject(mediaType=OCI_MANIFEST, digest=subject_digest, size=subject_size),
                manifest_annotations={"org.example.signer": "tests"},
            )
        finally:
            os.chdir(cwd)
        return int(response.status_code)

    assert await asyncio.to_thread(push) == 201
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.url}/v2/{repo}/referrers/{subject_digest}", headers=headers) as response,
    ):
        assert response.status == 200
        index = await response.json(content_type=None)
    assert len(index["manifests"]) == 1
    found = index["manifests"][0]
    assert found["mediaType"] == OCI_MANIFEST
    assert found["annotations"]["org.example.signer"] == "tests"
    assert found["size"] > 0 and found["digest"].startswith("sha256:")
