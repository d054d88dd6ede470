"""Namespace usage kept right through what really happens to a namespace: a seeded random run of
pushes (images and indexes, blobs uploaded or mounted from another repository or namespace,
tags moved), and deletes of manifests (an index's child too), against the shared gateway and
the real registry. After every step the usage the API shows is the one a model of the run
computes; at the end a recount from the registry finds the same. One pusher declares a
layer's size falsely: the registry's size counts, not the manifest's word."""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from dataclasses import dataclass, field

import aiohttp

from tests.integration.ui.api_calls import api_ok
from tests.support.images import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, push_blob, push_manifest
from tests.support.processes import Gateway

STEPS = 36
SEED = 2024


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Run:
    """The pushes and deletes so far, and what they should have left: each repository's
    manifests with the blobs (digest -> size) each holds."""

    session: aiohttp.ClientSession
    gateway: Gateway
    headers: dict[str, str]
    rng: random.Random
    blobs: list[bytes]
    manifests: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # repository -> digests that are an index's child
    holders: dict[str, set[str]] = field(default_factory=dict)  # blob -> repositories the registry links it to

    def usage(self, namespace: str) -> int:
        held: dict[str, int] = {}
        for repository, manifests in self.manifests.items():
            if repository.startswith(namespace + "/"):
                for blobs in manifests.values():
                    held.update(blobs)
        return sum(held.values())

    async def place(self, repository: str, data: bytes) -> str:
        """The blob in `repository`: mounted from another repository holding it (a coin toss),
        else uploaded."""
        digest = _digest(data)
        sources = sorted(self.holders.get(digest, set()) - {repository})
        if sources and self.rng.random() < 0.6:
            source = self.rng.choice(sources)
            url = f"{self.gateway.url}/v2/{repository}/blobs/uploads/?mount={digest}&from={source}"
            async with self.session.post(url, headers=self.headers) as response:
                assert response.status == 201, await response.text()
        else:
            await push_blob(self.session, self.gateway.url, repository, data, self.headers)
        self.holders.setdefault(digest, set()).add(repository)
        return digest

    async def image(self, repository: str, tag: str, *, lie: bool = False) -> tuple[str, dict[str, int], int]:
        """Push an image of 1-3 pool blobs; returns its digest, blobs, and its manifest's size."""
        layers = self.rng.sample(self.blobs, self.rng.randint(1, 3))
        config = json.dumps({"os": "linux", "architecture": "amd64", "n": self.rng.randint(0, 3)}).encode()
        held = {await self.place(repository, config): len(config)}
        descriptors = []
        for data in layers:
            digest = await self.place(repository, data)
            held[digest] = len(data)
            descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest,
                                "size": 1 if lie else len(data)})
        document = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": _digest(config), "size": len(config)}, "layers": descriptors,
        }
        status, digest = await push_manifest(self.session, self.gateway.url, repository, tag, document, self.headers)
        assert status == 201, status
        self.manifests.setdefault(repository, {})[digest] = held
        return digest, held, len(json.dumps(document).encode())

    async def index(self, repository: str, tag: str) -> None:
        entries, held = [], {}
        for _ in range(2):
            digest, blobs, size = await self.image(repository, "")
            entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size})
            self.children.setdefault(repository, []).append(digest)
            held.update(blobs)
        document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        status, digest = await push_manifest(self.session, self.gateway.url, repository, tag, document, self.headers, OCI_INDEX)
        assert status == 201, status
        self.manifests[repository][digest] = held

    async def delete(self, repository: str, digest: str) -> None:
        async with self.session.delete(f"{self.gateway.url}/v2/{repository}/manifests/{digest}", headers=self.headers) as response:
            assert response.status == 202, await response.text()
        del self.manifests[repository][digest]


def _usage(gateway: Gateway, namespace: str) -> int:
    return int(api_ok(gateway, *Gateway.ADMIN, "GET", f"/namespaces/{namespace}")["usage"])


def _space(gateway: Gateway, prefix: str) -> str:
    team = f"{prefix}{secrets.token_hex(4)}"
    api_ok(gateway, *Gateway.ADMIN, "POST", "/teams", {"name": team})
    api_ok(gateway, *Gateway.ADMIN, "POST", "/namespaces", {"name": f"{team}--ns", "team": team})
    return f"{team}--ns"


async def _admin_headers(session: aiohttp.ClientSession, gateway: Gateway, repositories: list[str]) -> dict[str, str]:
    params = [("service", gateway.host)] + [("scope", f"repository:{r}:pull,push,delete") for r in repositories]
    auth = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
    async with session.get(f"{gateway.url}/v2/token", params=params, headers=auth) as response:
        assert response.status == 200, await response.text()
        return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def test_usage_matches_a_recount_after_a_random_run_of_pushes_mounts_and_deletes(gateway: Gateway) -> None:
    rng = random.Random(SEED)
    namespace, other = _space(gateway, "usage"), _space(gateway, "source")
    repositories = [f"{namespace}/a", f"{namespace}/b"]
    source = f"{other}/c"
    pool = [rng.randbytes(rng.randint(200, 6000)) for _ in range(7)]
    async with aiohttp.ClientSession() as session:
        headers = await _admin_headers(session, gateway, [*repositories, source])
        run = Run(session, gateway, headers, rng, pool)
        await run.image(source, "base")  # blobs another namespace holds, to mount from
        other_usage = run.usage(other)
        kinds: list[str] = []
        for step in range(STEPS):
            repository = rng.choice(repositories)
            live = sorted(run.manifests.get(repository, {}))
            kind = rng.choices(["image", "index", "delete", "lie"], [5, 1, 3, 1])[0]
            if kind == "delete" and live:
                # an index's child now and then, which leaves the index holding its blobs
                await run.delete(repository, rng.choice(live))
            elif kind == "index":
                await run.index(repository, rng.choice(["multi", "v2"]))
            else:
                kind = "lie" if kind == "lie" else "image"
                await run.image(repository, rng.choice(["latest", "v1", "v2", ""]), lie=kind == "lie")
            kinds.append(kind)
            assert _usage(gateway, namespace) == run.usage(namespace), (step, kinds)
        assert {"image", "index", "delete", "lie"} <= set(kinds)
        assert sum(1 for r in run.holders.values() if len(r) > 1) > 3  # blobs shared across repositories and mounted
        assert _usage(gateway, other) == other_usage
    counted = gateway.cli("namespace", "recount", namespace).stdout
    assert f"{namespace} usage={run.usage(namespace)} " in counted, counted
    assert _usage(gateway, namespace) == run.usage(namespace)
    shown = gateway.cli("namespace", "show", namespace).stdout
    assert f"usage={run.usage(namespace)} quota=none" in shown, shown


def test_a_recount_of_an_unknown_namespace_is_refused_in_one_line(gateway: Gateway) -> None:
    result = gateway.cli("namespace", "recount", "no-such-namespace-x", check=False)
    assert result.returncode == 1 and result.stderr.strip() == "portus-gateway: no such namespace 'no-such-namespace-x'"
