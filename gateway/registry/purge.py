"""Purging a reserved namespace: every manifest of its repositories deleted in the upstream
registry (DELETE /v2/NAME/manifests/DIGEST), then the repositories dropped from the index.

The digests come from the index and from the registry itself (its tag list, each tag's
digest), so content pushed behind the gateway's back goes too. A delete event is stored per
manifest deleted: the audit log says who purged what, webhooks hear of it, and every process's
manifest cache follows delete events. Layers stay in storage until the registry's garbage
collector runs (as after any manifest delete).

Re-running is safe: what is already gone answers 404 and counts as done. A failure stops the
purge with what it did so far kept; the namespace stays reserved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
from yarl import URL

from gateway.events.model import Event, RequestInfo, Target, new_event_id
from gateway.events.recorder import to_row
from gateway.store import Store

MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
))
TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
_TAGS_PAGE = 1000


class PurgeError(Exception):
    """The purge stopped. `refused`: the registry does not allow deletes (a setting, not a fault)."""

    def __init__(self, message: str, *, refused: bool = False, repositories: int = 0, manifests: int = 0) -> None:
        super().__init__(message)
        self.refused = refused
        self.repositories = repositories
        self.manifests = manifests


@dataclass(frozen=True)
class Purged:
    repositories: int
    manifests: int


@dataclass(frozen=True)
class Upstream:
    """How to reach the registry: its origin, and the headers a request for a repository needs
    (a token of the gateway's own when the registry verifies tokens)."""

    session: aiohttp.ClientSession
    origin: URL
    headers_for: Callable[[str], Mapping[str, str]]


@dataclass(frozen=True)
class Actor:
    """Who purges, for the delete events."""

    name: str
    source_addr: str
    instance_id: str
    on_deleted: Callable[[str, str], None] = lambda repository, digest: None


async def _tagged_digests(upstream: Upstream, repository: str) -> set[str]:
    """The digests the registry's tags name now (registry 2.8 lists every tag at once)."""
    name = quote(repository, safe="/")
    headers = dict(upstream.headers_for(repository))
    url = upstream.origin.join(URL(f"/v2/{name}/tags/list?n={_TAGS_PAGE}", encoded=True))
    async with upstream.session.get(url, headers=headers, timeout=TIMEOUT) as response:
        if response.status == 404:
            return set()
        if response.status != 200:
            raise PurgeError(f"the registry answered {response.status} to the tag list of {repository!r}")
        tags = (await response.json(content_type=None)).get("tags") or []
    digests: set[str] = set()
    for tag in tags:
        url = upstream.origin.join(URL(f"/v2/{name}/manifests/{quote(str(tag), safe='')}", encoded=True))
        async with upstream.session.head(url, headers={**headers, "Accept": MANIFEST_TYPES}, timeout=TIMEOUT) as head:
            digest = head.headers.get("Docker-Content-Digest", "")
            if head.status == 200 and digest.startswith("sha256:"):
                digests.add(digest)
    return digests


async def delete_upstream(upstream: Upstream, repository: str, digest: str) -> bool:
    """Delete one manifest; True when it was there, False when it was already gone."""
    url = upstream.origin.join(URL(f"/v2/{quote(repository, safe='/')}/manifests/{digest}", encoded=True))
    async with upstream.session.delete(url, headers=dict(upstream.headers_for(repository)), timeout=TIMEOUT) as response:
        if response.status in (200, 202):
            return True
        if response.status == 404:
            return False
        if response.status == 405:
            raise PurgeError(
                "the registry does not allow deletes (set storage.delete.enabled: true in its configuration);"
                " release the name instead, or enable deletes and purge again",
                refused=True,
            )
        raise PurgeError(f"the registry answered {response.status} to deleting {repository}@{digest}")


def delete_event(
    actor: Actor, upstream: Upstream, repository: str, digest: str, useragent: str = "portus-gateway purge"
) -> Event:
    """The delete event of one manifest deleted by the gateway itself (`useragent`: which part)."""
    url = f"{upstream.origin}/v2/{repository}/manifests/{digest}"
    request = RequestInfo(new_event_id(), "", "", "DELETE", useragent)
    return Event(
        new_event_id(), time.time(), "delete", Target(repository, "", digest, 0, url), request, actor.name, "",
        actor.source_addr, actor.instance_id,
    )


async def purge_namespace(store: Store, upstream: Upstream, namespace: str, actor: Actor) -> Purged:
    """Delete every manifest of the namespace's indexed repositories, and forget them."""
    repositories = await store.namespace_repositories(namespace)
    manifests = 0
    done = 0
    try:
        for repository in repositories:
            digests = set(await store.manifest_digests(repository)) | await _tagged_digests(upstream, repository)
            for digest in sorted(digests):
                if await delete_upstream(upstream, repository, digest):
                    manifests += 1
                    await store.add_event(to_row(delete_event(actor, upstream, repository, digest)))
                actor.on_deleted(repository, digest)
            await store.forget_repository(repository)
            done += 1
    except PurgeError as exc:
        raise PurgeError(str(exc), refused=exc.refused, repositories=done, manifests=manifests) from None
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        raise PurgeError(
            f"the registry could not be reached or answered nonsense ({exc.__class__.__name__})",
            repositories=done, manifests=manifests,
        ) from None
    return Purged(len(repositories), manifests)
