"""JWKS and key rotation: after a restart with a new signing key and the old certificate listed as
a previous one, tokens of the old key keep working until they expire; JWKS lists both keys."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from gateway.auth.keyfiles import load_signing_key
from gateway.auth.scopes import Scope
from gateway.auth.tokens import TokenIssuer
from tests.integration.ops.helpers import get
from tests.support.client import USERS, fetch_token
from tests.support.deployment import make_certificate
from tests.support.processes import REPO_ROOT, Gateway


def jwks(gateway: Gateway) -> dict[str, Any]:
    status, headers, body = get(f"{gateway.url}/.well-known/jwks.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    return dict(json.loads(body))


def verify_with_jwks(token: str, document: dict[str, Any], audience: str) -> dict[str, Any]:
    """Verify a token the way an outside party would: pick the JWK by kid, check the signature."""
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [key for key in document["keys"] if key["kid"] == kid]
    key = jwt.PyJWK.from_dict(jwk)
    return dict(jwt.decode(token, key.key, algorithms=[jwk["alg"]], audience=audience, issuer="portus-gateway"))


async def base_status(gateway: Gateway, token: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.url}/v2/", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return response.status


async def alice_token(gateway: Gateway) -> str:
    async with aiohttp.ClientSession() as session:
        body = await fetch_token(session, gateway.url, gateway.host, "alice", USERS["alice"], "repository:alice/rotation:pull")
        return str(body["token"])


def restart(gateway: Gateway, env: dict[str, str]) -> None:
    gateway.stop()
    gateway.env = env
    gateway.start()  # same port, same data directory (users and all)


@pytest.fixture
def old_key_pair(tmp_path: Path) -> tuple[Path, Path]:
    """An EC key pair made by `portus-gateway keys generate`: the key before the rotation."""
    directory = tmp_path / "old"
    subprocess.run([sys.executable, "-m", "gateway", "keys", "generate", "--out", str(directory), "--type", "ec"],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=30)
    return directory / "token.key", directory / "token.crt"


async def test_tokens_of_the_previous_key_stay_valid_after_rotation_until_they_expire(
    make_gateway: Callable[..., Gateway], old_key_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    old_key, old_cert = old_key_pair
    new = make_certificate(tmp_path / "new")  # an RSA certificate from openssl: the algorithm changes too
    old_env = {"GATEWAY_TOKEN_KEY_FILE": str(old_key), "GATEWAY_TOKEN_CERT_FILE": str(old_cert)}
    new_env = {"GATEWAY_TOKEN_KEY_FILE": str(new.key), "GATEWAY_TOKEN_CERT_FILE": str(new.cert)}

    gateway = make_gateway(old_env)
    old_token = await alice_token(gateway)
    assert await base_status(gateway, old_token) == 200
    before = jwks(gateway)
    assert [key["kid"] for key in before["keys"]] == [jwt.get_unverified_header(old_token)["kid"]]
    assert verify_with_jwks(old_token, before, gateway.host)["sub"] == "alice"

    restart(gateway, {**new_env, "GATEWAY_TOKEN_PREVIOUS_CERT_FILES": str(old_cert)})
    assert await base_status(gateway, old_token) == 200, "a token of the previous key is still valid"
    new_token = await alice_token(gateway)
    new_header = jwt.get_unverified_header(new_token)
    assert new_header["alg"] == "RS256" and new_header["kid"] != jwt.get_unverified_header(old_token)["kid"]
    after = jwks(gateway)
    assert {key["kid"] for key in after["keys"]} == {new_header["kid"], before["keys"][0]["kid"]}
    assert all(key["use"] == "sig" and key["alg"] in ("ES256", "RS256") and "d" not in key for key in after["keys"])
    assert verify_with_jwks(old_token, after, gateway.host)["sub"] == "alice"
    assert verify_with_jwks(new_token, after, gateway.host)["sub"] == "alice"

    # ...until it expires: the same old key, a token whose lifetime (plus leeway) is over.
    issuer = TokenIssuer(load_signing_key(old_key, old_cert), "portus-gateway", 60)
    expired = issuer.issue("alice", gateway.host, [Scope("repository", "alice/rotation", ("pull",))], now=time.time() - 600)
    assert await base_status(gateway, expired.token) == 401

    restart(gateway, new_env)  # the previous certificate dropped: its tokens stop working
    assert await base_status(gateway, old_token) == 401
    assert await base_status(gateway, new_token) == 200
    assert len(jwks(gateway)["keys"]) == 1


def test_an_unreadable_previous_certificate_stops_the_start_with_one_line(tmp_path: Path) -> None:
    gateway = Gateway(tmp_path / "gateway", "http://127.0.0.1:1")
    env = {**gateway.environment(), "GATEWAY_TOKEN_PREVIOUS_CERT_FILES": str(tmp_path / "nowhere.crt"), "GATEWAY_LISTEN": "127.0.0.1:0"}
    completed = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith("portus-gateway: bad setting GATEWAY_TOKEN_PREVIOUS_CERT_FILES:")
    assert "Traceback" not in completed.stderr
