"""OpenID Connect, the relying party's half: discovery, the authorization request (code flow,
PKCE S256, `state`, `nonce`), the code exchange, and the ID token verified against the
provider's JWKS (its issuer, audience, expiry, nonce, and a fixed list of algorithms).

Nothing here knows the browser: gateway/ui/oidc.py binds a flow to it, and
gateway/services/oidc_users.py decides whom a verified token signs in. The discovery document
and the keys are fetched when first needed (a provider down at start-up stops no one else from
signing in) and kept for a while; a key id not seen before fetches the keys again, at most once
a minute, so a provider's key rotation works and a stream of forged key ids costs nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import jwt
from yarl import URL

from gateway import safe_json
from gateway.config import Settings

log = logging.getLogger(__name__)

LEEWAY = 60  # seconds of clock skew allowed on exp, iat and nbf
_MAX_DOCUMENT = 1 << 20  # a discovery document, a key set or a token response larger than this is refused
_DISCOVERY_TTL = 3600.0
_KEYS_REFETCH_AFTER = 60.0
_TIMEOUT = aiohttp.ClientTimeout(total=10)
PROBE_TTL = 15.0  # seconds a readiness probe's answer about the provider is kept
_MAX_PARAMETER = 8192  # an access token longer than this is not sent on
# Asymmetric algorithms only: never "none", never HMAC (the client secret is no signing key here).
ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
PROVIDER_DOWN = "The sign-in service does not answer right now. Try again in a moment, or sign in with a password."
REFUSED = (
    "The sign-in service's answer could not be trusted, so nobody was signed in. Try again; if it keeps failing, tell an admin."
)


class SignInFailed(Exception):
    """No one can be signed in from this answer; `message` is fit to show, the log has the details."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(detail)
        self.message = message
        self.detail = detail


class ProviderUnavailable(SignInFailed):
    """The provider did not answer, or not with a usable document: trying later may work."""


@dataclass(frozen=True)
class Discovery:
    """What the gateway uses of the provider's /.well-known/openid-configuration."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: frozenset[str]
    post_secret: bool  # the provider takes the client secret in the form, not HTTP Basic
    userinfo_endpoint: str | None = None


@dataclass(frozen=True)
class FlowSecrets:
    """The per-sign-in values derived from the browser's flow cookie: the store keeps neither."""

    nonce: str
    verifier: str

    @property
    def challenge(self) -> str:
        """PKCE S256: base64url(SHA-256(verifier)) without padding."""
        return _b64(hashlib.sha256(self.verifier.encode("ascii")).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def flow_secrets(browser_secret: str) -> FlowSecrets:
    def derive(label: bytes) -> str:
        return _b64(hmac.new(browser_secret.encode("utf-8"), b"portus-gateway oidc " + label, hashlib.sha256).digest())

    return FlowSecrets(nonce=derive(b"nonce"), verifier=derive(b"pkce verifier"))


@dataclass(frozen=True)
class VerifiedIdToken:
    """The claims of an ID token that passed every check (and, for the claims the gateway
    reads that the token lacks, those of the provider's userinfo answer for the same subject)."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]


def _endpoint(document: Mapping[str, Any], name: str, secure: bool) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise ProviderUnavailable(PROVIDER_DOWN, f"the discovery document has no {name}")
    try:
        url = URL(value)
    except ValueError:
        raise ProviderUnavailable(PROVIDER_DOWN, f"the discovery document's {name} is no URL") from None
    if url.scheme not in (("https",) if secure else ("https", "http")) or not url.host:
        wanted = "https" if secure else "http(s)"
        raise ProviderUnavailable(PROVIDER_DOWN, f"the discovery document's {name} {value!r} is not an {wanted} URL")
    return value


def parse_discovery(document: Any, issuer: str) -> Discovery:
    """The discovery document, checked: it names our issuer exactly (OpenID Connect Discovery
    4.3), and its endpoints use HTTPS unless the issuer itself is a plain-HTTP loopback one."""
    if not isinstance(document, Mapping):
        raise ProviderUnavailable(PROVIDER_DOWN, "the discovery document is not a JSON object")
    if document.get("issuer") != issuer:
        named = document.get("issuer")
        raise ProviderUnavailable(PROVIDER_DOWN, f"the discovery document names issuer {named!r}, not {issuer!r}")
    secure = issuer.startswith("https://")
    offered = document.get("id_token_signing_alg_values_supported")
    algorithms = ALGORITHMS & set(offered) if isinstance(offered, list) else frozenset({"RS256"})
    methods = document.get("token_endpoint_auth_methods_supported")
    post_secret = isinstance(methods, list) and "client_secret_post" in methods and "client_secret_basic" not in methods
    return Discovery(
        issuer=issuer, authorization_endpoint=_endpoint(document, "authorization_endpoint", secure),
        token_endpoint=_endpoint(document, "token_endpoint", secure), jwks_uri=_endpoint(document, "jwks_uri", secure),
        algorithms=frozenset(algorithms or {"RS256"}), post_secret=post_secret,
        userinfo_endpoint=_endpoint(document, "userinfo_endpoint", secure) if "userinfo_endpoint" in document else None,
    )


def parse_keys(document: Any) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWKS by key id ("" for a key without one); others are left out."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ProviderUnavailable(PROVIDER_DOWN, "the provider's key set is not a JWKS")
    found: dict[str, jwt.PyJWK] = {}
    for item in document["keys"][:100]:
        if not isinstance(item, Mapping) or item.get("use", "sig") != "sig" or item.get("kty") == "oct":
            continue
        try:
            key = jwt.PyJWK(dict(item))
        except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError) as exc:
            log.info("oidc: skipped a key of the provider's key set: %s", exc)
            continue
        if key.algorithm_name in ALGORITHMS:
            kid = item.get("kid", "")
            found[kid if isinstance(kid, str) else ""] = key
    return found


def verify_id_token(
    token: str, keys: Mapping[str, jwt.PyJWK], discovery: Discovery, client_id: str, nonce: str
) -> VerifiedIdToken:
    """The ID token's claims once its signature (by a key of the provider's set, with an algorithm
    the key is for), issuer, audience, expiry and nonce all hold; else SignInFailed."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise SignInFailed(REFUSED, f"the ID token is malformed: {exc}") from None
    kid, algorithm = header.get("kid", ""), header.get("alg")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None and not kid and len(keys) == 1:
        key = next(iter(keys.values()))
    if key is None:
        raise SignInFailed(REFUSED, f"the ID token is signed with key {kid!r}, not one of the provider's keys")
    if algorithm not in discovery.algorithms or algorithm != key.algorithm_name:
        raise SignInFailed(REFUSED, f"the ID token's algorithm {algorithm!r} is not allowed for key {kid!r}")
    try:
        claims = jwt.decode(
            token, key.key, algorithms=[algorithm], audience=client_id, issuer=discovery.issuer, leeway=LEEWAY,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.InvalidTokenError as exc:
        raise SignInFailed(REFUSED, f"the ID token does not verify: {exc}") from None
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise SignInFailed(REFUSED, "the ID token has several audiences and another authorized party")
    given = claims.get("nonce")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode("utf-8"), nonce.encode("utf-8")):
        raise SignInFailed(REFUSED, "the ID token's nonce is not this sign-in's")
    subject = claims["sub"]
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise SignInFailed(REFUSED, "the ID token's subject is not a string of 1-255 characters")
    return VerifiedIdToken(discovery.issuer, subject, claims)


class OidcClient:
    """The gateway as one provider's client. Holds only what the provider published (discovery,
    keys); the sign-ins under way are in the store."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        if settings.oidc_issuer is None or settings.oidc_client_id is None or settings.oidc_client_secret is None:
            raise ValueError("OpenID Connect is not configured")
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self._secret = settings.oidc_client_secret
        self._scopes = " ".join(settings.oidc_scopes)
        self._wanted = tuple(claim for claim in (settings.oidc_username_claim, settings.oidc_groups_claim) if claim)
        self._session = session
        self._discovery: Discovery | None = None
        self._discovered_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at = -_KEYS_REFETCH_AFTER
        self._probe: asyncio.Task[str | None] | None = None
        self._probed: tuple[float, str | None] | None = None  # (when, why the provider is down or None)

    async def _fetch_json(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            async with self._session.request(method, url, timeout=_TIMEOUT, allow_redirects=False, **kwargs) as response:
                body = await response.content.read(_MAX_DOCUMENT + 1)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnavailable(PROVIDER_DOWN, f"{method} {url} failed: {exc!r}") from None
        if len(body) > _MAX_DOCUMENT:
            raise ProviderUnavailable(PROVIDER_DOWN, f"{method} {url}: the answer is larger than {_MAX_DOCUMENT} bytes")
        try:
            return status, safe_json.loads(body)
        except ValueError:
            raise ProviderUnavailable(PROVIDER_DOWN, f"{method} {url}: answered {status} without JSON") from None

    async def discovery(self) -> Discovery:
        if self._discovery is None or time.monotonic() - self._discovered_at > _DISCOVERY_TTL:
            self._discovery = await self._fetch_discovery()
            self._discovered_at = time.monotonic()
        return self._discovery

    async def _fetch_discovery(self) -> Discovery:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        status, document = await self._fetch_json("GET", url)
        if status != 200:
            raise ProviderUnavailable(PROVIDER_DOWN, f"GET {url} answered {status}")
        return parse_discovery(document, self.issuer)

    async def _probe_once(self) -> str | None:
        """Why the provider's discovery document is unusable now (None: it is usable, and kept)."""
        try:
            discovery = await self._fetch_discovery()
        except ProviderUnavailable as exc:
            reason: str | None = exc.detail
        else:
            self._discovery, self._discovered_at, reason = discovery, time.monotonic(), None
        before = self._probed
        if reason is not None and (before is None or before[1] != reason):
            log.warning("oidc: the provider's discovery document is unusable: %s", reason)
        elif reason is None and before is not None and before[1] is not None:
            log.info("oidc: the provider's discovery document answers again")
        self._probed = (time.monotonic(), reason)
        return reason

    async def check(self) -> None:
        """Raise ProviderUnavailable unless the discovery document answers (readiness). An answer
        is kept PROBE_TTL seconds, and while a newer one is being fetched the last one is given,
        so frequent probes cost the provider one request per interval and a provider that hangs
        slows only the probes before its first answer."""
        probed = self._probed
        if probed is None or time.monotonic() - probed[0] > PROBE_TTL:
            if self._probe is None or self._probe.done():
                self._probe = asyncio.create_task(self._probe_once())
            if probed is None:
                reason = await asyncio.shield(self._probe)
                probed = (time.monotonic(), reason)
        if probed[1] is not None:
            raise ProviderUnavailable(PROVIDER_DOWN, probed[1])

    async def close(self) -> None:
        """Stop a readiness probe still under way (the application is closing)."""
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)

    async def _signing_keys(self, discovery: Discovery, kid: str) -> dict[str, jwt.PyJWK]:
        """The provider's keys, fetched again when `kid` is not among them (at most once a minute)."""
        if kid not in self._keys and time.monotonic() - self._keys_at >= _KEYS_REFETCH_AFTER:
            status, document = await self._fetch_json("GET", discovery.jwks_uri)
            if status != 200:
                raise ProviderUnavailable(PROVIDER_DOWN, f"GET {discovery.jwks_uri} answered {status}")
            self._keys, self._keys_at = parse_keys(document), time.monotonic()
        return self._keys

    async def authorization_url(self, redirect_uri: str, state: str, secrets: FlowSecrets) -> str:
        discovery = await self.discovery()
        query = {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri, "scope": self._scopes,
            "state": state, "nonce": secrets.nonce, "code_challenge": secrets.challenge, "code_challenge_method": "S256",
        }
        return str(URL(discovery.authorization_endpoint).update_query(query))

    async def redeem(self, code: str, redirect_uri: str, secrets: FlowSecrets) -> VerifiedIdToken:
        """The code of the provider's redirect exchanged for tokens; the ID token verified."""
        discovery = await self.discovery()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": secrets.verifier}
        headers = {"Accept": "application/json"}
        if discovery.post_secret:
            form.update(client_id=self.client_id, client_secret=self._secret)
        else:  # RFC 6749 2.3.1: both form-encoded before they are joined
            pair = f"{quote(self.client_id, safe='')}:{quote(self._secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
        status, answer = await self._fetch_json("POST", discovery.token_endpoint, data=form, headers=headers)
        if status >= 500:
            raise ProviderUnavailable(PROVIDER_DOWN, f"the token endpoint answered {status}")
        if status != 200 or not isinstance(answer, Mapping) or not isinstance(answer.get("id_token"), str):
            error = answer.get("error") if isinstance(answer, Mapping) else None
            raise SignInFailed(REFUSED, f"the token endpoint answered {status} without an ID token (error {error!r})")
        token = answer["id_token"]
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.InvalidTokenError as exc:
            raise SignInFailed(REFUSED, f"the ID token is malformed: {exc}") from None
        keys = await self._signing_keys(discovery, kid if isinstance(kid, str) else "")
        verified = verify_id_token(token, keys, discovery, self.client_id, secrets.nonce)
        access_token = answer.get("access_token")
        if any(claim not in verified.claims for claim in self._wanted) and isinstance(access_token, str):
            verified = await self._with_userinfo(discovery, verified, access_token)
        return verified

    async def _with_userinfo(self, discovery: Discovery, verified: VerifiedIdToken, access_token: str) -> VerifiedIdToken:
        """The claims the ID token lacks, from the userinfo endpoint (providers that keep the
        ID token small put the profile and the groups there), for the same subject only."""
        if discovery.userinfo_endpoint is None or len(access_token) > _MAX_PARAMETER:
            return verified
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        status, answer = await self._fetch_json("GET", discovery.userinfo_endpoint, headers=headers)
        if status >= 500:
            raise ProviderUnavailable(PROVIDER_DOWN, f"the userinfo endpoint answered {status}")
        if status != 200 or not isinstance(answer, Mapping):
            raise SignInFailed(REFUSED, f"the userinfo endpoint answered {status} without a JSON object")
        if answer.get("sub") != verified.subject:
            raise SignInFailed(REFUSED, "the userinfo answer is about another subject")
        return VerifiedIdToken(verified.issuer, verified.subject, {**answer, **verified.claims})
