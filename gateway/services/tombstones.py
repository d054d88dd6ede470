"""Reserved namespaces (tombstones): names kept because they were deleted (with their user, or
on their own) while repositories were in them. Admins list them, release a name (it becomes
free, and whoever takes it next gets the repositories) or purge it (the repositories are
deleted in the registry, then the name is free). Creating a user or a namespace asks
`refuse_if_reserved` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway import names
from gateway.auth.permissions import Actor
from gateway.services.context import Services
from gateway.services.errors import Conflict, NotFound, Unavailable
from gateway.services.gc import check_writable
from gateway.services.guards import require_admin, valid_name
from gateway.store import Tombstone

if TYPE_CHECKING:
    from gateway.registry.purge import Actor as PurgeRecorder
    from gateway.registry.purge import Purged, Upstream

API_PATH = "/api/v1/tombstones"
DELETE_DISABLED = "deletion is disabled in this gateway (delete.enabled = false); release the name instead"


@dataclass(frozen=True)
class Released:
    """The reservation ended, and how many repositories wait for the name's next owner."""

    tombstone: Tombstone
    repositories_left: int


def _not_reserved(name: str) -> NotFound:
    return NotFound(f"namespace {name!r} is not reserved")


async def refuse_if_reserved(services: Services, name: str, wanted: str) -> None:
    """Raise Conflict when `name` is reserved: taking it (`wanted`, e.g. "a user named 'x'")
    would hand its repositories over without an admin deciding so."""
    tombstone = await services.store.get_tombstone(name)
    if tombstone is not None:
        raise Conflict(reserved_message(tombstone, wanted))


def reserved_message(tombstone: Tombstone, wanted: str) -> str:
    """Why `wanted` may not take the reserved name, and how an admin frees it (API or CLI)."""
    name = tombstone.name
    return (
        f"the name {name!r} is reserved: namespace {name!r} was deleted with {tombstone.repositories} repositories"
        f" still in it, and {wanted} would take them over; an admin must release or purge it first"
        f" (POST {API_PATH}/{name}/release or /purge, or `namespace release {name}` or `namespace purge {name}`"
        " on the command line)"
    )


async def list_tombstones(services: Services, actor: Actor, after: str = "", limit: int = 1000) -> list[Tombstone]:
    """Up to `limit` reserved namespaces named after `after`, by name."""
    require_admin(actor, "list reserved namespaces")
    return await services.store.list_tombstones(after, limit)


async def get_tombstone(services: Services, actor: Actor, name: str) -> Tombstone:
    valid_name(names.NAMESPACE, name)
    require_admin(actor, "read reserved namespaces")
    tombstone = await services.store.get_tombstone(name)
    if tombstone is None:
        raise _not_reserved(name)
    return tombstone


async def release_tombstone(services: Services, actor: Actor, name: str) -> Released:
    valid_name(names.NAMESPACE, name)
    require_admin(actor, "release reserved namespaces")
    store = services.store
    async with store.transaction():
        tombstone = await store.get_tombstone(name)
        if tombstone is None or not await store.end_tombstone(name, "released", actor.name):
            raise _not_reserved(name)
        left = len(await store.namespace_repositories(name))
    return Released(tombstone, left)


async def purge_tombstone(
    services: Services, actor: Actor, name: str, upstream: Upstream, recorder: PurgeRecorder
) -> Purged:
    """Delete every manifest of the namespace's repositories in the registry (through
    `upstream`, each delete recorded by `recorder`), then free the name. Not one transaction:
    the registry's deletes cannot be rolled back, and a purge stopped half way keeps what it
    did and the reservation, so running it again finishes it."""
    valid_name(names.NAMESPACE, name)
    require_admin(actor, "purge reserved namespaces")
    store = services.store
    if await store.get_tombstone(name) is None:
        raise _not_reserved(name)
    if not services.rules.delete_enabled:
        raise Conflict(DELETE_DISABLED)
    await check_writable(store)
    # The registry's client (and aiohttp) only where a purge runs: creating a user asks this
    # module whether the name is reserved, and the command line should not load it for that.
    from gateway.registry.purge import PurgeError, purge_namespace

    try:
        purged = await purge_namespace(store, upstream, name, recorder)
    except PurgeError as exc:
        message = (
            f"{exc} ({exc.repositories} repositories and {exc.manifests} manifests purged before it stopped;"
            " the name stays reserved)"
        )
        raise (Conflict(message) if exc.refused else Unavailable(message)) from None
    await store.end_tombstone(name, "purged", actor.name)
    return purged
