"""Real registry clients (skopeo, podman, docker CLI) run as subprocesses against the gateway.

Each client gets a private HOME, XDG dirs and an empty registries.conf, so nothing from the
machine's or another test's login state leaks in. Only skopeo's blob-info cache
(/var/lib/containers/cache when run as root) is shared, as it is on a real machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.client import USERS
from tests.support.processes import Gateway, require_tool

CLIENT_TIMEOUT = 90.0


def unique(prefix: str) -> str:
    """A repository path component no other test (or earlier run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def creds(user: str, password: str | None = None) -> str:
    return f"{user}:{USERS[user] if password is None else password}"


def client_env(root: Path) -> dict[str, str]:
    """An environment with a private HOME/XDG tree and an empty registries.conf under `root`."""
    home = root / "home"
    runtime = root / "xdg-runtime"
    config = root / "xdg-config"
    for directory in (home, runtime, config):
        directory.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    registries = root / "registries.conf"
    registries.write_text("# empty on purpose: tests use fully qualified references only\n")
    drop = ("DOCKER_", "REGISTRY_AUTH_FILE", "CONTAINERS_", "XDG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        {
            "HOME": str(home),
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_CONFIG_HOME": str(config),
            "CONTAINERS_REGISTRIES_CONF": str(registries),
        }
    )
    return env


@dataclass(frozen=True)
class Result:
    """A finished client command; `describe()` is what an assertion message shows."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        return f"$ {' '.join(self.args)}\nexit {self.returncode}\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}"


def run(args: Sequence[str], env: dict[str, str], *, stdin: str | None = None, timeout: float = CLIENT_TIMEOUT) -> Result:
    completed = subprocess.run(
        list(args), input=stdin if stdin is not None else "", capture_output=True, text=True, env=env, timeout=timeout,
    )
    return Result(tuple(args), completed.returncode, completed.stdout, completed.stderr)


@dataclass
class Skopeo:
    """skopeo against the (plain HTTP) gateway; credentials only ever passed per command."""

    gateway: Gateway
    env: dict[str, str]
    binary: str

    @classmethod
    def create(cls, gateway: Gateway, root: Path) -> Skopeo:
        return cls(gateway, client_env(root), require_tool("skopeo"))

    def ref(self, repository: str, tag: str) -> str:
        return f"docker://{self.gateway.host}/{repository}:{tag}"

    def copy(self, source: str, dest: str, *, src_creds: str | None = None, dest_creds: str | None = None) -> Result:
        args = [self.binary, "copy", "--retry-times", "0"]
        if source.startswith("docker://"):
            args += ["--src-tls-verify=false"]
            args += ["--src-creds", src_creds] if src_creds else ["--src-no-creds"]
        if dest.startswith("docker://"):
            args += ["--dest-tls-verify=false"]
            args += ["--dest-creds", dest_creds] if dest_creds else ["--dest-no-creds"]
        return run([*args, source, dest], self.env)

    def inspect(self, ref: str, user_creds: str | None, *, raw: bool = False) -> Result:
        args = [self.binary, "inspect", "--retry-times", "0", "--tls-verify=false"]
        args += ["--creds", user_creds] if user_creds else ["--no-creds"]
        return run([*args, *(["--raw"] if raw else []), ref], self.env)

    def delete(self, ref: str, user_creds: str) -> Result:
        return run([self.binary, "delete", "--retry-times", "0", "--tls-verify=false", "--creds", user_creds, ref], self.env)


@dataclass
class Podman:
    """podman with private storage (vfs), no cgroups manager and no events: what works without a daemon."""

    env: dict[str, str]
    binary: str
    root: Path
    runroot: Path

    @classmethod
    def create(cls, root: Path) -> Podman:
        binary = require_tool("podman")
        # podman refuses a runroot longer than 50 characters (it holds sockets): keep it short.
        runroot = Path(tempfile.mkdtemp(prefix="pgw-podman-"))
        return cls(client_env(root), binary, root, runroot)

    def cleanup(self) -> None:
        shutil.rmtree(self.runroot, ignore_errors=True)

    @property
    def authfile(self) -> Path:
        return self.root / "auth.json"

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        base = [
            self.binary, "--root", str(self.root / "storage"), "--runroot", str(self.runroot),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none",
        ]
        return run([*base, *args], self.env, stdin=stdin)

    def inspect_image(self, ref: str) -> dict[str, Any]:
        result = self("image", "inspect", ref)
        assert result.ok, result.describe()
        images = json.loads(result.stdout)
        assert len(images) == 1, images
        return dict(images[0])


@dataclass(frozen=True)
class LogWindow:
    """The part of the gateway log written after a point in time (the shared gateway logs every test)."""

    gateway: Gateway
    start: int

    @classmethod
    def begin(cls, gateway: Gateway) -> LogWindow:
        return cls(gateway, gateway.log_path.stat().st_size)

    def text(self) -> str:
        with self.gateway.log_path.open("rb") as handle:
            handle.seek(self.start)
            return handle.read().decode(errors="replace")

    def lines(self, pattern: str) -> list[str]:
        regex = re.compile(pattern)
        return [line for line in self.text().splitlines() if regex.search(line)]

    def wait_for(self, pattern: str, timeout: float = 15.0) -> list[str]:
        """Lines matching `pattern`, waiting briefly: log lines are written a fraction of a second after
        the response (gateway/ops/logs.py)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.lines(pattern)
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


async def admin_get(gateway: Gateway, path: str, scope: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET a /v2 path with an admin token for `scope`: the registry's view, independent of the client."""
    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
        params = {"service": gateway.host, "scope": scope}
        async with session.get(f"{gateway.url}/v2/token", params=params, headers=auth) as response:
            assert response.status == 200, await response.text()
            token = (await response.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        if accept:
            headers["Accept"] = accept
        async with session.get(f"{gateway.url}{path}", headers=headers) as response:
            return response.status, dict(response.headers), await response.read()


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


async def stored_manifest(gateway: Gateway, repository: str, reference: str) -> tuple[int, str, dict[str, Any]]:
    """(status, Docker-Content-Digest, manifest JSON) of a manifest as the registry holds it."""
    status, headers, body = await admin_get(
        gateway, f"/v2/{repository}/manifests/{reference}", f"repository:{repository}:pull", accept=OCI_MANIFEST
    )
    if status != 200:
        return status, "", {}
    return status, headers.get("Docker-Content-Digest", ""), dict(json.loads(body))


async def stored_tags(gateway: Gateway, repository: str) -> tuple[int, list[str]]:
    """(status, tags) of a repository's tag list as the registry holds it (404 when it does not exist)."""
    status, _, body = await admin_get(gateway, f"/v2/{repository}/tags/list", f"repository:{repository}:pull")
    if status != 200:
        return status, []
    return status, list(json.loads(body).get("tags") or [])


def oci_layout_manifest(path: Path) -> tuple[str, list[str]]:
    """(manifest digest, layer digests) of the single image in an OCI layout written by a client."""
    index = json.loads((path / "index.json").read_text())
    manifests = index["manifests"]
    assert len(manifests) == 1, index
    digest = str(manifests[0]["digest"])
    algorithm, hexdigest = digest.split(":", 1)
    manifest = json.loads((path / "blobs" / algorithm / hexdigest).read_text())
    return digest, [str(layer["digest"]) for layer in manifest["layers"]]
