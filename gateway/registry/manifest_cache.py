"""Manifests by digest, served from memory: content-addressed, so the bytes never change.

Only what registry 2.8 answered 200 to a GET by digest goes in, after its sha256 was checked.
Entries are per repository (a digest present in one repository may be missing in another) and
only ever served after `authorize` found pull on that repository, like any other request.
Bounded by entry count and total bytes (least recently used goes first). An entry goes at once
when a DELETE of that digest (manifest or blob) passes through this process, and within
`POLL_SECONDS` when another process (a sibling worker, another instance) recorded the delete:
every process follows the durable delete events in the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from gateway.auth.scopes import is_valid_digest
from gateway.background import running
from gateway.registry.routes import Route
from gateway.store import Store, StoreError

log = logging.getLogger(__name__)

MAX_ENTRIES = 4096
MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY_BYTES = 1024 * 1024
POLL_SECONDS = 1.0
# Conditional and partial requests are rare for manifests: they go to the registry.
_BYPASS_HEADERS = ("If-None-Match", "If-Match", "If-Modified-Since", "Range")


@dataclass(frozen=True)
class CachedManifest:
    body: bytes
    media_type: str

    def headers(self, digest: str) -> dict[str, str]:
        return {
            "Content-Type": self.media_type, "Docker-Content-Digest": digest, "Etag": f'"{digest}"',
        }


class ManifestCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._entries: OrderedDict[tuple[str, str], CachedManifest] = OrderedDict()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._deletes = 0  # bumped on every eviction by delete: a fetch that raced one is not kept
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def generation(self) -> int:
        return self._deletes

    def get(self, repository: str, digest: str) -> CachedManifest | None:
        entry = self._entries.get((repository, digest))
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end((repository, digest))
        self.hits += 1
        return entry

    def put(self, repository: str, digest: str, body: bytes, media_type: str, generation: int) -> bool:
        """Keep a manifest fetched while `generation` was current; refused when a delete came
        in between, when it is too big, or when its bytes do not match the digest."""
        if generation != self._deletes or len(body) > MAX_ENTRY_BYTES or not digest.startswith("sha256:"):
            return False
        if hashlib.sha256(body).hexdigest() != digest[7:]:
            log.warning("manifest %s in %s does not match its digest; not cached", digest, repository)
            return False
        key = (repository, digest)
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._entries[key] = CachedManifest(body, media_type)
        self._bytes += len(body)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted.body)
        return True

    def deleted(self, repository: str, digest: str) -> None:
        self._deletes += 1
        entry = self._entries.pop((repository, digest), None)
        if entry is not None:
            self._bytes -= len(entry.body)

    async def follow_deletes(self, store: Store, interval: float = POLL_SECONDS) -> None:
        """Evict what other processes deleted, from the durable delete events; never returns."""
        seq = await store.max_event_seq()
        while True:
            await asyncio.sleep(interval)
            try:
                seq, deletes = await store.deletes_after(seq)
                for repository, digest in deletes:
                    self.deleted(repository, digest)
            except StoreError as exc:
                log.warning("manifest cache: delete events not read: %s", exc)


# registry 2.8 answers 404 to a GET of an OCI manifest or index, by tag or by digest, unless an
# Accept header names that exact media type; other types it returns whatever was asked.
_NEEDS_ACCEPT = frozenset({"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"})


def accepted(media_type: str, accept_headers: list[str]) -> bool:
    """Would registry 2.8 hand out a manifest of `media_type` to a client sending these Accept headers?"""
    if media_type not in _NEEDS_ACCEPT:
        return True
    return any(item.split(";", 1)[0].strip() == media_type for header in accept_headers for item in header.split(","))


def cacheable_request(method: str, route: Route, headers: Mapping[str, str]) -> bool:
    return (
        route.kind == "manifest" and method in ("GET", "HEAD") and is_valid_digest(route.reference)
        and not any(h in headers for h in _BYPASS_HEADERS)
    )


async def following(cache: ManifestCache, store: Store) -> AsyncIterator[None]:
    """Cleanup-context body: follow delete events until shutdown."""
    async with running(cache.follow_deletes(store), "manifest-cache-deletes"):
        yield
