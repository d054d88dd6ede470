"""Deleting one tag alone.

Registry 2.8 cannot delete a tag: it deletes a manifest (by digest) and with it every tag that
names it. So a tag is deleted alone as a small job: take the repository's lock (a row in the
store, so manifest writes through every instance wait for it), read the manifest's exact bytes
and the other tags that name it, journal both in that row, delete the manifest by digest, put
the same bytes back under each other tag (or, when it was the only tag, under its digest, so the
manifest stays like an untagged one on a registry that deletes tags: the garbage collector with
`--delete-untagged` takes it), then drop the tag from the index and record one delete event for
the tag, and release the lock. The bytes are identical, so every digest is too.

A job cut short (the process died, the registry failed half-way) keeps its row: whoever finds
its lease run out (a manifest write or tag deletion waiting on the repository, or any process's
sweep every few seconds, `finish_expired`) takes it over and runs it again from the deletion;
each step may be repeated. Deleting is the same permission as deleting a manifest.
An immutable tag (gateway/services/immutable.py) is never deleted."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass

import aiohttp

from gateway import names
from gateway.auth.policy import Identity
from gateway.auth.scopes import is_valid_tag
from gateway.events.model import Event, RequestInfo, Target, new_event_id
from gateway.events.recorder import to_row
from gateway.registry.purge import Actor as DeleteRecorder
from gateway.registry.purge import PurgeError, Upstream, delete_upstream
from gateway.registry.upstream_manifests import Manifest, get_manifest, put_manifest, tag_digests
from gateway.services.context import Services
from gateway.services.errors import Conflict, Invalid, NotFound, Unavailable
from gateway.services.gc import check_writable
from gateway.services.guards import valid_name
from gateway.services.immutable import refuse_immutable_delete
from gateway.services.manifests import USER_AGENT, require_delete
from gateway.store import Store, TagDeletion

log = logging.getLogger(__name__)

LEASE_SECONDS = 20.0  # a job's lease, renewed at each of its steps
HOLD_SECONDS = 30.0  # how long a manifest write or another deletion waits for a job
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class TagDeleted:
    repository: str
    tag: str
    digest: str
    kept: tuple[str, ...]  # the other tags that name the same manifest, put back


async def check_tag_delete(services: Services, identity: Identity, repository: str, tag: str) -> None:
    """Refuse (Invalid, NotFound, Forbidden) what `delete_tag` refuses before it acts, so a
    confirmation page is offered only for a delete that may happen."""
    valid_name(names.REPOSITORY, repository)
    if not is_valid_tag(tag):
        raise Invalid(f"{names.shown(tag)} is not a valid tag")
    await require_delete(services, identity, repository)
    await refuse_immutable_delete(services.store, repository, tag=tag)


def _lease(seconds: float = LEASE_SECONDS) -> int:
    return int((time.time() + seconds) * 1000)


def _registry_failed(exc: Exception) -> Unavailable:
    if isinstance(exc, PurgeError):
        return Unavailable(str(exc))
    return Unavailable(f"the registry could not be reached ({exc.__class__.__name__}); try again")


async def delete_tag(
    services: Services, identity: Identity, repository: str, tag: str, upstream: Upstream, recorder: DeleteRecorder,
    *, useragent: str = USER_AGENT,
) -> TagDeleted:
    """Delete `tag` of `repository` alone (see the module's docstring); NotFound when the
    registry has no such tag; the delete event names `recorder`'s actor and `useragent`."""
    await check_tag_delete(services, identity, repository, tag)
    await check_writable(services.store)  # not while a garbage collection's window is open
    store = services.store
    holder = uuid.uuid4().hex
    await _lock(store, repository, tag, holder, upstream, recorder)
    journaled = False
    try:
        try:
            manifest = await get_manifest(upstream, repository, tag)
            if manifest is None:
                raise NotFound(f"no such tag {tag!r} in {repository!r}")
            others = sorted(t for t, d in (await tag_digests(upstream, repository)).items() if d == manifest.digest and t != tag)
        except (PurgeError, TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise _registry_failed(exc) from None
        journaled = await store.record_tag_deletion(
            repository, holder, _lease(), manifest.digest, manifest.media_type, manifest.body, others
        )
        if not journaled:
            raise Unavailable(f"the lock on {repository!r} ran out before the deletion began; try again")
        job = TagDeletion(
            repository, tag, holder, _lease(), recorder.name, manifest.digest, manifest.media_type, manifest.body,
            tuple(others),
        )
        return await _run(store, job, upstream, recorder, useragent)
    finally:
        if not journaled:
            await store.end_tag_deletion(repository, holder)


async def _lock(store: Store, repository: str, tag: str, holder: str, upstream: Upstream, recorder: DeleteRecorder) -> None:
    """Take the repository's lock, waiting for (or finishing) a job that holds it."""
    deadline = time.monotonic() + HOLD_SECONDS
    while not await store.lock_tag_deletion(repository, tag, holder, recorder.name, _lease()):
        if not await wait_for_tag_deletion(store, repository, upstream, recorder, deadline):
            raise Unavailable(f"another tag deletion in {repository!r} is taking long; try again")


async def wait_for_tag_deletion(
    store: Store, repository: str, upstream: Upstream, recorder: DeleteRecorder, deadline: float | None = None
) -> bool:
    """Wait until no tag deletion holds `repository` (finishing one whose lease ran out); False
    when one still holds it at `deadline` (HOLD_SECONDS from now by default). One statement when
    none does: what a manifest write pays for the lock."""
    deadline = time.monotonic() + HOLD_SECONDS if deadline is None else deadline
    while (job := await store.get_tag_deletion(repository)) is not None:
        if job.lease_until < time.time() * 1000:
            await _take_over(store, job, upstream, recorder)
            continue
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
    return True


async def _take_over(store: Store, job: TagDeletion, upstream: Upstream, recorder: DeleteRecorder) -> None:
    """Finish (or, if it deleted nothing yet, drop) a job whose holder let its lease run out."""
    holder = uuid.uuid4().hex
    if not await store.take_over_tag_deletion(job.repository, holder, int(time.time() * 1000), _lease()):
        return  # another process took it
    log.warning("finishing the deletion of tag %s:%s, left unfinished by %s", job.repository, job.tag, job.holder)
    if job.manifest is None:
        await store.end_tag_deletion(job.repository, holder)
        return
    try:
        await _run(store, dataclasses.replace(job, holder=holder), upstream, dataclasses.replace(recorder, name=job.actor))
    except (Unavailable, Conflict) as exc:
        log.warning("deletion of tag %s:%s not finished yet: %s", job.repository, job.tag, exc)


async def _run(
    store: Store, job: TagDeletion, upstream: Upstream, recorder: DeleteRecorder, useragent: str = USER_AGENT
) -> TagDeleted:
    """Delete the journaled manifest, put it back under the tags to keep, index, record and
    unlock. Each step may run again; on a failure the journal stays for a later run."""
    assert job.digest is not None and job.manifest is not None and job.restore_tags is not None
    manifest = Manifest(job.manifest, job.media_type or "", job.digest)
    repository = job.repository
    try:
        try:
            await delete_upstream(upstream, repository, job.digest)
        except PurgeError as exc:
            if exc.refused:  # nothing was deleted: a setting of the registry, not a fault
                await store.end_tag_deletion(repository, job.holder)
                raise Conflict(str(exc)) from None
            raise
        for reference in job.restore_tags or (job.digest,):
            if not await store.extend_tag_deletion(repository, job.holder, _lease()):
                raise Unavailable(f"the lock on {repository!r} was taken over; the deletion goes on there")
            await put_manifest(upstream, repository, reference, manifest)
    except (PurgeError, TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        log.warning("deletion of tag %s:%s cut short: %s", repository, job.tag, exc)
        raise _registry_failed(exc) from None
    async with store.transaction():
        await store.index_delete_tag(repository, job.tag)
        await store.add_event(to_row(tag_delete_event(recorder, upstream, repository, job.tag, job.digest, useragent)))
        await store.end_tag_deletion(repository, job.holder)
    recorder.on_deleted(repository, job.digest)
    log.info("tag %s:%s deleted by %r; kept %s", repository, job.tag, recorder.name, ", ".join(job.restore_tags) or job.digest)
    return TagDeleted(repository, job.tag, job.digest, job.restore_tags)


def tag_delete_event(
    recorder: DeleteRecorder, upstream: Upstream, repository: str, tag: str, digest: str, useragent: str = USER_AGENT
) -> Event:
    """The one event of a tag deleted alone: action `delete` with the tag (and the digest it named)."""
    url = f"{upstream.origin}/v2/{repository}/manifests/{tag}"
    request = RequestInfo(new_event_id(), "", "", "DELETE", useragent)
    return Event(
        new_event_id(), time.time(), "delete", Target(repository, "", digest, 0, url, tag), request, recorder.name, "",
        recorder.source_addr, recorder.instance_id,
    )


async def finish_expired(store: Store, upstream: Upstream, recorder: DeleteRecorder) -> int:
    """Finish the jobs whose lease ran out (a process died mid-way); how many were found."""
    jobs = await store.expired_tag_deletions(int(time.time() * 1000))
    for job in jobs:
        await _take_over(store, job, upstream, recorder)
    return len(jobs)
