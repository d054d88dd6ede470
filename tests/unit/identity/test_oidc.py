"""The ID token checks and the discovery rules of gateway.identity.oidc, with keys made here:
each check refuses the token that only it would catch (alg none, HMAC with the client secret,
another issuer, audience or nonce, an expired token, an unknown key)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.identity.oidc import (
    Discovery,
    ProviderUnavailable,
    SignInFailed,
    flow_secrets,
    parse_discovery,
    parse_keys,
    verify_id_token,
)

ISSUER = "https://sso.example.org"
CLIENT = "portus-gateway"
NONCE = "the-nonce"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
DISCOVERY = Discovery(ISSUER, f"{ISSUER}/auth", f"{ISSUER}/token", f"{ISSUER}/jwks", frozenset({"RS256", "ES256"}), False)


def _jwks(*pairs: tuple[str, Any]) -> dict[str, Any]:
    keys = []
    for kid, key in pairs:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()) if isinstance(key, rsa.RSAPrivateKey)
                         else jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"})
    return {"keys": keys}


KEYS = parse_keys(_jwks(("k1", RSA_KEY)))


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "s-1", "aud": CLIENT, "iat": now, "exp": now + 300, "nonce": NONCE, "preferred_username": "ann"}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(claims: dict[str, Any] | None = None, key: Any = RSA_KEY, alg: str = "RS256", kid: str = "k1") -> str:
    return jwt.encode(claims or _claims(), key, algorithm=alg, headers={"kid": kid})


def test_a_good_token_gives_its_claims() -> None:
    verified = verify_id_token(_token(), KEYS, DISCOVERY, CLIENT, NONCE)
    assert (verified.issuer, verified.subject, verified.claims["preferred_username"]) == (ISSUER, "s-1", "ann")


def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'kid': 'k1'})}.{part(claims)}."


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: _token(_claims(iss="https://other.example.org")), "Invalid issuer"),
        (lambda: _token(_claims(aud="another-client")), "Audience"),
        (lambda: _token(_claims(aud=[CLIENT, "another-client"])), "several audiences"),
        (lambda: _token(_claims(nonce="another-nonce")), "nonce"),
        (lambda: _token(_claims(nonce=None)), "nonce"),
        (lambda: _token(_claims(exp=int(time.time()) - 120)), "expired"),
        (lambda: _token(_claims(sub=None)), "sub"),
        (lambda: _token(_claims(sub="x" * 256)), "subject"),
        (lambda: _token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)), "Signature verification failed"),
        (lambda: _token(kid="k2"), "not one of the provider's keys"),
        (lambda: _token(key="the-client-secret-of-the-gateway-32b", alg="HS256"), "algorithm 'HS256' is not allowed"),
        (lambda: _unsigned(_claims()), "algorithm 'none' is not allowed"),
        (lambda: _token(alg="RS512"), "algorithm 'RS512' is not allowed"),
        (lambda: "not.a.token", "malformed"),
    ],
)
def test_a_token_failing_one_check_is_refused(token: Any, reason: str) -> None:
    with pytest.raises(SignInFailed) as refused:
        verify_id_token(token(), KEYS, DISCOVERY, CLIENT, NONCE)
    assert reason in refused.value.detail


def test_several_audiences_pass_when_we_are_the_authorized_party() -> None:
    token = _token(_claims(aud=[CLIENT, "another-client"], azp=CLIENT))
    assert verify_id_token(token, KEYS, DISCOVERY, CLIENT, NONCE).subject == "s-1"


def test_a_key_serves_only_its_own_algorithm() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys = parse_keys(_jwks(("k1", RSA_KEY), ("e1", ec_key)))
    assert verify_id_token(_token(key=ec_key, alg="ES256", kid="e1"), keys, DISCOVERY, CLIENT, NONCE).subject == "s-1"
    with pytest.raises(SignInFailed, match="the ID token's algorithm 'ES256' is not allowed for key 'k1'"):
        verify_id_token(_token(key=ec_key, alg="ES256", kid="k1"), keys, DISCOVERY, CLIENT, NONCE)


def test_the_key_set_keeps_only_signing_keys() -> None:
    document = _jwks(("k1", RSA_KEY))
    document["keys"] += [{**document["keys"][0], "kid": "enc", "use": "enc"}, {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}, "junk", {"kty": "RSA", "kid": "broken"}]
    assert sorted(parse_keys(document)) == ["k1"]
    with pytest.raises(ProviderUnavailable):
        parse_keys({"keys": "none"})


def _document(**changes: Any) -> dict[str, Any]:
    document = {
        "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/auth", "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks", "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
    }
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


def test_discovery_names_our_issuer_and_uses_https() -> None:
    discovery = parse_discovery(_document(), ISSUER)
    assert discovery.algorithms == {"RS256"} and not discovery.post_secret  # never HMAC or none, whatever is offered
    assert discovery.userinfo_endpoint is None
    assert parse_discovery(_document(userinfo_endpoint=f"{ISSUER}/me"), ISSUER).userinfo_endpoint == f"{ISSUER}/me"
    assert parse_discovery(_document(token_endpoint_auth_methods_supported=["client_secret_post"]), ISSUER).post_secret
    for bad in (
        _document(issuer="https://sso.example.org/"), _document(token_endpoint="http://sso.example.org/token"),
        _document(jwks_uri=None), _document(authorization_endpoint="javascript:alert(1)"), ["not", "an", "object"],
        _document(userinfo_endpoint="http://sso.example.org/me"),
    ):
        with pytest.raises(ProviderUnavailable):
            parse_discovery(bad, ISSUER)
    loopback = "http://127.0.0.1:8080"
    assert parse_discovery(_document(issuer=loopback, token_endpoint=f"{loopback}/token"), loopback).token_endpoint == f"{loopback}/token"


def test_flow_secrets_are_derived_per_browser_and_the_challenge_is_s256() -> None:
    one, other = flow_secrets("browser-one"), flow_secrets("browser-two")
    assert one == flow_secrets("browser-one") and one.nonce != other.nonce and one.verifier != other.verifier
    assert one.nonce != one.verifier and 43 <= len(one.verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(one.verifier.encode()).digest()).decode().rstrip("=")
    assert one.challenge == expected
