"""Long transfers: an upload outlives its token, and a huge blob streams without buffering."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.client import bearer
from tests.support.processes import Gateway

LEEWAY_SECONDS = 60


def expired_twin(gateway: Gateway, token: str) -> str:
    """The same token (subject, scopes, key) as the gateway would have signed it long enough ago
    to be dead beyond the verifier's leeway: an upload that outlives its token, without the wait."""
    data = gateway.workdir / "data"
    key = serialization.load_pem_private_key((data / "token.key").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    ttl = int(claims["exp"]) - int(claims["iat"])
    issued = int(time.time()) - ttl - LEEWAY_SECONDS - 30
    claims.update(iat=issued, nbf=issued - 5, exp=issued + ttl)
    return jwt.encode(claims, key, algorithm=header["alg"], headers={k: v for k, v in header.items() if k not in ("alg", "typ")})


async def test_chunked_upload_survives_token_expiry(make_gateway: Callable[..., Gateway]) -> None:
    """The token that opened the upload is dead (beyond the 60 s leeway) when the next chunks come."""
    gw = make_gateway()
    chunks = [b"first chunk " * 1000, b"second chunk " * 1000, b"last chunk " * 1000]
    digest = "sha256:" + hashlib.sha256(b"".join(chunks)).hexdigest()
    async with aiohttp.ClientSession() as session:
        opening = await bearer(session, gw.url, gw.host, "alice", "repository:alice/slow:pull,push")
        async with session.post(f"{gw.url}/v2/alice/slow/blobs/uploads/", headers=opening) as response:
            assert response.status == 202
            location = response.headers["Location"]
        async with session.patch(location, data=chunks[0], headers=opening) as response:
            assert response.status == 202
            location = response.headers["Location"]

        headers = {"Authorization": "Bearer " + expired_twin(gw, opening["Authorization"].removeprefix("Bearer "))}
        async with session.get(f"{gw.url}/v2/alice/slow/tags/list", headers=headers) as response:
            assert response.status == 401, "the token must really be expired for this test to mean anything"
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        tampered = location.replace("_gw=", "_gw=1")
        async with session.patch(tampered, data=chunks[1], headers=headers) as response:
            assert response.status == 401
        async with session.patch(location, data=chunks[1], headers=headers) as response:
            assert response.status == 202, await response.text()
            location = response.headers["Location"]
        bob = await bearer(session, gw.url, gw.host, "bob")
        async with session.patch(location, data=chunks[2], headers=bob) as response:
            # bob may not even pull alice's private namespace: refused as if it did not exist
            assert response.status == 403, "an upload stays bound to the identity that opened it"
            assert (await response.json())["errors"][0]["code"] == "DENIED"
        async with session.patch(location, data=chunks[2], headers=headers) as response:
            assert response.status == 202
            location = response.headers["Location"]
        async with session.put(location, params={"digest": digest}, headers=headers) as response:
            assert response.status == 201, await response.text()
        fresh = await bearer(session, gw.url, gw.host, "alice", "repository:alice/slow:pull")
        async with session.head(f"{gw.url}/v2/alice/slow/blobs/{digest}", headers=fresh) as response:
            assert response.status == 200


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 5 GiB up and down on a small machine
async def test_five_gib_blob_streams_up_and_down_without_buffering(gateway: Gateway) -> None:
    size = 5 * 1024**3
    block = hashlib.sha256(b"big").digest() * (1024 * 1024 // 32)
    expected = hashlib.sha256()
    for _ in range(size // len(block)):
        expected.update(block)
    digest = "sha256:" + expected.hexdigest()
    assert gateway.process is not None
    pid = gateway.process.pid

    async def body() -> AsyncIterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    timeout = aiohttp.ClientTimeout(total=None, sock_read=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/huge:pull,push")
        async with session.get(f"{gateway.url}/v2/", headers=headers) as response:
            assert response.status == 200
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
        baseline = _rss_kib(pid, "VmRSS")
        async with session.post(f"{gateway.url}/v2/alice/huge/blobs/uploads/", headers=headers) as response:
            location = response.headers["Location"]
        put_headers = {**headers, "Content-Length": str(size), "Content-Type": "application/octet-stream"}
        async with session.put(location, params={"digest": digest}, data=body(), headers=put_headers) as response:
            assert response.status == 201, await response.text()
        received = hashlib.sha256()
        length = 0
        async with session.get(f"{gateway.url}/v2/alice/huge/blobs/{digest}", headers=headers) as response:
            assert response.status == 200
            async for chunk in response.content.iter_chunked(1024 * 1024):
                received.update(chunk)
                length += len(chunk)
        assert length == size
        assert "sha256:" + received.hexdigest() == digest
        async with session.delete(f"{gateway.url}/v2/alice/huge/blobs/{digest}", headers=await bearer(
            session, gateway.url, gateway.host, "alice", "repository:alice/huge:delete"
        )) as response:
            assert response.status == 202
    growth_mib = (_rss_kib(pid, "VmHWM") - baseline) / 1024
    assert growth_mib < 50, f"gateway peak RSS grew by {growth_mib:.1f} MiB while streaming 5 GiB"
