"""GET /.well-known/jwks.json: the public keys that verify this gateway's tokens (RFC 7517).

The current signing key and every previous key still accepted after a rotation, each with its
`kid` (the libtrust fingerprint the tokens carry), `alg`, `use=sig` and its certificate (`x5c`).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway import keys
from gateway.auth.keyfiles import VerificationKey


def jwk_of(key: VerificationKey) -> dict[str, Any]:
    public_key = key.public_key
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        fields = ECAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        fields = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {**fields, "kid": key.kid, "alg": key.algorithm, "use": "sig", "x5c": list(key.x5c)}


def jwks_document(verification_keys: tuple[VerificationKey, ...]) -> dict[str, Any]:
    return {"keys": [jwk_of(key) for key in verification_keys]}


async def jwks(request: web.Request) -> web.Response:
    body = json.dumps(jwks_document(request.app[keys.VERIFIER].keys))
    return web.Response(
        text=body, content_type="application/json", headers={"Cache-Control": "public, max-age=300"}
    )
