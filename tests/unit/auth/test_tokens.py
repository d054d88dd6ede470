"""Registry JWTs: what the issuer writes, and what the verifier accepts (leeway, expiry, keys)."""

from __future__ import annotations

import base64
import datetime
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.auth.keyfiles import SigningKey, libtrust_kid, self_signed_certificate, signing_key_from
from gateway.auth.scopes import Scope
from gateway.auth.tokens import LEEWAY_SECONDS, TokenError, TokenIssuer, TokenVerifier

ISSUER = "test-issuer"
SERVICE = "registry.test:5000"
TTL = 300
APP_PULL_PUSH = Scope("repository", "alice/app", ("pull", "push"))


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    return signing_key_from(private, self_signed_certificate(private))


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return signing_key_from(private, self_signed_certificate(private))


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_issued_token_verifies_and_carries_the_grant(ec_key: SigningKey) -> None:
    issued = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, [APP_PULL_PUSH])
    verified = TokenVerifier([ec_key], ISSUER).verify(issued.token, SERVICE)
    assert verified.subject == "alice"
    assert verified.audience == SERVICE
    assert verified.allows("repository", "alice/app", "pull")
    assert verified.allows("repository", "alice/app", "push")
    assert not verified.allows("repository", "alice/app", "delete")
    assert not verified.allows("repository", "alice/other", "pull")
    assert issued.granted == (APP_PULL_PUSH,)
    assert issued.expires_in == TTL


def test_rs256_token_round_trips(rsa_key: SigningKey) -> None:
    issued = TokenIssuer(rsa_key, ISSUER, TTL).issue("bob", SERVICE, [])
    assert jwt.get_unverified_header(issued.token)["alg"] == "RS256"
    assert TokenVerifier([rsa_key], ISSUER).verify(issued.token, SERVICE).subject == "bob"


def test_header_names_the_key_as_registries_expect(ec_key: SigningKey) -> None:
    token = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, []).token
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "JWT"
    assert header["alg"] == "ES256"
    assert header["kid"] == libtrust_kid(ec_key.private_key.public_key())
    der = ec_key.certificate.public_bytes(serialization.Encoding.DER)
    assert header["x5c"] == [base64.b64encode(der).decode("ascii")]
    assert "jwk" not in header


def test_claims_have_the_shape_registry_2_8_accepts(ec_key: SigningKey) -> None:
    before = int(time.time())
    issued = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, [APP_PULL_PUSH])
    after = int(time.time())
    claims = _claims(issued.token)
    assert claims["sub"] == "alice"
    assert claims["aud"] == SERVICE
    assert isinstance(claims["aud"], str)
    assert claims["iss"] == ISSUER
    assert all(isinstance(claims[k], int) for k in ("exp", "nbf", "iat"))
    assert before <= claims["iat"] <= after
    assert claims["exp"] == claims["iat"] + TTL
    assert claims["nbf"] < claims["iat"]
    assert claims["nbf"] < before
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert claims["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}]


def test_anonymous_subject_is_the_empty_string(ec_key: SigningKey) -> None:
    issued = TokenIssuer(ec_key, ISSUER, TTL).issue("", SERVICE, [])
    assert _claims(issued.token)["sub"] == ""
    assert _claims(issued.token)["access"] == []
    assert TokenVerifier([ec_key], ISSUER).verify(issued.token, SERVICE).subject == ""


def test_every_token_has_its_own_jti(ec_key: SigningKey) -> None:
    issuer = TokenIssuer(ec_key, ISSUER, TTL)
    now = time.time()
    jtis = {_claims(issuer.issue("alice", SERVICE, [], now=now).token)["jti"] for _ in range(20)}
    assert len(jtis) == 20


def test_issued_at_is_rfc3339_utc_with_z_and_matches_iat(ec_key: SigningKey) -> None:
    issued = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, [])
    assert issued.issued_at.endswith("Z")
    moment = datetime.datetime.fromisoformat(issued.issued_at)
    assert moment.utcoffset() == datetime.timedelta(0)
    assert int(moment.timestamp()) == _claims(issued.token)["iat"]


def test_token_expired_within_leeway_still_verifies(ec_key: SigningKey) -> None:
    past = time.time() - TTL - 30
    token = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, [], now=past).token
    assert TokenVerifier([ec_key], ISSUER).verify(token, SERVICE).subject == "alice"


def test_token_expired_beyond_leeway_is_refused_as_expired(ec_key: SigningKey) -> None:
    assert LEEWAY_SECONDS == 60
    past = time.time() - TTL - 90
    token = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, [], now=past).token
    with pytest.raises(TokenError) as caught:
        TokenVerifier([ec_key], ISSUER).verify(token, SERVICE)
    assert caught.value.expired is True


def test_allow_expired_lets_a_correctly_signed_expired_token_through(ec_key: SigningKey) -> None:
    past = time.time() - TTL - 3600
    token = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, [APP_PULL_PUSH], now=past).token
    verified = TokenVerifier([ec_key], ISSUER).verify(token, SERVICE, allow_expired=True)
    assert verified.subject == "alice"
    assert verified.allows("repository", "alice/app", "push")


def test_allowing_expired_once_does_not_make_the_token_valid_later(ec_key: SigningKey) -> None:
    past = time.time() - TTL - 3600
    token = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, [], now=past).token
    verifier = TokenVerifier([ec_key], ISSUER)
    verifier.verify(token, SERVICE, allow_expired=True)
    with pytest.raises(TokenError) as caught:
        verifier.verify(token, SERVICE)
    assert caught.value.expired is True


def test_verify_judges_expiry_at_the_given_moment(ec_key: SigningKey) -> None:
    """`now=` is the verification clock: a token fresh today is expired 90 s past its lifetime."""
    now = time.time()
    token = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, [], now=now).token
    with pytest.raises(TokenError) as caught:
        TokenVerifier([ec_key], ISSUER).verify(token, SERVICE, now=now + TTL + 90)
    assert caught.value.expired is True


def test_wrong_audience_is_refused(ec_key: SigningKey) -> None:
    token = TokenIssuer(ec_key, ISSUER, TTL).issue("alice", SERVICE, []).token
    verifier = TokenVerifier([ec_key], ISSUER)
    verifier.verify(token, SERVICE)
    with pytest.raises(TokenError) as caught:
        verifier.verify(token, "other.test:5000")
    assert caught.value.expired is False


def test_wrong_issuer_is_refused(ec_key: SigningKey) -> None:
    token = TokenIssuer(ec_key, "someone-else", TTL).issue("alice", SERVICE, []).token
    with pytest.raises(TokenError):
        TokenVerifier([ec_key], ISSUER).verify(token, SERVICE)


def test_token_of_an_unknown_key_is_refused(ec_key: SigningKey, rsa_key: SigningKey) -> None:
    token = TokenIssuer(rsa_key, ISSUER, TTL).issue("alice", SERVICE, []).token
    with pytest.raises(TokenError, match="unknown key id"):
        TokenVerifier([ec_key], ISSUER).verify(token, SERVICE)


def test_verifier_accepts_any_of_its_keys(ec_key: SigningKey, rsa_key: SigningKey) -> None:
    verifier = TokenVerifier([ec_key, rsa_key], ISSUER)
    for key in (ec_key, rsa_key):
        token = TokenIssuer(key, ISSUER, TTL).issue("alice", SERVICE, []).token
        assert verifier.verify(token, SERVICE).subject == "alice"


def test_oversized_token_is_refused_before_parsing(ec_key: SigningKey) -> None:
    with pytest.raises(TokenError, match="longer"):
        TokenVerifier([ec_key], ISSUER).verify("a" * 20_000, SERVICE)


@pytest.mark.parametrize("garbage", ["", "x", "x.y.z", "....", "eyJhbGciOiJub25lIn0.e30."])
def test_garbage_is_a_token_error(ec_key: SigningKey, garbage: str) -> None:
    with pytest.raises(TokenError):
        TokenVerifier([ec_key], ISSUER).verify(garbage, SERVICE)


@pytest.mark.parametrize("text", ["\udcff\udcfe.x.y", "é.é.é", "\x00.\x00.\x00"])
def test_token_with_non_ascii_or_undecodable_characters_is_a_token_error(ec_key: SigningKey, text: str) -> None:
    """aiohttp hands undecodable header bytes over as surrogates; they must be refused, not crash."""
    with pytest.raises(TokenError):
        TokenVerifier([ec_key], ISSUER).verify(text, SERVICE)


@pytest.mark.parametrize("missing", ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"])
def test_token_without_a_required_claim_is_refused(ec_key: SigningKey, missing: str) -> None:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER, "sub": "alice", "aud": SERVICE, "exp": now + TTL, "nbf": now - 5, "iat": now, "jti": "j", "access": [],
    }
    del claims[missing]
    token = jwt.encode(claims, ec_key.private_key, algorithm="ES256", headers={"kid": ec_key.kid})
    with pytest.raises(TokenError):
        TokenVerifier([ec_key], ISSUER).verify(token, SERVICE)


@pytest.mark.parametrize(
    "access",
    ["pull", [["repository", "alice/app", ["pull"]]], [{"type": "repository", "name": "alice/app", "actions": "pull"}]],
)
def test_malformed_access_claim_is_refused(ec_key: SigningKey, access: object) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "alice", "aud": SERVICE, "exp": now + TTL, "nbf": now - 5, "iat": now, "jti": "j", "access": access}
    token = jwt.encode(claims, ec_key.private_key, algorithm="ES256", headers={"kid": ec_key.kid})
    with pytest.raises(TokenError):
        TokenVerifier([ec_key], ISSUER).verify(token, SERVICE)
