"""Purging a reserved namespace where the registry verifies the gateway's tokens itself
(`upstream.forward_token`): the gateway, and the command line, sign tokens of their own for
the deletes, and the registry accepts them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.e2e.test_portus_deployment import (  # noqa: F401 (fixtures)
    SERVICE,
    certificate,
    gateway_env,
    registry_manifest_status,
    token_registry,
)
from tests.integration.api.conftest import PASSWORD, Api
from tests.integration.api.test_tombstones import push_as
from tests.support.deployment import Certificate, TokenAuthRegistry
from tests.support.processes import Gateway, free_port


async def test_api_and_cli_purge_through_a_registry_that_verifies_tokens(
    make_gateway: Callable[..., Gateway], token_registry: Callable[..., TokenAuthRegistry],
    certificate: Certificate, tmp_path: Path,
) -> None:
    registry_port = free_port()
    gateway = make_gateway(
        gateway_env(certificate, GATEWAY_UPSTREAM_FORWARD_TOKEN="true"), upstream_url=f"http://127.0.0.1:{registry_port}"
    )
    registry = token_registry(f"{gateway.url}/v2/token", certificate, registry_port)
    async with aiohttp.ClientSession() as session:
        api = Api(session, gateway, Gateway.ADMIN)
        owners = [await api.new_user("bob"), await api.new_user("carl")]
        for owner in owners:
            await push_as(api, owner, f"{owner}/app", PASSWORD, SERVICE)
            assert await registry_manifest_status(registry, gateway, f"{owner}/app", "v1") == 200
            await api.ok("DELETE", f"/users/{owner}")

        purged = await api.ok("POST", f"/tombstones/{owners[0]}/purge")
        assert purged["purged"]["manifests"] == 1, registry.log_text()[-3000:]
        assert "the name is free" in gateway.cli("namespace", "purge", owners[1]).stdout
        for owner in owners:
            assert await registry_manifest_status(registry, gateway, f"{owner}/app", "v1") == 404
