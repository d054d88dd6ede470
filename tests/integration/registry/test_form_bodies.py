"""Registry 2.8 reads `mount`, `from`, `digest` and `_state` with Go's `r.FormValue`, which also
parses a form body: through the gateway it acts only on the query the gateway checked, and every
mount that happens is recorded."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable

import aiohttp
import pytest
from yarl import URL

from gateway.store import open_store
from tests.support.client import bearer
from tests.support.images import push_blob
from tests.support.processes import Gateway

FORM = "application/x-www-form-urlencoded"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def multipart(fields: dict[str, str], boundary: str = "gw-boundary") -> bytes:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields.items()]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


async def _bob_private_layer(session: aiohttp.ClientSession, gateway: Gateway, data: bytes) -> str:
    bob = await bearer(session, gateway.url, gateway.host, "bob", "repository:bob/private:pull,push")
    return await push_blob(session, gateway.url, "bob/private", data, bob)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (FORM, "mount={digest}&from=bob/private"),
        ("Application/X-WWW-Form-URLEncoded ; charset=utf-8", "mount={digest}&from=bob/private"),
        (f"{FORM}; =malformed", "mount={digest}&from=bob/private"),
        ("multipart/form-data; boundary=gw-boundary", "multipart"),
    ],
    ids=["urlencoded", "other-case-and-parameters", "malformed-parameters", "multipart"],
)
async def test_a_mount_asked_for_in_a_form_body_does_not_give_another_users_layer(
    gateway: Gateway, content_type: str, body: str
) -> None:
    async with aiohttp.ClientSession() as session:
        digest = await _bob_private_layer(session, gateway, f"bob's private layer {content_type}".encode())
        repo = f"alice/thief-{uuid.uuid4().hex[:8]}"
        alice = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push")
        fields = {"mount": digest, "from": "bob/private"}
        data = multipart(fields) if body == "multipart" else body.format(digest=digest).encode()
        async with session.post(
            f"{gateway.url}/v2/{repo}/blobs/uploads/", data=data, headers={**alice, "Content-Type": content_type}
        ) as response:
            assert response.status == 202, "an ordinary upload, not a mount"
            assert "/blobs/uploads/" in response.headers["Location"]
        async with session.get(f"{gateway.url}/v2/{repo}/blobs/{digest}", headers=alice) as response:
            assert response.status == 404


async def test_a_form_body_cannot_name_a_source_other_than_the_query_checked(gateway: Gateway) -> None:
    """The body's `from` would win over the query's in a urlencoded form."""
    async with aiohttp.ClientSession() as session:
        digest = await _bob_private_layer(session, gateway, b"bob's layer behind alice's own source")
        alice = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/decoy:pull,push")
        repo = f"alice/swap-{uuid.uuid4().hex[:8]}"
        both = await bearer(
            session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push", "repository:alice/decoy:pull"
        )
        await push_blob(session, gateway.url, "alice/decoy", b"something else", alice)
        async with session.post(
            f"{gateway.url}/v2/{repo}/blobs/uploads/?mount={digest}&from=alice/decoy",
            data=f"mount={digest}&from=bob/private".encode(), headers={**both, "Content-Type": FORM},
        ) as response:
            assert response.status == 202, "alice/decoy lacks the blob; bob/private was never asked"
        async with session.head(f"{gateway.url}/v2/{repo}/blobs/{digest}", headers=both) as response:
            assert response.status == 404


async def test_repeated_content_type_headers_are_refused(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        digest = await _bob_private_layer(session, gateway, b"bob's layer, repeated headers")
        alice = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/repeated:pull,push")
    body = f"mount={digest}&from=bob/private".encode()
    host, port = gateway.host.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            f"POST /v2/alice/repeated/blobs/uploads/ HTTP/1.1\r\nHost: {gateway.host}\r\n"
            f"Authorization: {alice['Authorization']}\r\nContent-Type: {FORM}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    assert status_line.split()[1] == b"400"
    async with (
        aiohttp.ClientSession() as session,
        session.head(f"{gateway.url}/v2/alice/repeated/blobs/{digest}", headers=alice) as response,
    ):
        assert response.status == 404


async def test_a_digest_in_a_form_body_does_not_replace_the_query_digest(gateway: Gateway) -> None:
    """A PUT that completes an upload commits the query's digest over the bytes sent, as is."""
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/form-digest:pull,push")
        async with session.post(f"{gateway.url}/v2/alice/form-digest/blobs/uploads/", headers=headers) as response:
            location = response.headers["Location"]
        empty = sha(b"")
        data = f"digest={empty}".encode()
        async with session.put(
            location, params={"digest": sha(data)}, data=data, headers={**headers, "Content-Type": FORM}
        ) as response:
            assert response.status == 201, await response.text()
            assert response.headers["Docker-Content-Digest"] == sha(data)
        async with session.get(f"{gateway.url}/v2/alice/form-digest/blobs/{sha(data)}", headers=headers) as response:
            assert response.status == 200 and await response.read() == data
        async with session.head(f"{gateway.url}/v2/alice/form-digest/blobs/{empty}", headers=headers) as response:
            assert response.status == 404


async def test_a_monolithic_upload_sent_the_curl_way_as_a_form_is_stored_as_sent(gateway: Gateway) -> None:
    """`curl --data-binary @layer` labels the bytes x-www-form-urlencoded; registry 2.8 alone would
    read them as a form and commit nothing."""
    data = bytes(range(256)) * 40 + b"&a=b%zz;+"
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/curl-style:pull,push")
        async with session.post(f"{gateway.url}/v2/alice/curl-style/blobs/uploads/", headers=headers) as response:
            location = response.headers["Location"]
        async with session.put(
            location, params={"digest": sha(data)}, data=data, headers={**headers, "Content-Type": FORM}
        ) as response:
            assert response.status == 201, await response.text()
        async with session.get(f"{gateway.url}/v2/alice/curl-style/blobs/{sha(data)}", headers=headers) as response:
            assert response.status == 200 and await response.read() == data


@pytest.mark.parametrize(
    "content_type", [FORM, "text/plain", "application/octet-stream; charset=binary", "APPLICATION/OCTET-STREAM"]
)
async def test_a_chunk_of_any_content_type_is_stored_as_sent(gateway: Gateway, content_type: str) -> None:
    """Registry 2.8 takes a PATCH only as application/octet-stream (a 500 else): blob bytes have no
    media type, so the gateway sends every chunk as that."""
    data = b"mount=x&from=y&_state=z " + content_type.encode()
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/form-chunk:pull,push")
        async with session.post(f"{gateway.url}/v2/alice/form-chunk/blobs/uploads/", headers=headers) as response:
            location = response.headers["Location"]
        async with session.patch(location, data=data, headers={**headers, "Content-Type": content_type}) as response:
            assert response.status == 202, await response.text()
            location = response.headers["Location"]
        async with session.put(location, params={"digest": sha(data)}, headers=headers) as response:
            assert response.status == 201, await response.text()
        async with session.get(f"{gateway.url}/v2/alice/form-chunk/blobs/{sha(data)}", headers=headers) as response:
            assert await response.read() == data


@pytest.mark.parametrize(
    "query",
    [
        "mount={digest}&from={source}",
        "from=nobody/else;x&mount={digest}&from={source}",  # Go drops a pair holding `;`
        "mount=%zz&mount={digest}&from={source}",  # and one with a bad escape
        "mount={digest}&fr%6Fm={source}&from=bob/private",  # Go reads the first `from`
    ],
    ids=["plain", "semicolon-pair", "bad-escape", "first-of-two-sources"],
)
async def test_a_mount_that_happens_is_recorded_with_what_the_registry_read(
    make_gateway: Callable[..., Gateway], database_url: str, query: str
) -> None:
    gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url})
    source = "alice/mount-source"
    repo = f"alice/mounted-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        alice = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{source}:pull,push")
        digest = await push_blob(session, gateway.url, source, b"a layer alice also has", alice)
        both = await bearer(
            session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push", f"repository:{source}:pull",
            "repository:bob/private:pull",
        )
        url = f"{gateway.url}/v2/{repo}/blobs/uploads/?{query.format(digest=digest, source=source)}"
        async with session.post(URL(url, encoded=True), headers=both) as response:
            if "bob/private" in query:
                assert response.status == 202, "bob/private is not alice's to pull: the mount is stripped"
            else:
                assert response.status == 201
                assert response.headers["Docker-Content-Digest"] == digest
        async with session.post(
            f"{gateway.url}/v2/{repo}/blobs/uploads/", data=f"mount={digest}&from={source}".encode(),
            headers={**both, "Content-Type": FORM},
        ) as response:
            assert response.status == 202, "a mount asked for in the body is not made, even from a pullable source"
    store = await open_store(database_url)
    try:
        events = await store.list_events(repository=repo)
    finally:
        await store.close()
    if "bob/private" in query:
        assert events == []
        return
    assert [(e.action, e.body["target"]["digest"], e.body["target"]["fromRepository"], e.body["actor"]["name"]) for e in events] == [
        ("mount", digest, source, "alice")
    ]
