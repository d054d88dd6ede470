"""HTTPS: skopeo pushes and pulls verifying the gateway's certificate (no tls-verify=false)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.clients import client_env, creds, run, unique
from tests.support.client import USERS, bearer, send_chunk
from tests.support.deployment import Certificate, HttpsGateway, make_certificate
from tests.support.oci_layout import build_layout
from tests.support.processes import Registry, require_tool


@pytest.fixture
def https_gateway(registry: Registry, tmp_path: Path) -> Iterator[HttpsGateway]:
    certificate = make_certificate(tmp_path / "pki")
    gateway = HttpsGateway(tmp_path / "gateway", registry.url, certificate=certificate)
    for name, password in USERS.items():
        gateway.add_user(name, password)
    yield gateway.start()
    gateway.stop()


def cert_dir(certificate: Certificate, path: Path) -> Path:
    """A containers-style certificate directory: the CA that signed the gateway's certificate as ca.crt."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(certificate.cert, path / "ca.crt")
    return path


def test_skopeo_pushes_and_pulls_over_https_verifying_the_certificate(https_gateway: HttpsGateway, tmp_path: Path) -> None:
    assert https_gateway.certificate is not None
    skopeo = require_tool("skopeo")
    env = client_env(tmp_path / "skopeo")
    certs = cert_dir(https_gateway.certificate, tmp_path / "certs")
    repository = unique("alice/tls")
    layout = build_layout(tmp_path / "layout", layers=2, seed=repository, tag="v1")
    ref = f"docker://localhost:{https_gateway.port}/{repository}:v1"

    pushed = run([skopeo, "copy", "--retry-times", "0", "--dest-cert-dir", str(certs), "--dest-creds", creds("alice"),
                  f"oci:{layout.path}:v1", ref], env)
    assert pushed.ok, pushed.describe()

    inspected = run([skopeo, "inspect", "--retry-times", "0", "--cert-dir", str(certs), "--creds", creds("alice"), ref], env)
    assert inspected.ok, inspected.describe()
    assert json.loads(inspected.stdout)["Digest"] == layout.manifest_digest

    # Tokens were fetched from the https realm the gateway announced.
    assert '"GET /v2/token?' in https_gateway.log_text()


def test_skopeo_refuses_the_gateway_without_its_ca(https_gateway: HttpsGateway, tmp_path: Path) -> None:
    skopeo = require_tool("skopeo")
    env = client_env(tmp_path / "skopeo")
    empty = tmp_path / "no-certs"
    empty.mkdir()
    result = run([skopeo, "inspect", "--retry-times", "0", "--cert-dir", str(empty), "--creds", creds("alice"),
                  f"docker://localhost:{https_gateway.port}/alice/none:v1"], env)
    assert not result.ok
    assert "certificate" in result.stderr.lower(), result.describe()


async def test_the_web_ui_session_cookie_is_secure_when_the_gateway_serves_https(https_gateway: HttpsGateway) -> None:
    """Served over HTTPS by the gateway itself (no public URL set): the session cookie is
    Secure, HttpOnly and SameSite=Lax, and the form is accepted from the https origin."""
    assert https_gateway.certificate is not None
    connector = aiohttp.TCPConnector(ssl=https_gateway.certificate.client_context())
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as client:
        async with client.get(f"{https_gateway.url}/ui/login") as response:
            page = await response.text()
            form_cookie = response.cookies["portus_form"]
        assert form_cookie["secure"] and form_cookie["httponly"]
        data = {"csrf": page.split('name="csrf" value="', 1)[1].split('"', 1)[0], "username": "alice", "password": USERS["alice"]}
        headers = {"Origin": https_gateway.url, "Cookie": f"portus_form={form_cookie.value}"}
        async with client.post(f"{https_gateway.url}/ui/login", data=data, headers=headers, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            cookie = response.cookies["portus_session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/ui"


async def test_a_large_chunked_upload_over_https_arrives_byte_for_byte(https_gateway: HttpsGateway) -> None:
    """A chunked PATCH as skopeo sends it, over TLS: the gateway decodes the body itself and reads
    it into its own buffers past the first 256 KiB (gateway/ops/owned_bodies.py), through uvloop's
    TLS transport."""
    assert https_gateway.certificate is not None
    tls = ssl.create_default_context(cafile=str(https_gateway.certificate.cert))
    data = os.urandom(3 * 1024 * 1024 + 5)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    repository = unique("alice/tls-chunked")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as session:
        auth = await bearer(session, https_gateway.url, https_gateway.host, "alice", f"repository:{repository}:pull,push")
        async with session.post(f"{https_gateway.url}/v2/{repository}/blobs/uploads/", headers=auth) as response:
            assert response.status == 202, await response.text()
            target = response.headers["Location"].split(https_gateway.url, 1)[-1]
        reader, writer = await asyncio.open_connection("127.0.0.1", https_gateway.port, ssl=tls)
        writer.write(
            f"PATCH {target} HTTP/1.1\r\nHost: {https_gateway.host}\r\nAuthorization: {auth['Authorization']}\r\n"
            "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        for offset in range(0, len(data), 32768):
            await send_chunk(writer, data[offset : offset + 32768])
        writer.write(b"0\r\n\r\n")
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)).decode()
        writer.close()
        assert head.startswith("HTTP/1.1 202"), head
        location = next(line.split(": ", 1)[1] for line in head.split("\r\n") if line.lower().startswith("location:"))
        async with session.put(location, params={"digest": digest}, headers=auth) as response:
            assert response.status == 201, await response.text()
        async with session.get(f"{https_gateway.url}/v2/{repository}/blobs/{digest}", headers=auth) as response:
            assert response.status == 200
            assert await response.read() == data
