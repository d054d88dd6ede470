"""podman (without a daemon or cgroups): login, push to and pull from the gateway.

podman keeps layers uncompressed (vfs) and compresses again on push, so the pushed manifest
and layer blobs may differ from the OCI layout it was loaded from; what must survive the round
trip is the image itself: its config digest (the image ID) and its layer diff IDs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.clients import LogWindow, Podman, creds, stored_manifest, unique
from tests.support.client import USERS
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[Podman]:
    client = Podman.create(tmp_path / "podman")
    yield client
    client.cleanup()


def test_podman_login_with_authfile_stores_credentials_for_the_gateway(podman: Podman, gateway: Gateway) -> None:
    result = podman(
        "login", "--tls-verify=false", "--authfile", str(podman.authfile), "-u", "alice", "--password-stdin", gateway.host,
        stdin=USERS["alice"] + "\n",
    )
    assert result.ok, result.describe()
    assert "Login Succeeded" in result.stdout
    assert gateway.host in json.loads(podman.authfile.read_text())["auths"]


def test_podman_login_with_wrong_password_fails(podman: Podman, gateway: Gateway) -> None:
    result = podman(
        "login", "--tls-verify=false", "--authfile", str(podman.authfile), "-u", "alice", "--password-stdin", gateway.host,
        stdin="not-her-password\n",
    )
    assert not result.ok, result.describe()
    assert "invalid username/password" in result.stderr
    assert not podman.authfile.exists() or gateway.host not in json.loads(podman.authfile.read_text()).get("auths", {})


async def test_podman_push_then_pull_back_keeps_the_image(podman: Podman, gateway: Gateway, tmp_path: Path) -> None:
    repository = unique("alice/podman-app")
    # podman names an oci: source after its path, which must be lowercase.
    layout = build_layout(tmp_path / "podman-layout", layers=3, seed=repository, tag="v1")
    loaded = podman("pull", f"oci:{layout.path}:v1")
    assert loaded.ok, loaded.describe()
    local_id = loaded.stdout.strip().splitlines()[-1]
    original = podman.inspect_image(local_id)
    assert original["Digest"] == layout.manifest_digest

    remote = f"{gateway.host}/{repository}:v1"
    digest_file = tmp_path / "pushed-digest"
    window = LogWindow.begin(gateway)
    pushed = podman(
        "push", "--tls-verify=false", "--creds", creds("alice"), "--digestfile", str(digest_file),
        local_id, f"docker://{remote}",
    )
    assert pushed.ok, pushed.describe()
    pushed_digest = digest_file.read_text().strip()
    assert window.wait_for(rf'"PUT /v2/{repository}/manifests/v1 HTTP/1.1" 201 '), window.text()[-4000:]

    status, stored_digest, manifest = await stored_manifest(gateway, repository, "v1")
    assert (status, stored_digest) == (200, pushed_digest)
    assert manifest["config"]["digest"] == f"sha256:{original['Id']}"
    assert len(manifest["layers"]) == 3

    removed = podman("rmi", "--force", local_id)
    assert removed.ok, removed.describe()
    assert not podman("image", "exists", local_id).ok

    login = podman(
        "login", "--tls-verify=false", "--authfile", str(podman.authfile), "-u", "alice", "--password-stdin", gateway.host,
        stdin=USERS["alice"] + "\n",
    )
    assert login.ok, login.describe()
    pulled = podman("pull", "--tls-verify=false", "--authfile", str(podman.authfile), remote)
    assert pulled.ok, pulled.describe()

    back = podman.inspect_image(remote)
    assert back["Id"] == original["Id"]
    assert back["Digest"] == pushed_digest
    assert back["RootFS"]["Layers"] == original["RootFS"]["Layers"]
    assert f"{gateway.host}/{repository}@{pushed_digest}" in back["RepoDigests"]


def test_podman_cannot_pull_another_users_private_image(podman: Podman, gateway: Gateway, tmp_path: Path) -> None:
    repository = unique("alice/podman-private")
    layout = build_layout(tmp_path / "private-layout", layers=1, seed=repository, tag="v1")
    loaded = podman("pull", f"oci:{layout.path}:v1")
    assert loaded.ok, loaded.describe()
    local_id = loaded.stdout.strip().splitlines()[-1]
    remote = f"{gateway.host}/{repository}:v1"
    pushed = podman("push", "--tls-verify=false", "--creds", creds("alice"), local_id, f"docker://{remote}")
    assert pushed.ok, pushed.describe()

    window = LogWindow.begin(gateway)
    as_bob = podman("pull", "--tls-verify=false", "--creds", creds("bob"), remote)
    assert not as_bob.ok, as_bob.describe()
    assert window.wait_for(rf"token of 'bob' lacks pull on repository:{repository}")
    anonymous = podman("pull", "--tls-verify=false", remote)
    assert not anonymous.ok, anonymous.describe()
    assert window.wait_for(rf"token of 'anonymous' lacks pull on repository:{repository}")
    assert not podman("image", "exists", remote).ok
