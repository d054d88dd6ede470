"""skopeo push and pull of a whole image, through the gateway and straight to the registry.

Every push carries fresh layer bytes, so neither side can skip uploads (the registry already
holding a blob, or skopeo's blob-info cache suggesting a mount). Layers are uncompressed tars of
pseudo-random bytes, cheap to write; skopeo gzips them on the way to a registry, as podman and
docker do with local layers, and sends each in one PATCH with chunked encoding, one layer after
another.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import random
import shutil
import tarfile
import time
from pathlib import Path

from tests.bench import sysstat
from tests.bench.common import Bench, GiB, MiB, Row, alternate, median, say, written_back
from tests.bench.stack import USER, warm_logins
from tests.e2e.clients import client_env
from tests.support.oci_layout import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST

OCI_TAR_LAYER = "application/vnd.oci.image.layer.v1.tar"
LAYERS = 4


def _write_blob(blobs: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build_image(path: Path, size: int, seed: int, layers_count: int = LAYERS) -> Path:
    """An OCI layout of `layers_count` uncompressed layers adding up to about `size` bytes (a
    layer of 256 MiB or more is too big for `randbytes`)."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    generator = random.Random(seed)
    layers, diff_ids = [], []
    for index in range(layers_count):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(f"layer{index}/data.bin")
            info.size = size // layers_count
            tar.addfile(info, io.BytesIO(generator.randbytes(info.size)))
        data = raw.getvalue()
        descriptor = _write_blob(blobs, data)
        layers.append({"mediaType": OCI_TAR_LAYER, **descriptor})
        diff_ids.append(descriptor["digest"])
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **_write_blob(blobs, config)}, "layers": layers,
    }).encode()
    descriptor = _write_blob(blobs, manifest)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, **descriptor, "annotations": {"org.opencontainers.image.ref.name": "v1"}},
    ]}
    (path / "index.json").write_text(json.dumps(index))
    (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return path


class Skopeo:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.env = client_env(bench.workdir / "skopeo")
        self.count = 0

    async def copy(self, *args: str) -> float:
        command = [shutil.which("skopeo") or "skopeo", "copy", "--retry-times", "0", *args]
        await written_back()
        began = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *command, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(process.communicate(), 600)
        if process.returncode != 0:
            raise RuntimeError(f"skopeo {' '.join(args)} failed: {err.decode(errors='replace')[-1500:]}")
        return time.perf_counter() - began

    def _fresh_layout(self) -> Path:
        self.count += 1
        path = self.bench.workdir / f"image{self.count}"
        return build_image(path, self.bench.plan.image_bytes, self.count)

    async def push(self, host: str, creds: bool) -> tuple[float, str]:
        layout = await asyncio.get_running_loop().run_in_executor(None, self._fresh_layout)
        repository = f"alice/bench-image-{self.count}"
        auth = ["--dest-creds", ":".join(USER)] if creds else []
        seconds = await self.copy("--dest-tls-verify=false", *auth, f"oci:{layout}:v1", f"docker://{host}/{repository}:v1")
        shutil.rmtree(layout)
        return seconds, repository

    async def pull(self, host: str, repository: str, creds: bool) -> float:
        self.count += 1
        target = self.bench.workdir / f"pulled{self.count}"
        auth = ["--src-creds", ":".join(USER)] if creds else []
        seconds = await self.copy("--src-tls-verify=false", *auth, f"docker://{host}/{repository}:v1", f"dir:{target}")
        shutil.rmtree(target)
        return seconds


async def run_all(bench: Bench) -> None:
    stack = bench.stack
    assert stack.gateway is not None and stack.registry is not None
    skopeo = Skopeo(bench)
    gateway_host, direct_host = stack.gateway.host, stack.registry.url.split("://", 1)[1]
    size_mb = bench.plan.image_bytes / 1e6
    pushed: list[str] = []
    cpu_per_gib: list[float] = []

    async def push_gateway() -> float:
        pid = stack.pid()
        before = sysstat.cpu_seconds(pid)
        seconds, repository = await skopeo.push(gateway_host, True)
        # The layers are incompressible, so what skopeo sends (gzipped) is about image_bytes.
        cpu_per_gib.append((sysstat.cpu_seconds(pid) - before) / (bench.plan.image_bytes / GiB))
        pushed.append(repository)
        return seconds

    async def push_direct() -> float:
        seconds, _ = await skopeo.push(direct_host, False)
        return seconds

    await warm_logins(stack.gateway.url)
    repeats = bench.plan.repeats + 2  # a whole push is short: more runs, a steadier median
    say("skopeo push")
    ours, theirs = await alternate(repeats, push_gateway, push_direct)
    rate, ref_rate = median([size_mb / s for s in ours]), median([size_mb / s for s in theirs])
    label = f"skopeo {bench.plan.image_bytes // MiB} MiB image"
    bench.add(Row(f"{label} push", "MB/s", rate, ref_rate, "registry 2.8 directly", ">= 0.95x; gateway CPU <= 1 s/GiB",
                  rate >= 0.95 * ref_rate and median(cpu_per_gib) <= 1.0,
                  detail={"gateway_seconds": ours, "direct_seconds": theirs,
                          "gateway_cpu_s_per_gib": round(median(cpu_per_gib), 3), "gateway_cpu_s_per_gib_runs": cpu_per_gib}))
    say("skopeo pull")
    repository = pushed[0]
    ours, theirs = await alternate(
        repeats, lambda: skopeo.pull(gateway_host, repository, True), lambda: skopeo.pull(direct_host, repository, False)
    )
    rate, ref_rate = median([size_mb / s for s in ours]), median([size_mb / s for s in theirs])
    bench.add(Row(f"{label} pull", "MB/s", rate, ref_rate, "registry 2.8 directly", ">= 0.95x",
                  rate >= 0.95 * ref_rate, detail={"gateway_seconds": ours, "direct_seconds": theirs}))
