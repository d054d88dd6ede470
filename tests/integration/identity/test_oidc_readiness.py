"""The readiness report of the OpenID provider: the session's real provider answers, an address
where nobody listens is reported down, each answer is kept a few seconds (one request per
interval however many probes), and a provider that holds its answer slows only the probes before
its first answer. Holding an answer is what no real provider does on demand: a small loopback
server plays that one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.config import load_settings
from gateway.identity import oidc
from gateway.identity.oidc import OidcClient, ProviderUnavailable
from tests.support.oidc_provider import OidcProvider
from tests.support.processes import free_port
from tests.support.waiting import eventually


@asynccontextmanager
async def _client(issuer: str, tmp_path: Path, oidc_provider: OidcProvider) -> AsyncIterator[tuple[OidcClient, list[str]]]:
    """A client of `issuer`, and the URLs it requested."""
    requested: list[str] = []

    async def on_start(session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestStartParams) -> None:
        requested.append(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    env = {"GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_UPSTREAM_URL": "http://127.0.0.1:9", **oidc_provider.gateway_env(GATEWAY_OIDC_ISSUER=issuer)}
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        client = OidcClient(load_settings(env), session)
        yield client, requested
        await client.close()


async def _down(client: OidcClient) -> bool:
    try:
        await client.check()
    except ProviderUnavailable:
        return True
    return False


async def test_the_real_provider_is_up_and_asked_once_per_interval(tmp_path: Path, oidc_provider: OidcProvider) -> None:
    async with _client(oidc_provider.issuer, tmp_path, oidc_provider) as (client, requested):
        for _ in range(3):
            assert not await _down(client)
        assert requested == [f"{oidc_provider.issuer}/.well-known/openid-configuration"]
        assert (await client.discovery()).issuer == oidc_provider.issuer
        assert len(requested) == 1, "the probe's document serves the sign-ins too"


async def test_nobody_listening_is_down_and_the_answer_is_kept(tmp_path: Path, oidc_provider: OidcProvider) -> None:
    async with _client(f"http://127.0.0.1:{free_port()}", tmp_path, oidc_provider) as (client, requested):
        assert await _down(client) and await _down(client)
        assert len(requested) == 1


async def test_a_provider_holding_its_answer_slows_only_the_first_probes(
    tmp_path: Path, oidc_provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()

    async def discovery(request: web.Request) -> web.Response:
        await release.wait()
        issuer = f"http://127.0.0.1:{request.url.port}"
        document = {name: f"{issuer}/{name}" for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")}
        return web.json_response({"issuer": issuer, **document})

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with _client(f"http://127.0.0.1:{server.port}", tmp_path, oidc_provider) as (client, requested):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):  # what the readiness timeout does to the first probe
                    await client.check()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await client.check()
            assert len(requested) == 1, "the second probe waits for the same request"
            release.set()
            assert not await _down(client)
            assert len(requested) == 1

            release.clear()
            monkeypatch.setattr(oidc, "PROBE_TTL", 0.0)  # every answer is old now
            async with asyncio.timeout(5):
                assert not await _down(client), "the last answer, at once, while the provider holds the new one"
            assert await eventually(lambda: len(requested), lambda count: count == 2) == 2, "and asks for a new one"
            release.set()
    finally:
        await server.close()

