"""The command line's side of reserved namespaces (see gateway/store/tombstones.py): what a
deletion prints, and `namespace tombstones | release | purge`. A purge talks to the registry
itself, as the gateway would (gateway/cli_registry.py)."""

from __future__ import annotations

from gateway.auth.permissions import OPERATOR
from gateway.auth.tokens import rfc3339
from gateway.config import Settings
from gateway.services import tombstones
from gateway.services.context import Services
from gateway.store import Deletion


def deletion_line(what: str, deletion: Deletion) -> str:
    reserved = deletion.reserved
    if reserved is None:
        return f"{what} deleted"
    return (
        f"{what} deleted; namespace {reserved.name} still holds {reserved.repositories} repositories and stays"
        f" reserved until an admin runs `namespace release {reserved.name}` or `namespace purge {reserved.name}`"
    )


async def list_tombstones(services: Services) -> None:
    for t in await tombstones.list_tombstones(services, OPERATOR):
        owner = f"{t.former_kind}:{t.former_owner}" if t.former_owner else t.former_kind
        print(
            f"{t.name} repositories={t.repositories} former={owner} deleted_by={t.deleted_by}"
            f" deleted_at={rfc3339(t.deleted_at)}"
        )


async def release(services: Services, name: str) -> None:
    left = (await tombstones.release_tombstone(services, OPERATOR, name)).repositories_left
    print(f"namespace {name} released: its {left} repositories remain, and whoever takes the name {name} next gets them")


async def purge(services: Services, settings: Settings, name: str) -> None:
    from gateway.cli_registry import cli_recorder, registry  # aiohttp: for this command alone

    async with registry(settings) as upstream:
        purged = await tombstones.purge_tombstone(services, OPERATOR, name, upstream, cli_recorder())
    print(
        f"namespace {name} purged: {purged.manifests} manifests of {purged.repositories} repositories deleted"
        " in the registry (layers go at its next garbage collection); the name is free"
    )
