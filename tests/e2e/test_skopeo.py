"""skopeo (containers/image) pushing, pulling, copying and deleting through the gateway."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.clients import (
    LogWindow,
    Skopeo,
    creds,
    oci_layout_manifest,
    stored_manifest,
    stored_tags,
    unique,
)
from tests.support.client import bearer
from tests.support.oci_layout import Layout, build_layout
from tests.support.processes import Gateway, Registry, free_port


@pytest.fixture
def skopeo(gateway: Gateway, tmp_path: Path) -> Skopeo:
    return Skopeo.create(gateway, tmp_path / "skopeo")


def make_layout(tmp_path: Path, seed: str) -> Layout:
    return build_layout(tmp_path / f"layout-{seed.replace('/', '-')}", layers=3, seed=seed, tag="v1")


def push_layout(skopeo: Skopeo, layout: Layout, repository: str, user: str) -> None:
    result = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(repository, "v1"), dest_creds=creds(user))
    assert result.ok, result.describe()


async def test_pushed_multi_layer_image_keeps_manifest_and_layer_digests(
    skopeo: Skopeo, gateway: Gateway, tmp_path: Path
) -> None:
    repository = unique("alice/skopeo-push")
    layout = make_layout(tmp_path, repository)
    push_layout(skopeo, layout, repository, "alice")

    inspected = skopeo.inspect(skopeo.ref(repository, "v1"), creds("alice"))
    assert inspected.ok, inspected.describe()
    details = json.loads(inspected.stdout)
    assert details["Digest"] == layout.manifest_digest
    assert tuple(details["Layers"]) == layout.layer_digests
    assert details["RepoTags"] == ["v1"]

    back = tmp_path / "pulled-back"
    pulled = skopeo.copy(skopeo.ref(repository, "v1"), f"oci:{back}:v1", src_creds=creds("alice"))
    assert pulled.ok, pulled.describe()
    digest, layers = oci_layout_manifest(back)
    assert digest == layout.manifest_digest
    assert tuple(layers) == layout.layer_digests

    status, stored_digest, _ = await stored_manifest(gateway, repository, "v1")
    assert (status, stored_digest) == (200, layout.manifest_digest)


async def test_copy_between_own_repositories_mounts_layers_instead_of_uploading(
    skopeo: Skopeo, gateway: Gateway, tmp_path: Path
) -> None:
    source = unique("alice/skopeo-mount-src")
    target = unique("alice/skopeo-mount-dst")
    layout = make_layout(tmp_path, source)
    push_layout(skopeo, layout, source, "alice")

    window = LogWindow.begin(gateway)
    copied = skopeo.copy(
        skopeo.ref(source, "v1"), skopeo.ref(target, "v1"), src_creds=creds("alice"), dest_creds=creds("alice")
    )
    assert copied.ok, copied.describe()

    window.wait_for(rf'"PUT /v2/{re.escape(target)}/manifests/v1 ')
    from_param = "from=" + source.replace("/", "%2F")
    mounts = window.wait_for(rf'"POST /v2/{re.escape(target)}/blobs/uploads/\?[^"]*{re.escape(from_param)}')
    assert mounts, f"no cross-repository mount attempted:\n{window.text()[-4000:]}"
    for layer in layout.layer_digests:
        mounted = [line for line in mounts if "mount=" + layer.replace(":", "%3A") in line]
        assert mounted and all('HTTP/1.1" 201 ' in line for line in mounted), (layer, mounts)

    status, digest, _ = await stored_manifest(gateway, target, "v1")
    assert (status, digest) == (200, layout.manifest_digest)


async def test_delete_by_tag_removes_the_manifest_it_points_to(skopeo: Skopeo, gateway: Gateway, tmp_path: Path) -> None:
    repository = unique("alice/skopeo-delete")
    layout = make_layout(tmp_path, repository)
    push_layout(skopeo, layout, repository, "alice")

    window = LogWindow.begin(gateway)
    deleted = skopeo.delete(skopeo.ref(repository, "v1"), creds("alice"))
    assert deleted.ok, deleted.describe()
    assert window.wait_for(
        rf'"DELETE /v2/{re.escape(repository)}/manifests/{re.escape(layout.manifest_digest)} HTTP/1.1" 202 '
    ), window.text()[-4000:]

    inspected = skopeo.inspect(skopeo.ref(repository, "v1"), creds("alice"))
    assert not inspected.ok
    assert "manifest unknown" in inspected.stderr
    status, _, _ = await stored_manifest(gateway, repository, layout.manifest_digest)
    assert status == 404


async def test_push_with_wrong_password_fails_and_stores_nothing(skopeo: Skopeo, gateway: Gateway, tmp_path: Path) -> None:
    repository = unique("alice/skopeo-badpw")
    layout = make_layout(tmp_path, repository)
    result = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(repository, "v1"), dest_creds=creds("alice", "not-her-password"))
    assert not result.ok, result.describe()
    assert "invalid username or password" in result.stderr
    assert await stored_tags(gateway, repository) == (404, [])


async def test_anonymous_push_is_refused_and_stores_nothing(skopeo: Skopeo, gateway: Gateway, tmp_path: Path) -> None:
    repository = unique("alice/skopeo-anon")
    layout = make_layout(tmp_path, repository)
    result = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(repository, "v1"))
    assert not result.ok, result.describe()
    assert "denied" in result.stderr or "unauthorized" in result.stderr
    assert await stored_tags(gateway, repository) == (404, [])


async def test_user_cannot_push_into_another_users_namespace(skopeo: Skopeo, gateway: Gateway, tmp_path: Path) -> None:
    repository = unique("bob/skopeo-intruder")
    layout = make_layout(tmp_path, repository)
    window = LogWindow.begin(gateway)
    result = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(repository, "v1"), dest_creds=creds("alice"))
    assert not result.ok, result.describe()
    assert await stored_tags(gateway, repository) == (404, [])
    assert window.wait_for(rf"alice refused pull,push on repository:{re.escape(repository)}: namespace 'bob' is private; non-members have no access")


async def test_user_pulls_back_the_image_he_pushed(skopeo: Skopeo, tmp_path: Path) -> None:
    repository = unique("bob/skopeo-own")
    layout = make_layout(tmp_path, repository)
    push_layout(skopeo, layout, repository, "bob")

    back = tmp_path / "bob-pulled"
    pulled = skopeo.copy(skopeo.ref(repository, "v1"), f"oci:{back}:v1", src_creds=creds("bob"))
    assert pulled.ok, pulled.describe()
    assert oci_layout_manifest(back) == (layout.manifest_digest, list(layout.layer_digests))


async def test_copy_out_of_another_users_private_namespace_is_refused(
    skopeo: Skopeo, gateway: Gateway, tmp_path: Path
) -> None:
    source = unique("alice/skopeo-private")
    target = unique("bob/skopeo-stolen")
    layout = make_layout(tmp_path, source)
    push_layout(skopeo, layout, source, "alice")

    window = LogWindow.begin(gateway)
    result = skopeo.copy(skopeo.ref(source, "v1"), skopeo.ref(target, "v1"), src_creds=creds("bob"), dest_creds=creds("bob"))
    assert not result.ok, result.describe()
    assert "reading manifest v1" in result.stderr
    assert window.wait_for(rf"token of 'bob' lacks pull on repository:{re.escape(source)}")
    assert await stored_tags(gateway, target) == (404, [])


async def test_push_succeeds_when_blob_cache_points_at_a_repository_the_user_may_not_pull(
    skopeo: Skopeo, gateway: Gateway, tmp_path: Path
) -> None:
    # skopeo's blob-info cache remembers that alice's repository holds these blobs, so bob's push
    # asks for a token on it and tries to reuse from there; that must fall back to an upload.
    alices = unique("alice/skopeo-cache-src")
    bobs = unique("bob/skopeo-cache-dst")
    layout = make_layout(tmp_path, alices)
    push_layout(skopeo, layout, alices, "alice")

    window = LogWindow.begin(gateway)
    push_layout(skopeo, layout, bobs, "bob")

    status, digest, manifest = await stored_manifest(gateway, bobs, "v1")
    assert (status, digest) == (200, layout.manifest_digest)
    assert tuple(layer["digest"] for layer in manifest["layers"]) == layout.layer_digests
    window.wait_for(rf'"PUT /v2/{re.escape(bobs)}/manifests/v1 ')
    assert window.wait_for(rf"bob refused pull on repository:{re.escape(alices)}"), (
        f"skopeo never tried alice's repository (blob-info cache not used?):\n{window.text()[-4000:]}"
    )
    from_alice = "from=" + alices.replace("/", "%2F")
    mounted = [line for line in window.lines(rf'"POST /v2/{re.escape(bobs)}/blobs/uploads/\?') if from_alice in line]
    assert [line for line in mounted if 'HTTP/1.1" 201 ' in line] == [], "nothing was mounted from alice's repository"
    for layer in layout.layer_digests:  # each layer was uploaded instead (skopeo may not even try the mount)
        uploaded = rf'"PUT /v2/{re.escape(bobs)}/blobs/uploads/[^" ]*digest={re.escape(layer.replace(":", "%3A"))} HTTP/1.1" 201 '
        assert window.lines(uploaded), (layer, window.text()[-4000:])
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "bob", f"repository:{bobs}:pull")
        for layer in layout.layer_digests:
            async with session.head(f"{gateway.url}/v2/{bobs}/blobs/{layer}", headers=headers) as response:
                assert response.status == 200, layer


async def test_mount_from_unreadable_repository_becomes_a_plain_upload(
    skopeo: Skopeo, gateway: Gateway, tmp_path: Path
) -> None:
    # What a client with a cache does when it skips the existence check (docker, newer
    # containers/image): POST ?mount=&from= a repository the token does not cover for pull.
    alices = unique("alice/mount-src")
    bobs = unique("bob/mount-dst")
    layout = make_layout(tmp_path, alices)
    push_layout(skopeo, layout, alices, "alice")

    window = LogWindow.begin(gateway)
    layer = layout.layer_digests[0]
    async with aiohttp.ClientSession() as session:
        headers = await bearer(
            session, gateway.url, gateway.host, "bob", f"repository:{bobs}:pull,push", f"repository:{alices}:pull"
        )
        url = f"{gateway.url}/v2/{bobs}/blobs/uploads/?mount={layer}&from={alices}"
        async with session.post(url, headers=headers) as response:
            assert response.status == 202, await response.text()
            assert "/blobs/uploads/" in response.headers["Location"]
            assert "Docker-Content-Digest" not in response.headers
        async with session.head(f"{gateway.url}/v2/{bobs}/blobs/{layer}", headers=headers) as response:
            assert response.status == 404
    assert window.wait_for(rf"mount from '{re.escape(alices)}' stripped: 'bob' may not pull it")


def round_trip(skopeo: Skopeo, tmp_path: Path, label: str) -> tuple[Layout, Path]:
    """Push a two-layer image of 3 MiB layers as alice and pull it back into an OCI layout; the
    pulled manifest and layers are the pushed ones."""
    repository = unique(f"alice/skopeo-{label}")
    layout = build_layout(tmp_path / f"layout-{label}", layers=2, layer_size=3 * 1024 * 1024, seed=repository, tag="v1")
    push_layout(skopeo, layout, repository, "alice")
    back = tmp_path / f"pulled-{label}"
    pulled = skopeo.copy(skopeo.ref(repository, "v1"), f"oci:{back}:v1", src_creds=creds("alice"))
    assert pulled.ok, pulled.describe()
    assert oci_layout_manifest(back) == (layout.manifest_digest, list(layout.layer_digests))
    return layout, back


async def test_layers_pulled_through_a_gateway_reading_the_registrys_storage_are_intact(
    make_gateway: Callable[..., Gateway], registry: Registry, tmp_path: Path
) -> None:
    gateway = make_gateway({"GATEWAY_UPSTREAM_STORAGE_DIR": str(registry.workdir / "store")})
    layout, back = round_trip(Skopeo.create(gateway, tmp_path / "skopeo-storage"), tmp_path, "storage")
    for digest in layout.layer_digests:  # skopeo checks digests as it pulls; so do we
        algorithm, hex_digest = digest.split(":", 1)
        assert hashlib.sha256((back / "blobs" / algorithm / hex_digest).read_bytes()).hexdigest() == hex_digest
    async with aiohttp.ClientSession() as session, session.get(f"{gateway.url}/metrics") as response:
        metrics = await response.text()
    sent = [float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("gateway_blobs_from_storage_total ")]
    assert sent and sent[0] >= 2, "both layers came from the registry's storage"


async def test_push_and_pull_through_a_gateway_on_the_registrys_unix_socket(
    make_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    """The scripts/run setup: the registry on a Unix socket, with no port the traffic could take."""
    socket_dir = Path(tempfile.mkdtemp(prefix="pg-sock-"))  # a socket path must fit in 108 bytes
    upstream = Registry(tmp_path / "socket-registry", socket=socket_dir / "registry.sock").start()
    try:
        gateway = make_gateway({"GATEWAY_UPSTREAM_SOCKET": str(upstream.socket)}, upstream_url=f"http://127.0.0.1:{free_port()}")
        layout, _ = round_trip(Skopeo.create(gateway, tmp_path / "skopeo-socket"), tmp_path, "socket")
        for digest in layout.layer_digests:
            hex_digest = digest.split(":", 1)[1]
            assert (upstream.store / "docker/registry/v2/blobs/sha256" / hex_digest[:2] / hex_digest / "data").is_file()
    finally:
        upstream.stop()
        shutil.rmtree(socket_dir, ignore_errors=True)


async def admin_call(gateway: Gateway, method: str, path: str, body: dict[str, object]) -> None:
    auth = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
    async with aiohttp.ClientSession() as session, session.request(
        method, f"{gateway.url}/api/v1{path}", json=body, headers=auth
    ) as response:
        assert response.status in (200, 201), await response.text()


async def test_one_tag_deleted_alone_and_immutable_tags_hold_against_skopeo(
    skopeo: Skopeo, gateway: Gateway, tmp_path: Path
) -> None:
    """alice's team namespace makes `v*` immutable: skopeo can neither move v1 to another image
    nor delete it (skopeo deletes by digest, which would take v1 too); deleting the tag `drop`
    alone leaves `keep` pulling the byte-identical manifest."""
    team = unique("imm").replace("-", "")
    namespace = f"{team}--ns"
    await admin_call(gateway, "POST", "/teams", {"name": team})
    await admin_call(gateway, "PUT", f"/teams/{team}/members/alice", {"role": "owner"})
    await admin_call(gateway, "POST", "/namespaces", {"name": namespace, "team": team})
    await admin_call(gateway, "PATCH", f"/namespaces/{namespace}", {"immutable_tags": ["v*"]})
    repository = f"{namespace}/app"
    layout, other = make_layout(tmp_path, repository), build_layout(tmp_path / "other", layers=1, seed="other", tag="v1")
    for tag in ("v1", "keep", "drop"):
        pushed = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref(repository, tag), dest_creds=creds("alice"))
        assert pushed.ok, pushed.describe()

    moved = skopeo.copy(f"oci:{other.path}:v1", skopeo.ref(repository, "v1"), dest_creds=creds("alice"))
    assert not moved.ok and "denied" in moved.stderr and "pattern 'v*'" in moved.stderr, moved.describe()
    deleted = skopeo.delete(skopeo.ref(repository, "v1"), creds("alice"))
    assert not deleted.ok and "immutable" in deleted.stderr, deleted.describe()

    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repository}:pull,push,delete")
        async with session.delete(f"{gateway.url}/v2/{repository}/manifests/drop", headers=headers) as response:
            assert response.status == 202, await response.text()
    assert await stored_tags(gateway, repository) == (200, ["keep", "v1"])
    back = tmp_path / "pulled-back"
    pulled = skopeo.copy(skopeo.ref(repository, "keep"), f"oci:{back}:keep", src_creds=creds("alice"))
    assert pulled.ok, pulled.describe()
    assert oci_layout_manifest(back)[0] == layout.manifest_digest
