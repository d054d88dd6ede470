"""The Portus deployment: registry 2.8 with token auth trusting the gateway's certificate.

Clients talk to the registry directly and the gateway is only the token server; or, with
`upstream.forward_token`, clients talk to the gateway and the registry behind it verifies the
same tokens again (defence in depth).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.clients import Skopeo, client_env, creds, run, unique
from tests.support.client import USERS, fetch_token
from tests.support.deployment import Certificate, TokenAuthRegistry, make_certificate
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway, free_port, require_tool
from tests.support.waiting import eventually

SERVICE = "registry.portus.test"
ISSUER = "portus.test"


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return make_certificate(tmp_path / "pki")


@pytest.fixture
def token_registry(tmp_path: Path) -> Iterator[Callable[[str, Certificate, int], TokenAuthRegistry]]:
    started: list[TokenAuthRegistry] = []

    def start(realm: str, certificate: Certificate, port: int) -> TokenAuthRegistry:
        registry = TokenAuthRegistry(
            tmp_path / f"registry{len(started)}", port=port, realm=realm, service=SERVICE, issuer=ISSUER,
            rootcertbundle=certificate.cert,
        )
        started.append(registry.start())
        return registry

    yield start
    for registry in started:
        registry.stop()


def gateway_env(certificate: Certificate, **extra: str) -> dict[str, str]:
    return {
        "GATEWAY_TOKEN_KEY_FILE": str(certificate.key), "GATEWAY_TOKEN_CERT_FILE": str(certificate.cert),
        "GATEWAY_SERVICE": SERVICE, "GATEWAY_ISSUER": ISSUER, **extra,
    }


async def registry_manifest_status(registry: TokenAuthRegistry, gateway: Gateway, repository: str, tag: str) -> int:
    """What the registry itself answers for a manifest, asked with an admin token from the gateway."""
    async with aiohttp.ClientSession() as session:
        token = await fetch_token(session, gateway.url, SERVICE, *Gateway.ADMIN, f"repository:{repository}:pull")
        headers = {"Authorization": f"Bearer {token['token']}", "Accept": "application/vnd.oci.image.manifest.v1+json"}
        async with session.head(f"{registry.url}/v2/{repository}/manifests/{tag}", headers=headers) as response:
            return response.status


async def test_registry_with_token_auth_accepts_gateway_tokens_for_a_direct_skopeo_push(
    make_gateway: Callable[..., Gateway], token_registry: Callable[..., TokenAuthRegistry],
    certificate: Certificate, tmp_path: Path,
) -> None:
    registry_port = free_port()
    gateway = make_gateway(gateway_env(certificate), upstream_url=f"http://127.0.0.1:{registry_port}")
    registry = token_registry(f"{gateway.url}/v2/token", certificate, registry_port)
    skopeo = require_tool("skopeo")
    env = client_env(tmp_path / "skopeo")
    repository = unique("alice/portus")
    layout = build_layout(tmp_path / "layout", layers=2, seed=repository, tag="v1")

    def push(tag: str, user_creds: str) -> bool:
        target = f"docker://127.0.0.1:{registry_port}/{repository}:{tag}"
        result = run([skopeo, "copy", "--retry-times", "0", "--dest-tls-verify=false", "--dest-creds", user_creds,
                      f"oci:{layout.path}:v1", target], env)
        return result.ok

    assert push("v1", creds("alice")), registry.log_text()[-3000:]
    assert await registry_manifest_status(registry, gateway, repository, "v1") == 200
    # The registry sent skopeo to the gateway for its token, and the gateway issued it for alice
    # (access lines are written within a fraction of a second of the answer).
    log = await eventually(gateway.log_text, lambda text: '"GET /v2/token?' in text and "user=alice" in text)
    assert '"GET /v2/token?' in log and "user=alice" in log

    assert not push("wrong", "alice:not-her-password")
    assert await registry_manifest_status(registry, gateway, repository, "wrong") == 404
    assert not push("bob", creds("bob")), "bob may not push into alice's namespace"
    assert await registry_manifest_status(registry, gateway, repository, "bob") == 404


async def test_registry_refuses_a_token_signed_by_a_key_it_does_not_trust(
    make_gateway: Callable[..., Gateway], token_registry: Callable[..., TokenAuthRegistry],
    certificate: Certificate, tmp_path: Path,
) -> None:
    registry_port = free_port()
    stranger = make_certificate(tmp_path / "stranger", name="stranger")
    gateway = make_gateway(gateway_env(stranger), upstream_url=f"http://127.0.0.1:{registry_port}")
    registry = token_registry(f"{gateway.url}/v2/token", certificate, registry_port)
    async with aiohttp.ClientSession() as session:
        token = await fetch_token(session, gateway.url, SERVICE, "alice", USERS["alice"], "repository:alice/x:pull")
        async with session.get(f"{registry.url}/v2/alice/x/tags/list", headers={"Authorization": f"Bearer {token['token']}"}) as response:
            assert response.status == 401


async def test_forward_token_mode_lets_the_upstream_verify_the_clients_token_again(
    make_gateway: Callable[..., Gateway], token_registry: Callable[..., TokenAuthRegistry],
    certificate: Certificate, tmp_path: Path,
) -> None:
    registry_port = free_port()
    upstream = f"http://127.0.0.1:{registry_port}"
    forwarding = make_gateway(gateway_env(certificate, GATEWAY_UPSTREAM_FORWARD_TOKEN="true"), upstream_url=upstream)
    plain = make_gateway(gateway_env(certificate), upstream_url=upstream)
    registry = token_registry(f"{forwarding.url}/v2/token", certificate, registry_port)
    repository = unique("alice/forwarded")
    layout = build_layout(tmp_path / "layout", layers=2, seed=repository, tag="v1")

    through_forwarding = Skopeo.create(forwarding, tmp_path / "skopeo-forwarding")
    pushed = through_forwarding.copy(f"oci:{layout.path}:v1", through_forwarding.ref(repository, "v1"), dest_creds=creds("alice"))
    assert pushed.ok, pushed.describe() + registry.log_text()[-3000:]
    assert await registry_manifest_status(registry, forwarding, repository, "v1") == 200
    # The registry checked the token itself: its log names the token's subject.
    for _ in range(50):
        if "auth.user.name=alice" in registry.log_text().replace('"', ""):
            break
        await asyncio.sleep(0.1)
    assert "auth.user.name=alice" in registry.log_text().replace('"', "")

    # Reads through the gateway reach the verifying upstream with the client's token too.
    inspected = through_forwarding.inspect(through_forwarding.ref(repository, "v1"), creds("alice"))
    assert inspected.ok, inspected.describe()
    listed = run([through_forwarding.binary, "list-tags", "--tls-verify=false", "--creds", creds("alice"),
                  f"docker://{forwarding.host}/{repository}"], through_forwarding.env)
    assert listed.ok and "v1" in listed.stdout, listed.describe()

    through_plain = Skopeo.create(plain, tmp_path / "skopeo-plain")
    refused = through_plain.copy(f"oci:{layout.path}:v1", through_plain.ref(repository, "v2"), dest_creds=creds("alice"))
    assert not refused.ok, "without forward_token the token-auth upstream must refuse the gateway's anonymous requests"
    assert await registry_manifest_status(registry, forwarding, repository, "v2") == 404
