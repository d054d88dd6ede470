"""OCI distribution spec 1.1, endpoints end-1 .. end-13 and their error cases, through the
gateway with token auth, against the real registry 2.8 (which lacks some of them)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import aiohttp
import pytest

from tests.support.client import bearer
from tests.support.images import OCI_MANIFEST, push_blob, push_image, push_manifest
from tests.support.processes import Gateway

INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"


@pytest.fixture
def repo() -> str:
    return f"alice/oci-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def auth(session: aiohttp.ClientSession, gateway: Gateway, repo: str) -> dict[str, str]:
    return await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push,delete")


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def error_code(response: aiohttp.ClientResponse) -> str:
    return str((await response.json(content_type=None))["errors"][0]["code"])


async def test_end_1_base(session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str]) -> None:
    async with session.get(f"{gateway.url}/v2/", headers=auth) as response:
        assert response.status == 200
        assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


async def test_end_2_blob_get_head_and_unknown(session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str) -> None:
    digest = await push_blob(session, gateway.url, repo, b"end-2 blob", auth)
    async with session.head(f"{gateway.url}/v2/{repo}/blobs/{digest}", headers=auth) as response:
        assert response.status == 200
        assert response.headers["Content-Length"] == str(len(b"end-2 blob"))
        assert response.headers["Docker-Content-Digest"] == digest
    async with session.get(f"{gateway.url}/v2/{repo}/blobs/{digest}", headers=auth) as response:
        assert response.status == 200 and await response.read() == b"end-2 blob"
        assert response.headers["Docker-Content-Digest"] == digest
    async with session.get(f"{gateway.url}/v2/{repo}/blobs/{sha(b'nothing')}", headers=auth) as response:
        assert response.status == 404 and await error_code(response) == "BLOB_UNKNOWN"
    async with session.get(f"{gateway.url}/v2/{repo}/blobs/sha256:nothex", headers=auth) as response:
        assert response.status == 400 and await error_code(response) == "DIGEST_INVALID"


async def test_end_3_manifest_get_head_by_tag_and_digest(session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str) -> None:
    digest = await push_image(session, gateway.url, repo, "v1", auth)
    accept = {**auth, "Accept": OCI_MANIFEST}
    for reference in ("v1", digest):
        async with session.head(f"{gateway.url}/v2/{repo}/manifests/{reference}", headers=accept) as response:
            assert response.status == 200
            assert response.headers["Docker-Content-Digest"] == digest
            assert int(response.headers["Content-Length"]) > 0
        async with session.get(f"{gateway.url}/v2/{repo}/manifests/{reference}", headers=accept) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == OCI_MANIFEST
            assert sha(await response.read()) == digest
    async with session.get(f"{gateway.url}/v2/{repo}/manifests/missing", headers=accept) as response:
        assert response.status == 404 and await error_code(response) == "MANIFEST_UNKNOWN"
    async with session.get(f"{gateway.url}/v2/{repo}/manifests/-bad-tag", headers=accept) as response:
        assert response.status == 404 and await error_code(response) == "MANIFEST_UNKNOWN"  # no manifest can have it


async def test_end_4a_and_6_upload_then_put(session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str) -> None:
    async with session.post(f"{gateway.url}/v2/{repo}/blobs/uploads/", headers=auth) as response:
        assert response.status == 202
        location = response.headers["Location"]
    data = b"end-6 monolithic"
    async with session.put(location, params={"digest": sha(data)}, data=data, headers=auth) as response:
        assert response.status == 201
        assert response.headers["Docker-Content-Digest"] == sha(data)
        assert response.headers["Location"]
    async with session.post(f"{gateway.url}/v2/{repo}/blobs/uploads/", headers=auth) as response:
        location = response.headers["Location"]
    async with session.put(location, params={"digest": "sha256:short"}, data=data, headers=auth) as response:
        assert response.status == 400 and await error_code(response) == "DIGEST_INVALID"


async def test_end_4b_monolithic_post_with_digest_is_answered_with_a_session_to_finish(
    session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str
) -> None:
    """Registry 2.8 does not take a blob in one POST (OCI allows that): it opens an upload session,
    as it does for any POST, and the client finishes with a PUT, which the gateway passes on."""
    data = b"end-4b single post"
    url = f"{gateway.url}/v2/{repo}/blobs/uploads/?digest={sha(data)}"
    headers = {**auth, "Content-Type": "application/octet-stream"}
    async with session.post(url, data=data, headers=headers) as response:
        assert response.status == 202, await response.text()
        location = response.headers["Location"]
    async with session.put(location, params={"digest": sha(data)}, data=data, headers=auth) as done:
        assert done.status == 201, await done.text()
    async with session.head(f"{gateway.url}/v2/{repo}/blobs/{sha(data)}", headers=auth) as response:
        assert response.status == 200


async def test_end_5_and_13_chunks_in_order_out_of_order_repeated_and_status(
    session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str
) -> None:
    chunks = [b"a" * 1000, b"b" * 1000, b"c" * 500]
    async with session.post(f"{gateway.url}/v2/{repo}/blobs/uploads/", headers=auth) as response:
        location = response.headers["Location"]
    first_location = location
    offset = 0
    for index, chunk in enumerate(chunks[:2]):
        headers = {**auth, "Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + len(chunk) - 1}"}
        async with session.patch(location, data=chunk, headers=headers) as response:
            assert response.status == 202, await response.text()
            offset += len(chunk)
            assert response.headers["Range"] == f"0-{offset - 1}"
            location = response.headers["Location"]
        if index == 0:
            after_first = location
    out_of_order = {**auth, "Content-Type": "application/octet-stream", "Content-Range": f"{offset + 10}-{offset + 509}"}
    async with session.patch(location, data=chunks[2], headers=out_of_order) as response:
        assert response.status == 416
        assert response.headers["Range"] == f"0-{offset - 1}"
    repeated = {**auth, "Content-Type": "application/octet-stream", "Content-Range": "1000-1999"}
    async with session.patch(after_first, data=chunks[1], headers=repeated) as response:
        assert response.status == 416, "a repeated chunk sent to an old Location"
        assert response.headers["Range"] == f"0-{offset - 1}"
    async with session.get(first_location, headers=auth) as response:
        assert response.status == 204, "end-13 answers even for an old Location"
        assert response.headers["Range"] == f"0-{offset - 1}"
        location = response.headers["Location"]
        assert location.startswith(gateway.url)
    last = {**auth, "Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + 499}"}
    async with session.patch(location, data=chunks[2], headers=last) as response:
        assert response.status == 202
        location = response.headers["Location"]
    whole = b"".join(chunks)
    async with session.put(location, params={"digest": sha(whole)}, headers=auth) as response:
        assert response.status == 201, await response.text()
    async with session.get(f"{gateway.url}/v2/{repo}/blobs/{sha(whole)}", headers=auth) as response:
        assert await response.read() == whole, "the 416s left the upload intact"


async def test_end_7_manifest_put_and_size_limit(session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str) -> None:
    await push_image(session, gateway.url, repo, "base", auth)
    async with session.put(
        f"{gateway.url}/v2/{repo}/manifests/big", data=b"{" + b" " * (4 * 1024 * 1024) + b"}",
        headers={**auth, "Content-Type": OCI_MANIFEST},
    ) as response:
        assert response.status == 413 and await error_code(response) == "SIZE_INVALID"
    status, _ = await push_manifest(session, gateway.url, repo, "bad tag!", {"schemaVersion": 2}, auth)
    assert status == 400
    async with session.put(
        f"{gateway.url}/v2/{repo}/manifests/broken", data=b"not json", headers={**auth, "Content-Type": OCI_MANIFEST}
    ) as response:
        assert response.status == 400 and await error_code(response) == "MANIFEST_INVALID"


async def test_end_8_tag_list_paging(session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str) -> None:
    digest = await push_image(session, gateway.url, repo, "t3", auth)
    async with session.get(f"{gateway.url}/v2/{repo}/manifests/t3", headers={**auth, "Accept": OCI_MANIFEST}) as response:
        body = await response.read()
    for tag in ("t1", "t5", "t2", "t4"):
        async with session.put(f"{gateway.url}/v2/{repo}/manifests/{tag}", data=body, headers={**auth, "Content-Type": OCI_MANIFEST}) as response:
            assert response.headers["Docker-Content-Digest"] == digest
    async with session.get(f"{gateway.url}/v2/{repo}/tags/list", headers=auth) as response:
        assert await response.json() == {"name": repo, "tags": ["t1", "t2", "t3", "t4", "t5"]}
    async with session.get(f"{gateway.url}/v2/{repo}/tags/list?n=2", headers=auth) as response:
        assert (await response.json())["tags"] == ["t1", "t2"]
        assert response.headers["Link"] == f'</v2/{repo}/tags/list?n=2&last=t2>; rel="next"'
    async with session.get(f"{gateway.url}/v2/{repo}/tags/list?n=2&last=t4", headers=auth) as response:
        assert (await response.json())["tags"] == ["t5"]
        assert "Link" not in response.headers
    async with session.get(f"{gateway.url}/v2/{repo}/tags/list?n=0", headers=auth) as response:
        assert (await response.json())["tags"] == []
    async with session.get(f"{gateway.url}/v2/{repo}-none/tags/list", headers=await bearer(
        session, gateway.url, gateway.host, "alice", f"repository:{repo}-none:pull"
    )) as response:
        assert response.status == 404 and await error_code(response) == "NAME_UNKNOWN"


async def test_end_8b_tag_delete_and_end_9_manifest_delete(
    session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str
) -> None:
    digest = await push_image(session, gateway.url, repo, "gone", auth)
    async with session.delete(f"{gateway.url}/v2/{repo}/manifests/gone", headers=auth) as response:
        assert response.status == 202
    async with session.get(f"{gateway.url}/v2/{repo}/manifests/gone", headers={**auth, "Accept": OCI_MANIFEST}) as response:
        assert response.status == 404 and await error_code(response) == "MANIFEST_UNKNOWN"
    async with session.get(f"{gateway.url}/v2/{repo}/manifests/{digest}", headers={**auth, "Accept": OCI_MANIFEST}) as response:
        assert response.status == 200
    async with session.delete(f"{gateway.url}/v2/{repo}/manifests/{digest}", headers=auth) as response:
        assert response.status == 202
    async with session.get(f"{gateway.url}/v2/{repo}/manifests/{digest}", headers=auth) as response:
        assert response.status == 404 and await error_code(response) == "MANIFEST_UNKNOWN"


async def test_end_10_blob_delete(session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str) -> None:
    digest = await push_blob(session, gateway.url, repo, b"end-10", auth)
    async with session.delete(f"{gateway.url}/v2/{repo}/blobs/{digest}", headers=auth) as response:
        assert response.status == 202
    async with session.head(f"{gateway.url}/v2/{repo}/blobs/{digest}", headers=auth) as response:
        assert response.status == 404


async def test_end_11_mount(session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str) -> None:
    other = f"{repo}-src"
    source_auth = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{other}:pull,push")
    digest = await push_blob(session, gateway.url, other, b"end-11 shared", source_auth)
    both = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push", f"repository:{other}:pull")
    async with session.post(f"{gateway.url}/v2/{repo}/blobs/uploads/?mount={digest}&from={other}", headers=both) as response:
        assert response.status == 201
        assert response.headers["Docker-Content-Digest"] == digest
        assert response.headers["Location"]


def artifact(subject_digest: str, subject_size: int, artifact_type: str, config_digest: str) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_CONFIG, "digest": config_digest, "size": 2},
        "layers": [{"mediaType": EMPTY_CONFIG, "digest": config_digest, "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": subject_size},
        "annotations": {"org.example.kind": artifact_type},
    }


async def _subject_and_empty_config(
    session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str
) -> tuple[str, int, str]:
    """An image tagged v1 for artifacts to refer to: its digest and size, and the `{}` config blob."""
    subject = await push_image(session, gateway.url, repo, "v1", auth)
    async with session.get(f"{gateway.url}/v2/{repo}/manifests/v1", headers={**auth, "Accept": OCI_MANIFEST}) as response:
        subject_size = len(await response.read())
    return subject, subject_size, await push_blob(session, gateway.url, repo, b"{}", auth)


async def test_end_12_referrers_with_filter_and_delete(
    session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str
) -> None:
    subject, subject_size, empty = await _subject_and_empty_config(session, gateway, auth, repo)
    referrer_digests = {}
    for kind in ("application/vnd.example.sbom", "application/vnd.example.signature"):
        document = artifact(subject, subject_size, kind, empty)
        body = json.dumps(document).encode()
        async with session.put(
            f"{gateway.url}/v2/{repo}/manifests/{sha(body)}", data=body, headers={**auth, "Content-Type": OCI_MANIFEST}
        ) as response:
            assert response.status == 201, await response.text()
            assert response.headers["OCI-Subject"] == subject
        referrer_digests[kind] = sha(body)
    async with session.get(f"{gateway.url}/v2/{repo}/referrers/{subject}", headers=auth) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == INDEX
        index = await response.json(content_type=None)
    assert index["schemaVersion"] == 2 and index["mediaType"] == INDEX
    assert {(m["digest"], m["artifactType"], m["annotations"]["org.example.kind"]) for m in index["manifests"]} == {
        (digest, kind, kind) for kind, digest in referrer_digests.items()
    }
    sbom = "application/vnd.example.sbom"
    async with session.get(f"{gateway.url}/v2/{repo}/referrers/{subject}", params={"artifactType": sbom}, headers=auth) as response:
        assert response.headers["OCI-Filters-Applied"] == "artifactType"
        assert [m["digest"] for m in (await response.json(content_type=None))["manifests"]] == [referrer_digests[sbom]]
    async with session.delete(f"{gateway.url}/v2/{repo}/manifests/{referrer_digests[sbom]}", headers=auth) as response:
        assert response.status == 202
    async with session.get(f"{gateway.url}/v2/{repo}/referrers/{subject}", headers=auth) as response:
        assert [m["artifactType"] for m in (await response.json(content_type=None))["manifests"]] == ["application/vnd.example.signature"]
    async with session.get(f"{gateway.url}/v2/{repo}/referrers/{sha(b'no such subject')}", headers=auth) as response:
        assert response.status == 200, "never a 404 for a well-formed digest"
        assert (await response.json(content_type=None))["manifests"] == []
    async with session.get(f"{gateway.url}/v2/{repo}/referrers/not-a-digest", headers=auth) as response:
        assert response.status == 400 and await error_code(response) == "DIGEST_INVALID"


async def test_unknown_upload_gets_blob_upload_unknown(session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str) -> None:
    async with session.get(f"{gateway.url}/v2/{repo}/blobs/uploads/{uuid.uuid4()}?_state=x", headers=auth) as response:
        assert response.status in (400, 404)
        assert await error_code(response) in ("BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID")
    async with session.get(f"{gateway.url}/v2/{repo}/blobs/uploads/bad%20id", headers=auth) as response:
        assert response.status == 404 and await error_code(response) == "BLOB_UPLOAD_UNKNOWN"


NOT_A_REFERENCE = ".INVALID_MANIFEST_NAME"  # the conformance suite's manifest that cannot exist


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
async def test_a_reference_that_is_neither_a_tag_nor_a_digest_is_a_manifest_not_found(
    session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str, method: str
) -> None:
    await push_image(session, gateway.url, repo, "v1", auth)
    async with session.request(method, f"{gateway.url}/v2/{repo}/manifests/{NOT_A_REFERENCE}", headers=auth) as response:
        assert response.status == 404
        assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
        if method != "HEAD":
            assert response.content_type == "application/json"
            assert await error_code(response) == "MANIFEST_UNKNOWN"


async def test_a_manifest_put_under_a_name_that_is_not_a_tag_is_tag_invalid(
    session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str
) -> None:
    status, _ = await push_manifest(session, gateway.url, repo, NOT_A_REFERENCE, {"schemaVersion": 2}, auth)
    assert status == 400
    async with session.put(
        f"{gateway.url}/v2/{repo}/manifests/{NOT_A_REFERENCE}", data=b"{}", headers={**auth, "Content-Type": OCI_MANIFEST}
    ) as response:
        assert response.status == 400 and await error_code(response) == "TAG_INVALID"


async def test_the_referrers_index_has_exactly_the_index_media_type(
    session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str
) -> None:
    subject, subject_size, empty = await _subject_and_empty_config(session, gateway, auth, repo)
    body = json.dumps(artifact(subject, subject_size, "application/vnd.example.sbom", empty)).encode()
    async with session.put(
        f"{gateway.url}/v2/{repo}/manifests/{sha(body)}", data=body, headers={**auth, "Content-Type": OCI_MANIFEST}
    ) as response:
        assert response.status == 201
    for digest, query in ((subject, ""), (subject, "?artifactType=application/vnd.example.sbom"), (sha(b"none"), "")):
        async with session.get(f"{gateway.url}/v2/{repo}/referrers/{digest}{query}", headers=auth) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == INDEX
            assert (await response.json(content_type=INDEX))["mediaType"] == INDEX


async def test_a_manifest_has_exactly_its_media_type_from_the_registry_and_from_memory(
    session: aiohttp.ClientSession, gateway: Gateway, auth: dict[str, str], repo: str
) -> None:
    image = await push_image(session, gateway.url, repo, "image", auth)
    async with session.get(f"{gateway.url}/v2/{repo}/manifests/image", headers={**auth, "Accept": OCI_MANIFEST}) as response:
        image_size = len(await response.read())
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [{"mediaType": OCI_MANIFEST, "digest": image, "size": image_size}]}
    status, index_digest = await push_manifest(session, gateway.url, repo, "index", index, auth, media_type=INDEX)
    assert status == 201
    for media_type, tag, digest in ((OCI_MANIFEST, "image", image), (INDEX, "index", index_digest)):
        accept = {**auth, "Accept": media_type}
        for reference in (tag, digest, digest, tag):  # the repeats may come from the gateway's memory
            for method in ("GET", "HEAD"):
                async with session.request(method, f"{gateway.url}/v2/{repo}/manifests/{reference}", headers=accept) as response:
                    assert response.status == 200
                    assert response.headers["Content-Type"] == media_type, (method, reference)
                    assert response.headers["Docker-Content-Digest"] == digest
