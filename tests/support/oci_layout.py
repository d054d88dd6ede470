"""Build small OCI image layouts offline, so tests push real images without any network."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class Layout:
    path: Path
    manifest_digest: str
    layer_digests: tuple[str, ...]


def _write_blob(blobs: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}"


def _layer(index: int, size: int, seed: str) -> tuple[bytes, str]:
    """A gzip tar holding one file of pseudo-random (incompressible) bytes; returns (blob, diff_id)."""
    content = bytearray()
    counter = 0
    while len(content) < size:
        content += hashlib.sha256(f"{seed}:{index}:{counter}".encode()).digest()
        counter += 1
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"layer{index}/data.bin")
        info.size = size
        info.mtime = 0
        tar.addfile(info, io.BytesIO(bytes(content[:size])))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def build_layout(path: Path, *, layers: int = 3, layer_size: int = 64 * 1024, seed: str = "portus", tag: str = "latest") -> Layout:
    """Write an OCI image layout with `layers` layers at `path`; contents depend only on `seed`."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    layer_descriptors = []
    diff_ids = []
    for index in range(layers):
        blob, diff_id = _layer(index, layer_size, seed)
        layer_descriptors.append({"mediaType": OCI_LAYER, "digest": _write_blob(blobs, blob), "size": len(blob)})
        diff_ids.append(diff_id)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": f"portus-gateway test layer {i}"} for i in range(layers)],
        },
        sort_keys=True,
    ).encode()
    config_descriptor = {"mediaType": OCI_CONFIG, "digest": _write_blob(blobs, config), "size": len(config)}
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_descriptor, "layers": layer_descriptors},
        sort_keys=True,
    ).encode()
    manifest_digest = _write_blob(blobs, manifest)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (path / "index.json").write_text(json.dumps(index))
    (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return Layout(path, manifest_digest, tuple(d["digest"] for d in layer_descriptors))
