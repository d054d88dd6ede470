"""The registry as the command line reaches it, for the commands that delete or read there
(`namespace purge | recount`, `tag delete`, `gc`, `retention run`): over its Unix socket when one
is set, with a token signed by the gateway's key when the registry verifies tokens
(`upstream.forward_token`, which then needs `service` set). Imported by those commands alone:
it loads aiohttp and the registry's client, which the others start without.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

import aiohttp

from gateway.auth.keyfiles import load_or_create_signing_key
from gateway.auth.permissions import OPERATOR
from gateway.auth.scopes import Scope
from gateway.auth.tokens import TokenIssuer
from gateway.config import Settings
from gateway.registry.purge import Actor as PurgeRecorder
from gateway.registry.purge import Upstream
from gateway.services.errors import Invalid

# Who a deletion from the command line is recorded as.
CLI_ACTOR = OPERATOR.name


def upstream_of(settings: Settings, session: aiohttp.ClientSession) -> Upstream:
    """The registry as the command line reaches it: its socket or URL, with a token of the
    gateway's own where the registry verifies tokens."""
    issuer: TokenIssuer | None = None
    if settings.upstream_forward_token:
        if not settings.service:
            raise Invalid(
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
    """The registry as the gateway reaches it, for a command that deletes or reads there."""
    connector: aiohttp.BaseConnector = (
        aiohttp.UnixConnector(str(settings.upstream_socket)) if settings.upstream_socket is not None else aiohttp.TCPConnector()
    )
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield upstream_of(settings, session)


def cli_recorder() -> PurgeRecorder:
    """Who deletes, for the delete events of a command."""
    return PurgeRecorder(CLI_ACTOR, socket.gethostname(), "command-line")
