"""The command line's side of reserved namespaces (see gateway/store/tombstones.py): what a
deletion prints, and `namespace tombstones | release | purge`.

A purge from the command line talks to the registry itself, as the gateway would: over its
Unix socket when one is set, with a token signed by the gateway's key when the registry
verifies tokens (`upstream.forward_token`, which then needs `service` set).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

import aiohttp

from gateway.auth.keyfiles import load_or_create_signing_key
from gateway.auth.permissions import OPERATOR
from gateway.auth.scopes import Scope
from gateway.auth.tokens import TokenIssuer, rfc3339
from gateway.config import Settings
from gateway.registry.purge import Actor as PurgeRecorder
from gateway.registry.purge import Upstream
from gateway.services import tombstones
from gateway.services.context import Services
from gateway.store import Deletion

# Who a deletion, release or purge from the command line is recorded as.
CLI_ACTOR = OPERATOR.name


class TombstoneCommandError(Exception):
    """A refused tombstone command; the message is the one line shown."""


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


def upstream_of(settings: Settings, session: aiohttp.ClientSession) -> Upstream:
    """The registry as the command line reaches it: its socket or URL, with a token of the
    gateway's own where the registry verifies tokens."""
    issuer: TokenIssuer | None = None
    if settings.upstream_forward_token:
        if not settings.service:
            raise TombstoneCommandError(
                "the registry verifies the gateway's tokens: set service (GATEWAY_SERVICE) to delete in it from"
                " the command line, or do it through the API"
            )
        key = load_or_create_signing_key(settings.token_key_file, settings.token_cert_file, settings.data_dir)
        issuer = TokenIssuer(key, settings.issuer, settings.token_ttl)

    def headers_for(repository: str) -> dict[str, str]:
        if issuer is None or not settings.service:
            return {}
        token = issuer.issue(CLI_ACTOR, settings.service, [Scope("repository", repository, ("pull", "delete"))]).token
        return {"Authorization": f"Bearer {token}"}

    return Upstream(session, settings.upstream_url.origin(), headers_for)


@contextlib.asynccontextmanager
async def registry(settings: Settings) -> AsyncIterator[Upstream]:
    """The registry as the gateway reaches it, for a command that deletes there."""
    connector: aiohttp.BaseConnector = (
        aiohttp.UnixConnector(str(settings.upstream_socket)) if settings.upstream_socket is not None else aiohttp.TCPConnector()
    )
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield upstream_of(settings, session)


def cli_recorder() -> PurgeRecorder:
    """Who deletes, for the delete events of a command."""
    return PurgeRecorder(OPERATOR.name, socket.gethostname(), "command-line")


async def purge(services: Services, settings: Settings, name: str) -> None:
    async with registry(settings) as upstream:
        purged = await tombstones.purge_tombstone(services, OPERATOR, name, upstream, cli_recorder())
    print(
        f"namespace {name} purged: {purged.manifests} manifests of {purged.repositories} repositories deleted"
        " in the registry (layers go at its next garbage collection); the name is free"
    )
