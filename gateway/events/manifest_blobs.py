"""What a manifest holds in the registry's storage, for namespace quotas: an image manifest's
config and layers, an index's child manifests (whose blobs count for it too).

`references` is pure: a parsed document in, digests out (nothing trusts its shape). `sized`
gives each blob a size the registry vouches for: the size already recorded for it in the
namespace, else what `head` finds in the registry; a size the pusher merely declares counts
only where no `head` is given, since registry 2.8 never checks a descriptor's size (a pusher
could declare 1 byte for a 1 GiB layer and slip under a quota)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.auth.scopes import is_valid_digest
from gateway.store import Store

# Where a declared size is absurd it counts as nothing (the registry's answer decides anyway).
_MAX_SIZE = 2**62
# Blob HEADs at once for one manifest: a manifest may list thousands of layers.
HEAD_CONCURRENCY = 8

# The registry's size of a blob in a repository; None when it holds no such blob there.
Head = Callable[[str], Awaitable[int | None]]


@dataclass(frozen=True)
class References:
    """`blobs`: digest -> the size the manifest declares (0 when it gives none); `children`:
    the digests of an index's manifests."""

    blobs: Mapping[str, int]
    children: tuple[str, ...] = ()


def _declared(descriptor: dict[str, Any]) -> int:
    size = descriptor.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_SIZE:
        return 0
    return size


def _descriptors(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = document.get(key)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    return [d for d in value if isinstance(d, dict) and isinstance(d.get("digest"), str) and is_valid_digest(d["digest"])]


def references(document: Any) -> References:
    """The blobs (config, layers; schema 1's `fsLayers`) and child manifests a parsed manifest
    names, each digest once."""
    if not isinstance(document, dict):
        return References({})
    children = tuple(dict.fromkeys(d["digest"] for d in _descriptors(document, "manifests")))
    blobs: dict[str, int] = {}
    for descriptor in (*_descriptors(document, "config"), *_descriptors(document, "layers")):
        blobs.setdefault(descriptor["digest"], _declared(descriptor))
    schema1 = document.get("fsLayers")
    for layer in schema1 if isinstance(schema1, list) else []:
        digest = layer.get("blobSum") if isinstance(layer, dict) else None
        if isinstance(digest, str) and is_valid_digest(digest):
            blobs.setdefault(digest, 0)
    return References(blobs, children)


@dataclass(frozen=True)
class Sized:
    """`sizes`: every blob the manifest holds, with its size; `new`: those its namespace's
    manifests held none of before (what the push adds to the namespace's usage)."""

    sizes: Mapping[str, int]
    new: frozenset[str]

    @property
    def adds(self) -> int:
        return sum(self.sizes[digest] for digest in self.new)


async def sized(store: Store, namespace: str, repository: str, refs: References, head: Head | None) -> Sized:
    """Every blob the manifest holds with its size: its own blobs and its children's (as
    recorded for them in `repository`). Blobs the namespace already holds keep their recorded
    size; the others are asked of the registry through `head` (absent there: 0, the registry
    will refuse the manifest or it is a foreign layer it never stores)."""
    wanted = dict(refs.blobs)
    if refs.children:
        for digest, size in (await store.child_blob_sizes(repository, refs.children)).items():
            wanted.setdefault(digest, size)
    known = await store.known_blob_sizes(namespace, list(wanted))
    result = {digest: known.get(digest, size) for digest, size in wanted.items()}
    new = frozenset(wanted) - frozenset(known)
    fresh = [digest for digest in refs.blobs if digest in new]
    if head is not None and fresh:
        limit = asyncio.Semaphore(HEAD_CONCURRENCY)

        async def ask(digest: str) -> None:
            async with limit:
                found = await head(digest)
            result[digest] = found if found is not None else 0

        await asyncio.gather(*(ask(digest) for digest in fresh))
    return Sized(result, new)
