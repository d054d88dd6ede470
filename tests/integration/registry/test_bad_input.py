"""Odd and hostile input on /v2, against the real registry: a clear OCI error, never a 500, a hang
or a request the registry would read differently from the gateway."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from yarl import URL

from tests.support.client import bearer
from tests.support.images import OCI_CONFIG, OCI_MANIFEST, push_blob
from tests.support.processes import Gateway, Registry
from tests.support.waiting import eventually


async def _manifest_document(session: aiohttp.ClientSession, gateway: Gateway, repo: str, headers: dict[str, str]) -> bytes:
    config = json.dumps({"architecture": "amd64", "os": "linux", "repo": repo}).encode()
    layer = f"a layer of {repo}".encode()
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": await push_blob(session, gateway.url, repo, config, headers), "size": len(config)},
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": await push_blob(session, gateway.url, repo, layer, headers),
                "size": len(layer),
            }
        ],
        "annotations": {"padding": "x" * 2000},  # big enough to arrive in several pieces
    }
    return json.dumps(document).encode()


async def _raw_exchange(gateway: Gateway, head: str, pieces: list[bytes], *, close_early: bool = False) -> tuple[int, bytes]:
    """Send a request head and then its body in pieces with pauses between; (status, body)."""
    host, port = gateway.host.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.encode())
        for index, piece in enumerate(pieces):
            writer.write(piece)
            await writer.drain()
            if close_early:
                return 0, b""
            if index < len(pieces) - 1:
                await asyncio.sleep(0.3)
        status_line = await asyncio.wait_for(reader.readline(), 15)
        fields: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 15)) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(fields.get("content-length", "0")))
        return int(status_line.split()[1]), body
    finally:
        writer.close()


def _errors(body: bytes) -> list[str]:
    return [error["code"] for error in json.loads(body)["errors"]]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_manifest_that_arrives_in_pieces_is_pushed_whole(gateway: Gateway, framing: str) -> None:
    repo = f"alice/pieces-{framing}"
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push")
        manifest = await _manifest_document(session, gateway, repo, headers)
        parts = [manifest[:100], manifest[100:1500], manifest[1500:]]
        head = (
            f"PUT /v2/{repo}/manifests/v1 HTTP/1.1\r\nHost: {gateway.host}\r\n"
            f"Authorization: {headers['Authorization']}\r\nContent-Type: {OCI_MANIFEST}\r\n"
        )
        if framing == "chunked":
            head += "Transfer-Encoding: chunked\r\n\r\n"
            pieces = [b"%x\r\n%s\r\n" % (len(part), part) for part in parts] + [b"0\r\n\r\n"]
        else:
            head += f"Content-Length: {len(manifest)}\r\n\r\n"
            pieces = parts
        status, body = await _raw_exchange(gateway, head, pieces)
        assert status == 201, body
        async with session.get(f"{gateway.url}/v2/{repo}/manifests/v1", headers={**headers, "Accept": OCI_MANIFEST}) as response:
            assert response.status == 200
            assert await response.read() == manifest


async def test_a_manifest_cut_short_by_its_client_leaves_the_gateway_serving(gateway: Gateway) -> None:
    repo = "alice/cut-manifest"
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push")
        manifest = await _manifest_document(session, gateway, repo, headers)
        head = (
            f"PUT /v2/{repo}/manifests/v1 HTTP/1.1\r\nHost: {gateway.host}\r\nAuthorization: {headers['Authorization']}\r\n"
            f"Content-Type: {OCI_MANIFEST}\r\nContent-Length: {len(manifest)}\r\n\r\n"
        )
        await _raw_exchange(gateway, head, [manifest[:100]], close_early=True)
        log = await eventually(gateway.log_text, lambda text: f"manifest PUT /v2/{repo}/manifests/v1 cut short" in text)
        assert f"manifest PUT /v2/{repo}/manifests/v1 cut short by the client" in log
        async with session.get(f"{gateway.url}/v2/{repo}/manifests/v1", headers={**headers, "Accept": OCI_MANIFEST}) as response:
            assert response.status == 404  # nothing half-pushed
    assert "Traceback" not in gateway.log_text()


@pytest.mark.parametrize("body", [b"null", b"[]", b"42", b'"a manifest"'])
async def test_a_manifest_that_is_json_but_not_an_object_is_manifest_invalid(gateway: Gateway, body: bytes) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/not-object:pull,push")
        async with session.put(
            f"{gateway.url}/v2/alice/not-object/manifests/v1", data=body, headers={**headers, "Content-Type": OCI_MANIFEST}
        ) as response:
            assert response.status == 400
            assert _errors(await response.read()) == ["MANIFEST_INVALID"]


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"schemaVersion": 2, "annotations": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}", b"{" * 100_000],
    ids=["deep-array", "deep-inside-an-object", "deep-objects"],
)
async def test_a_manifest_nested_too_deeply_is_manifest_invalid(gateway: Gateway, body: bytes) -> None:
    start = gateway.log_path.stat().st_size
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/deep:pull,push")
        async with session.put(
            f"{gateway.url}/v2/alice/deep/manifests/v1", data=body, headers={**headers, "Content-Type": OCI_MANIFEST}
        ) as response:
            assert response.status == 400
            assert _errors(await response.read()) == ["MANIFEST_INVALID"]
    with gateway.log_path.open("rb") as handle:
        handle.seek(start)
        assert b"Traceback" not in handle.read()


@pytest.mark.parametrize("reference", ["md5:abc", "a:b", "sha256+b64:abc", "sha384:" + "ab" * 47])
@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_a_digest_of_an_algorithm_the_registry_lacks_is_digest_invalid(gateway: Gateway, reference: str, method: str) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/algorithms:pull,push")
        async with session.request(
            method, f"{gateway.url}/v2/alice/algorithms/manifests/{reference}", data=b"{}" if method == "PUT" else None,
            headers={**headers, "Content-Type": OCI_MANIFEST},
        ) as response:
            assert response.status == 400
            assert _errors(await response.read()) == ["DIGEST_INVALID"]
    assert "upstream answered 500" not in gateway.log_text()


async def test_a_sha384_manifest_digest_reaches_the_registry(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/algorithms:pull")
        async with session.get(f"{gateway.url}/v2/alice/algorithms/manifests/sha384:{'ab' * 48}", headers=headers) as response:
            assert response.status == 404
            assert _errors(await response.read()) == ["MANIFEST_UNKNOWN"]


async def test_a_content_range_too_long_for_an_offset_is_refused(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/ranges:pull,push")
        async with session.post(f"{gateway.url}/v2/alice/ranges/blobs/uploads/", headers=headers) as response:
            location = response.headers["Location"]
        patch_headers = {**headers, "Content-Range": "0-" + "9" * 5000, "Content-Type": "application/octet-stream"}
        async with session.patch(location, data=b"abc", headers=patch_headers) as response:
            assert response.status == 416
            assert _errors(await response.read()) == ["BLOB_UPLOAD_INVALID"]
    assert "Traceback" not in gateway.log_text()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PROPFIND", "/v2/alice/app/manifests/v1", "GET, HEAD, PUT, DELETE"),
        ("POST", "/v2/alice/app/manifests/v1", "GET, HEAD, PUT, DELETE"),
        ("PUT", "/v2/alice/app/tags/list", "GET, HEAD"),
        ("DELETE", "/v2/", "GET, HEAD"),
        ("POST", "/v2/_catalog", "GET, HEAD"),
        ("PATCH", "/v2/alice/app/blobs/uploads/", "POST"),
        ("HEAD", "/v2/alice/app/referrers/sha256:" + "a" * 64, "GET"),
    ],
)
async def test_a_method_the_endpoint_lacks_gets_an_oci_405(gateway: Gateway, method: str, path: str, allowed: str) -> None:
    async with aiohttp.ClientSession() as session, session.request(method, f"{gateway.url}{path}") as response:
        assert response.status == 405
        assert response.headers["Allow"] == allowed
        if method != "HEAD":
            assert _errors(await response.read()) == ["UNSUPPORTED"]


@pytest.mark.parametrize(
    "query",
    [
        "m%6Funt={digest}&f%72om=alice/hidden",  # keys percent-encoded: the registry decodes them
        "mount={digest}&from=bob/shared&from=alice/hidden",  # one pullable source, one not
        "mount={digest}&from=alice/hidden&from=bob/shared",
    ],
)
async def test_a_disguised_mount_from_an_unreadable_repository_is_stripped(gateway: Gateway, query: str) -> None:
    async with aiohttp.ClientSession() as session:
        alice = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/hidden:pull,push")
        digest = await push_blob(session, gateway.url, "alice/hidden", b"alice's hidden layer", alice)
        bob = await bearer(
            session, gateway.url, gateway.host, "bob", "repository:bob/shared:pull,push", "repository:alice/hidden:pull"
        )
        await push_blob(session, gateway.url, "bob/shared", b"alice's hidden layer", bob)  # bob has the same bytes
        bob = await bearer(
            session, gateway.url, gateway.host, "bob", "repository:bob/borrow:pull,push", "repository:bob/shared:pull",
            "repository:alice/hidden:pull",
        )
        url = f"{gateway.url}/v2/bob/borrow/blobs/uploads/?{query.format(digest=digest)}"
        async with session.post(URL(url, encoded=True), headers=bob) as response:
            assert response.status == 202  # an ordinary upload, not a mount
            assert "mount" not in response.headers["Location"]
        async with session.head(f"{gateway.url}/v2/bob/borrow/blobs/{digest}", headers=bob) as response:
            assert response.status == 404
    log = await eventually(gateway.log_text, lambda text: "'alice/hidden'" in text and "stripped: 'bob'" in text)
    assert any("'alice/hidden'" in line and "stripped: 'bob' may not pull it" in line for line in log.splitlines())


async def test_a_host_header_that_is_not_a_host_stays_out_of_the_challenge(gateway: Gateway) -> None:
    host, port = gateway.host.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(b'GET /v2/ HTTP/1.1\r\nHost: evil",error="x\r\nConnection: close\r\n\r\n')
        answer = (await asyncio.wait_for(reader.read(), 10)).decode("latin-1")
    finally:
        writer.close()
    status = int(answer.split()[1])
    challenge = next(line for line in answer.split("\r\n") if line.lower().startswith("www-authenticate:"))
    assert status == 401
    assert "evil" not in challenge
    assert challenge.split(":", 1)[1].strip() == f'Bearer realm="http://{gateway.host}/v2/token",service="{gateway.host}"'


async def _refused_by_the_parser(gateway: Gateway, request_bytes: bytes) -> str:
    """Send raw bytes the HTTP parser refuses; expect a 400 and return what the gateway logged
    from then on, once it holds the refusal line and the access line."""
    start = gateway.log_path.stat().st_size
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        writer.write(request_bytes)
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    assert status_line.split()[1] == b"400"

    def since() -> str:
        with gateway.log_path.open("rb") as handle:
            handle.seek(start)
            return handle.read().decode(errors="replace")

    return await eventually(since, lambda text: "refused by the HTTP parser" in text and '" 400 ' in text)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n",
        b"GET /v2/" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    ],
)
async def test_a_request_the_http_parser_refuses_is_one_info_line_not_a_traceback(gateway: Gateway, request_bytes: bytes) -> None:
    log = await _refused_by_the_parser(gateway, request_bytes)
    assert "INFO aiohttp.server: request refused by the HTTP parser from 127.0.0.1: " in log
    assert "Traceback" not in log and "ERROR" not in log


async def test_an_upload_whose_client_stops_sending_is_closed_and_frees_its_registry_connection(
    make_gateway: Callable[..., Gateway],
) -> None:
    gateway = make_gateway({"GATEWAY_SERVER_CLIENT_IDLE_TIMEOUT": "1"})
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/stalled:pull,push")
        async with session.post(f"{gateway.url}/v2/alice/stalled/blobs/uploads/", headers=headers) as response:
            location = URL(response.headers["Location"])
        host, port = gateway.host.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(
                f"PATCH {location.raw_path_qs} HTTP/1.1\r\nHost: {gateway.host}\r\nAuthorization: {headers['Authorization']}\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n".encode() + b"x" * 1000
            )
            await writer.drain()
            closed = await asyncio.wait_for(reader.read(), 10)  # the gateway hangs up; the client stays silent
        finally:
            writer.close()
        assert b" 202 " not in closed
        log = await eventually(gateway.log_text, lambda text: "no byte of the body for 1 s" in text)
        assert f"PATCH {location.path}: no byte of the body for 1 s, connection closed" in log
        digest = await push_blob(session, gateway.url, "alice/stalled", b"a layer sent by a client that keeps sending", headers)
        async with session.head(f"{gateway.url}/v2/alice/stalled/blobs/{digest}", headers=headers) as response:
            assert response.status == 200
    assert "Traceback" not in gateway.log_text()


async def test_an_upload_slower_than_the_idle_timeout_in_total_but_never_silent_completes(
    make_gateway: Callable[..., Gateway],
) -> None:
    idle_timeout, gap, pieces = 2.0, 0.4, 8  # 3.2 s in all; a gap would have to grow fivefold to count as idle
    gateway = make_gateway({"GATEWAY_SERVER_CLIENT_IDLE_TIMEOUT": str(idle_timeout)})
    data = bytes(range(256)) * 64
    size = len(data) // pieces

    async def trickle() -> AsyncIterator[bytes]:
        for offset in range(0, len(data), size):
            yield data[offset : offset + size]
            await asyncio.sleep(gap)

    repo = "alice/trickle"
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push")
        async with session.post(f"{gateway.url}/v2/{repo}/blobs/uploads/", headers=headers) as response:
            location = URL(response.headers["Location"])
        patch_headers = {**headers, "Content-Type": "application/octet-stream"}
        async with session.patch(location, data=trickle(), headers=patch_headers) as response:
            assert response.status == 202, await response.text()
            assert response.headers["Range"] == f"0-{len(data) - 1}"
            location = URL(response.headers["Location"])
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        async with session.put(location.update_query(digest=digest), headers=headers) as response:
            assert response.status == 201, await response.text()
        async with session.get(f"{gateway.url}/v2/{repo}/blobs/{digest}", headers=headers) as response:
            assert response.status == 200 and await response.read() == data
    assert "no byte of the body" not in gateway.log_text()


@pytest.mark.parametrize("from_storage", [False, True], ids=["spliced-from-the-registry", "from-the-storage-directory"])
async def test_a_download_whose_client_stops_reading_is_cut_after_the_idle_timeout(
    make_gateway: Callable[..., Gateway], registry: Registry, from_storage: bool
) -> None:
    env = {"GATEWAY_SERVER_CLIENT_IDLE_TIMEOUT": "1"}
    if from_storage:
        env["GATEWAY_UPSTREAM_STORAGE_DIR"] = str(registry.store)
    gateway = make_gateway(env)
    data = hashlib.sha256(b"stalled download").digest() * (32 * 1024 * 1024 // 32)
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/stalled-pull:pull,push")
        digest = await push_blob(session, gateway.url, "alice/stalled-pull", data, headers)
        host, port = gateway.host.rsplit(":", 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        reader, writer = await asyncio.open_connection(sock=sock, limit=64 * 1024)
        try:
            writer.write(
                f"GET /v2/alice/stalled-pull/blobs/{digest} HTTP/1.1\r\nHost: {gateway.host}\r\n"
                f"Authorization: {headers['Authorization']}\r\n\r\n".encode()
            )
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200 ")
            # The client takes nothing more: everything between fills up, and the gateway hangs up.
            log = await eventually(gateway.log_text, lambda text: "the client stopped reading" in text, timeout=60)
            rest = await asyncio.wait_for(reader.read(), 20)  # then the client reads on: what was on the way, and the end
        finally:
            writer.close()
        assert "cut short: ConnectionResetError (the client stopped reading)" in log
        assert len(rest) < len(data)
        async with session.get(f"{gateway.url}/v2/alice/stalled-pull/blobs/{digest}", headers=headers) as response:
            assert response.status == 200 and await response.read() == data
    assert "Traceback" not in gateway.log_text()


async def test_a_tag_with_a_trailing_newline_is_refused_as_the_registry_would(gateway: Gateway) -> None:
    """`v1%0A` is no tag: 400 TAG_INVALID to a push, 404 MANIFEST_UNKNOWN to a read (registry 2.8
    answers 404 to both; OCI names TAG_INVALID for a push). It used to pass for `v1`."""
    repo = "alice/newline-tag"
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push")
        manifest = await _manifest_document(session, gateway, repo, headers)
        url = URL(f"{gateway.url}/v2/{repo}/manifests/v1%0A", encoded=True)
        async with session.put(url, data=manifest, headers={**headers, "Content-Type": OCI_MANIFEST}) as response:
            assert response.status == 400
            assert _errors(await response.read()) == ["TAG_INVALID"]
        for method in ("GET", "HEAD"):
            async with session.request(method, url, headers={**headers, "Accept": OCI_MANIFEST}) as response:
                assert response.status == 404
                if method == "GET":
                    assert _errors(await response.read()) == ["MANIFEST_UNKNOWN"]
        tags = URL(f"{gateway.url}/v2/{repo}/tags/list%0A", encoded=True)
        async with session.get(tags, headers=headers) as response:
            assert response.status == 404


SECRET = "c2VjcmV0LWluLWEtcmVmdXNlZC1yZXF1ZXN0"


@pytest.mark.parametrize(
    "request_bytes",
    [
        # over max_field_size (gateway/app.py): aiohttp quoted its first 100 bytes
        b"GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + SECRET.encode() + b"A" * 70000 + b"\r\n\r\n",
        b"GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + SECRET.encode() + b"\x00\r\n\r\n",
        b"GET /v2/token?password=" + SECRET.encode() + b" HTTP/1.1 junk\r\nHost: x\r\n\r\n",
        b"GET /v2/token?password=" + SECRET.encode() + b"&x=" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["oversized-authorization", "nul-in-authorization", "bad-request-line", "overlong-request-line"],
)
async def test_a_request_the_http_parser_refuses_never_puts_its_bytes_in_the_log(gateway: Gateway, request_bytes: bytes) -> None:
    log = await _refused_by_the_parser(gateway, request_bytes)
    assert "INFO aiohttp.server: request refused by the HTTP parser from 127.0.0.1: " in log
    assert SECRET not in log and SECRET[:12] not in log
