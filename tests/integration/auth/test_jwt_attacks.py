"""Forged, replayed and malformed bearer tokens against the real gateway: all 401, never 400/500.

The positive controls sign with the gateway's real key, so the battery shows that the refusals
come from what each attack changes, not from a forging mistake.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import random
import secrets
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.support.client import USERS, bearer
from tests.support.processes import Gateway

ISSUER = "portus-gateway"
PATH = "/v2/alice/app/tags/list"
APP_PULL = [{"type": "repository", "name": "alice/app", "actions": ["pull"]}]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@dataclass(frozen=True)
class RealKey:
    """The gateway's own signing material, read from its data dir, and a real token's header."""

    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    cert_pem: bytes
    public_pem: bytes
    algorithm: str
    kid: str
    x5c: list[str]
    service: str


@pytest.fixture(scope="module")
def real(gateway: Gateway) -> RealKey:
    data = gateway.workdir / "data"
    private_key = serialization.load_pem_private_key((data / "token.key").read_bytes(), password=None)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    cert_pem = (data / "token.crt").read_bytes()
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    request = urllib.request.Request(
        f"{gateway.url}/v2/token?service={gateway.host}",
        headers={"Authorization": "Basic " + base64.b64encode(f"alice:{USERS['alice']}".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token = json.load(response)["token"]
    header = jwt.get_unverified_header(token)
    return RealKey(private_key, cert_pem, public_pem, header["alg"], header["kid"], header["x5c"], gateway.host)


def claims(real: RealKey, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": real.service,
        "exp": now + 300,
        "nbf": now - 5,
        "iat": now,
        "jti": secrets.token_urlsafe(12),
        "access": APP_PULL,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign_real(real: RealKey, payload: dict[str, Any], **header: Any) -> str:
    headers = {"kid": real.kid, "x5c": real.x5c, **header}
    return jwt.encode(payload, real.private_key, algorithm=real.algorithm, headers=headers)


def attacker_cert(key: ec.EllipticCurvePrivateKey) -> str:
    """A self-signed CA certificate with the same subject as the gateway's own."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portus-gateway token signer")])
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def libtrust_kid_of(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(encoded[i : i + 4] for i in range(0, 48, 4))


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    return f"{b64url_json(header)}.{b64url_json(payload)}.{signature}"


def hs256(real: RealKey, secret: bytes) -> str:
    signing_input = f"{b64url_json({'typ': 'JWT', 'alg': 'HS256', 'kid': real.kid})}.{b64url_json(claims(real))}"
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def with_attacker_key(real: RealKey, *, kid: str | None = None, x5c: bool = False, jwk: bool = False) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    header: dict[str, Any] = {"kid": kid if kid is not None else real.kid}
    if x5c:
        header["x5c"] = [attacker_cert(key)]
    if jwk:
        numbers = key.public_key().public_numbers()
        header["jwk"] = {
            "kty": "EC", "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")),
        }
    return jwt.encode(claims(real), key, algorithm="ES256", headers=header)


def tampered(real: RealKey) -> str:
    header, _, signature = sign_real(real, claims(real)).split(".")
    forged = claims(real, access=[{"type": "repository", "name": "alice/app", "actions": ["pull", "push", "delete"]}])
    return f"{header}.{b64url_json(forged)}.{signature}"


def _attacker_kid(real: RealKey) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims(real), key, algorithm="ES256", headers={"kid": libtrust_kid_of(key), "x5c": [attacker_cert(key)]})


def _alg_confusion_rs256(real: RealKey) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(real), key, algorithm="RS256", headers={"kid": real.kid, "x5c": real.x5c})


ATTACKS: dict[str, Callable[[RealKey], str]] = {
    "alg-none": lambda r: unsigned({"typ": "JWT", "alg": "none", "kid": r.kid}, claims(r)),
    "alg-None": lambda r: unsigned({"typ": "JWT", "alg": "None", "kid": r.kid}, claims(r)),
    "alg-none-no-kid": lambda r: unsigned({"typ": "JWT", "alg": "none"}, claims(r)),
    "real-alg-empty-signature": lambda r: unsigned({"typ": "JWT", "alg": r.algorithm, "kid": r.kid}, claims(r)),
    "hs256-with-certificate-pem": lambda r: hs256(r, r.cert_pem),
    "hs256-with-public-key-pem": lambda r: hs256(r, r.public_pem),
    "hs256-with-x5c-text": lambda r: hs256(r, r.x5c[0].encode()),
    "other-key-copied-kid": with_attacker_key,
    "other-key-own-x5c-own-kid": _attacker_kid,
    "other-key-own-x5c-copied-kid": lambda r: with_attacker_key(r, x5c=True),
    "other-key-embedded-jwk-copied-kid": lambda r: with_attacker_key(r, jwk=True),
    "rs256-confusion-copied-kid": _alg_confusion_rs256,
    "missing-kid": lambda r: jwt.encode(claims(r), r.private_key, algorithm=r.algorithm),
    "path-kid": lambda r: sign_real(r, claims(r), kid="../../data/token.key"),
    "expired-beyond-leeway": lambda r: sign_real(
        r, claims(r, exp=int(time.time()) - 120, iat=int(time.time()) - 420, nbf=int(time.time()) - 425)
    ),
    "not-yet-valid-beyond-leeway": lambda r: sign_real(r, claims(r, nbf=int(time.time()) + 300, exp=int(time.time()) + 900)),
    "issued-in-the-future": lambda r: sign_real(r, claims(r, iat=int(time.time()) + 600, exp=int(time.time()) + 900)),
    "wrong-audience": lambda r: sign_real(r, claims(r, aud="registry.example.com")),
    "wrong-issuer": lambda r: sign_real(r, claims(r, iss="someone-else")),
    "missing-exp": lambda r: sign_real(r, claims(r, exp=None)),
    "missing-aud": lambda r: sign_real(r, claims(r, aud=None)),
    "access-not-a-list": lambda r: sign_real(r, claims(r, access={"repository": "alice/app"})),
    "tampered-payload": tampered,
}


def assert_invalid_token(status: int, headers: Any) -> None:
    assert status == 401
    challenge = headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer realm=")
    assert 'error="invalid_token"' in challenge


async def test_positive_control_token_forged_with_the_real_key_is_accepted(gateway: Gateway, real: RealKey) -> None:
    token = sign_real(real, claims(real))
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway.url}{PATH}", headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status in (200, 404), await response.text()
            assert "WWW-Authenticate" not in response.headers
        async with session.get(f"{gateway.url}/v2/", headers={"Authorization": f"bearer {token}"}) as response:
            assert response.status == 200


async def test_positive_control_expired_within_leeway_is_accepted(gateway: Gateway, real: RealKey) -> None:
    now = int(time.time())
    token = sign_real(real, claims(real, exp=now - 20, iat=now - 320, nbf=now - 325))
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.url}{PATH}", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status in (200, 404)


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_forged_token_is_refused_as_invalid_token(gateway: Gateway, real: RealKey, attack: str) -> None:
    token = ATTACKS[attack](real)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.url}{PATH}", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert_invalid_token(response.status, response.headers)
        body = await response.json()
        assert body["errors"][0]["code"] == "UNAUTHORIZED"


async def test_forged_token_does_not_open_the_base_endpoint(gateway: Gateway, real: RealKey) -> None:
    async with aiohttp.ClientSession() as session:
        for attack in ("alg-none", "hs256-with-certificate-pem", "other-key-own-x5c-copied-kid"):
            headers = {"Authorization": f"Bearer {ATTACKS[attack](real)}"}
            async with session.get(f"{gateway.url}/v2/", headers=headers) as response:
                assert_invalid_token(response.status, response.headers)


async def test_token_for_another_service_is_refused(gateway: Gateway) -> None:
    """A real token minted for `localhost:PORT` is not valid when the service is `127.0.0.1:PORT`."""
    other_service = f"localhost:{gateway.port}"
    headers = {"Authorization": aiohttp.encode_basic_auth("alice", USERS["alice"]), "Host": other_service}
    async with aiohttp.ClientSession() as session:
        params = {"service": other_service, "scope": "repository:alice/app:pull"}
        async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
            assert response.status == 200
            token = (await response.json())["token"]
        assert jwt.decode(token, options={"verify_signature": False})["aud"] == other_service
        async with session.get(f"{gateway.url}{PATH}", headers={"Authorization": f"Bearer {token}"}) as response:
            assert_invalid_token(response.status, response.headers)


async def test_token_for_one_repository_is_insufficient_for_another(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/app:pull")
        async with session.get(f"{gateway.url}/v2/alice/other/tags/list", headers=headers) as response:
            assert response.status == 401
            assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


# --- garbage Authorization headers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("Bearer", None),
        ("Bearer ", None),
        ("Bearer x.y.z", "invalid_token"),
        ("Bearer ...", "invalid_token"),
        ("Bearer e30.e30.e30", "invalid_token"),
        ("Bearer " + "é.é.é", "invalid_token"),
        ("Bearer " + "a" * 20_000, "invalid_token"),
        ("Bearer " + "eyJhbGciOiJFUzI1NiJ9." * 1000, "invalid_token"),
        ("Basic " + base64.b64encode(b"alice:alice-secret-pw").decode(), None),
        ("Basic !!!notbase64", None),
        ("Token abc", None),
        ("", None),
    ],
    ids=[
        "bearer-alone", "bearer-space", "three-garbage-parts", "dots", "empty-json-parts", "non-ascii",
        "oversized-20k", "oversized-header-segments", "basic-valid-credentials", "basic-garbage", "other-scheme",
        "empty",
    ],
)
async def test_garbage_authorization_header_gets_401(gateway: Gateway, value: str, error: str | None) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.url}{PATH}", headers={"Authorization": value}) as response,
    ):
        assert response.status == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer realm=")
        if error is not None:
            assert f'error="{error}"' in challenge


async def raw_get(gateway: Gateway, path: str, authorization: bytes) -> tuple[int, bytes]:
    """Send exactly these header bytes (aiohttp's client would re-encode them)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        writer.write(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + gateway.host.encode()
            + b"\r\nAuthorization: " + authorization + b"\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_bytes_after_bearer_get_401(gateway: Gateway, seed: int) -> None:
    """Random field-value bytes (visible ASCII and obs-text, as RFC 9110 allows) are a bad token."""
    allowed = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))
    rng = random.Random(seed)
    value = bytes(rng.choice(allowed) for _ in range(300))
    status, rest = await raw_get(gateway, PATH, b"Bearer " + value)
    assert status == 401, rest[:500]
    assert b'error="invalid_token"' in rest


async def test_random_bytes_instead_of_a_scheme_get_401(gateway: Gateway) -> None:
    rng = random.Random(7)
    value = bytes(rng.choice(bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))) for _ in range(200))
    status, rest = await raw_get(gateway, PATH, value)
    assert status == 401, rest[:500]
