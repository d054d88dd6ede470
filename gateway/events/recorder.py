"""Writes events: push, mount and delete durably before the client hears back; pulls in batches.

Also keeps the repository index up to date from the same events.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Mapping

from gateway import safe_json
from gateway.auth.policy import namespace_of
from gateway.background import running
from gateway.events.capture import Exchange, event_for, manifest_facts
from gateway.events.manifest_blobs import references, sized
from gateway.events.model import Event, event_json
from gateway.store import ManifestRow, NewEvent, PullMark, Store, StoreError

log = logging.getLogger(__name__)

PULL_FLUSH_SECONDS = 1.0
_PULL_QUEUE_LIMIT = 50_000


def to_row(event: Event) -> NewEvent:
    return NewEvent(
        id=event.id, created_at_ms=int(event.timestamp * 1000), action=event.action,
        repository=event.target.repository, tag=event.target.tag, digest=event.target.digest,
        actor=event.actor, body=event_json(event),
    )


def pull_marks(pulls: list[Event]) -> list[PullMark]:
    """The latest pull of each tag pulled by tag and of each digest pulled by digest. A pull by
    tag marks that tag only; a pull by digest marks the tags naming that digest (the image they
    name was pulled: a deployment pinned by digest still uses the tag it was resolved from)."""
    latest: dict[tuple[str, str, str], int] = {}
    for event in pulls:
        target = event.target
        key = (target.repository, target.tag, "" if target.tag else target.digest)
        latest[key] = max(latest.get(key, 0), int(event.timestamp))
    return [PullMark(repository, tag, digest, at) for (repository, tag, digest), at in latest.items()]


class EventRecorder:
    def __init__(self, store: Store, source_addr: str, instance_id: str | None = None) -> None:
        self._store = store
        self.source_addr = source_addr
        self.instance_id = instance_id or str(uuid.uuid4())
        self._pulls: list[Event] = []

    async def observe(self, exchange: Exchange) -> None:
        """Record what this exchange was, if anything. Raises StoreError when a durable event
        could not be written (the caller must then not report success)."""
        event = event_for(exchange, source_addr=self.source_addr, instance_id=self.instance_id)
        if event is None:
            return
        if event.action == "pull":
            if len(self._pulls) < _PULL_QUEUE_LIMIT:
                self._pulls.append(event)
            else:
                log.warning("pull event dropped: batch queue full")
            return
        await self.write(event, exchange.manifest, exchange.blobs)

    async def write(self, event: Event, manifest: bytes | None = None, blobs: Mapping[str, int] | None = None) -> bool:
        """Store one event and apply it to the index; False when it was already recorded."""
        added = await self._store.add_event(to_row(event))
        if added:
            await self._index(event, manifest, blobs)
        return added

    async def _index(self, event: Event, manifest: bytes | None, blobs: Mapping[str, int] | None) -> None:
        target = event.target
        at = int(event.timestamp)
        if event.action == "push" and target.digest:
            held = await self._blobs_of(target.repository, manifest, blobs)
            facts = manifest_facts(manifest or b"", target.media_type)
            row = ManifestRow(
                target.repository, target.digest, facts.media_type, target.size, facts.artifact_type,
                facts.subject, facts.annotations, at, facts.image.size, facts.image.platforms,
            )
            store = self._store

            async def index() -> None:
                async with store.transaction():  # its blobs count from when its row exists
                    if held:
                        await store.add_manifest_blobs(namespace_of(target.repository), target.repository, target.digest, held)
                    await store.index_push(row, target.tag)

            await store.again_on_deadlock(index)
        elif event.action == "delete" and target.digest.startswith("sha") and "/manifests/" in target.url:
            await self._store.again_on_deadlock(lambda: self._store.index_delete_manifest(target.repository, target.digest))
        elif event.action == "delete" and target.tag:
            await self._store.again_on_deadlock(lambda: self._store.index_delete_tag(target.repository, target.tag))
        elif event.action == "pull":
            await self._store.index_pulls(pull_marks([event]))

    async def _blobs_of(self, repository: str, manifest: bytes | None, blobs: Mapping[str, int] | None) -> Mapping[str, int]:
        """The blobs a pushed manifest holds, for its namespace's usage: as sized at its PUT, or
        (no quota check ran) with the sizes the manifest declares."""
        if blobs is not None:
            return blobs
        try:
            document = safe_json.loads(manifest or b"")
        except ValueError:
            document = None
        return (await sized(self._store, namespace_of(repository), repository, references(document), None)).sizes

    async def flush(self) -> int:
        """Write the queued pull events (a few statements, not one per event); returns how many
        were written. On a store error they stay queued; a retry skips those already stored."""
        batch, self._pulls = self._pulls, []
        if not batch:
            return 0
        try:
            written = await self._store.add_events([to_row(event) for event in batch])
        except StoreError as exc:
            log.warning("pull events not written yet (%s); will retry", exc)
            self._pulls = batch + self._pulls
            return 0
        try:
            await self._store.index_pulls(pull_marks(batch))
        except StoreError as exc:
            log.warning("pull times not indexed: %s", exc)
        return written

    async def run(self, interval: float = PULL_FLUSH_SECONDS) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.flush()


def default_source_addr(port: int) -> str:
    return f"{socket.gethostname()}:{port}"


async def recording(recorder: EventRecorder) -> AsyncIterator[None]:
    """Cleanup-context body: flush pulls every second, and once more at shutdown."""
    async with running(recorder.run(), "pull-event-flush"):
        yield
    await recorder.flush()
