"""Manifests served from memory: by digest (content-addressed, so the bytes never change), and
by tag while the store proves no tag can have moved.

Only what registry 2.8 answered 200 to a GET by digest goes in, after its sha256 was checked.
Entries are per repository (a digest present in one repository may be missing in another) and
only ever served after `authorize` found pull on that repository, like any other request.
Bounded by entry count and total bytes (least recently used goes first). An entry goes at once
when a DELETE of that digest (manifest or blob) passes through this process, and within
one poll of the store's change watch (at most `POLL_SECONDS`) when another process (a sibling
worker, another instance) recorded the delete: every process follows the durable delete events
in the store.

Tags move, so a tag is only ever remembered as "this tag named that digest when the store's
data version (`SQLBase.data_version`) was V", and used only while the version is still V. The
gateway is the only door to the registry, and every manifest push or delete through any process
commits its event and its index rows (tags, manifests: they bump the change version,
gateway/store/versioning.py) before the client hears success, after the registry changed: so a
tag that moved has changed the version, whoever moved it. A push or delete through this process
also forgets the repository's tags at once, and a fill that raced one is not kept (the
generation). On MariaDB every process polls the change row, so a tag moved through another
instance is seen within one poll (on SQLite at once); while the version cannot be read, no tag
entry is used or kept. `TAG_SECONDS` bounds what a
change the store never saw (a push straight to the registry, behind the gateway's back) could
leave behind.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from gateway.background import running
from gateway.registry.routes import Route
from gateway.store import Store, StoreError
from gateway.store.change_watch import ChangeWatch

log = logging.getLogger(__name__)

MAX_ENTRIES = 4096
MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY_BYTES = 1024 * 1024
MAX_TAGS = 4096
TAG_SECONDS = 5.0
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


@dataclass(frozen=True)
class TagEntry:
    digest: str
    version: object
    expires: float


class ManifestCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._entries: OrderedDict[tuple[str, str], CachedManifest] = OrderedDict()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._tags: OrderedDict[tuple[str, str], TagEntry] = OrderedDict()
        self._max_tags = min(max_entries, MAX_TAGS)
        self._deletes = 0  # bumped on every delete and tag change here: a fetch that raced one is not kept
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
        self._forget_tags(repository)

    def tag(self, repository: str, tag: str, version: object | None) -> str | None:
        """The digest `tag` named when the store was at `version`, if it is still there."""
        if version is None:
            return None
        entry = self._tags.get((repository, tag))
        if entry is None or entry.version != version or entry.expires < time.monotonic():
            return None
        return entry.digest

    def put_tag(self, repository: str, tag: str, digest: str, version: object | None, generation: int) -> bool:
        """Remember that `tag` named `digest` in an answer asked for while the store was at
        `version` and this cache at `generation`; only for a digest whose manifest is kept."""
        if version is None or generation != self._deletes or (repository, digest) not in self._entries:
            return False
        self._tags.pop((repository, tag), None)
        self._tags[(repository, tag)] = TagEntry(digest, version, time.monotonic() + TAG_SECONDS)
        while len(self._tags) > self._max_tags:
            self._tags.popitem(last=False)
        return True

    def tags_changed(self, repository: str) -> None:
        """A manifest was pushed here: the repository's tags may name other digests now."""
        self._deletes += 1
        self._forget_tags(repository)

    def _forget_tags(self, repository: str) -> None:
        for key in [key for key in self._tags if key[0] == repository]:
            del self._tags[key]

    async def follow_deletes(self, store: Store, watch: ChangeWatch, interval: float = POLL_SECONDS) -> None:
        """Evict what other processes deleted, from the durable delete events, looking when the
        store changed (a delete of an indexed manifest changes it) and at least every
        `interval`; never returns."""
        seq = await store.max_event_seq()
        seen = watch.generation
        while True:
            seen = await watch.changed_since(seen, interval)
            try:
                seq, deletes = await store.deletes_after(seq)
                for repository, digest in deletes:
                    self.deleted(repository, digest)
            except StoreError as exc:
                log.warning("manifest cache: delete events not read: %s", exc)


# registry 2.8 answers 404 to a GET of an OCI manifest or index, by tag or by digest, unless an
# Accept header names that exact media type; other types it returns whatever was asked.
_NEEDS_ACCEPT = frozenset({"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"})


def named(media_type: str, accept_headers: list[str]) -> bool:
    """Does the client name `media_type` itself? For a tag, registry 2.8 rewrites a Docker
    manifest or list a client did not name (schema 1, one platform): those go to the registry."""
    return any(item.split(";", 1)[0].strip() == media_type for header in accept_headers for item in header.split(","))


def accepted(media_type: str, accept_headers: list[str]) -> bool:
    """Would registry 2.8 hand out a manifest of `media_type`, asked for by digest, to a client
    sending these Accept headers?"""
    return media_type not in _NEEDS_ACCEPT or named(media_type, accept_headers)


def cacheable_request(method: str, route: Route, headers: Mapping[str, str]) -> bool:
    """A plain GET or HEAD of a manifest, by digest or by tag."""
    return route.kind == "manifest" and method in ("GET", "HEAD") and not any(h in headers for h in _BYPASS_HEADERS)


async def following(cache: ManifestCache, store: Store, watch: ChangeWatch) -> AsyncIterator[None]:
    """Cleanup-context body: follow delete events until shutdown."""
    async with running(cache.follow_deletes(store, watch), "manifest-cache-deletes"):
        yield
