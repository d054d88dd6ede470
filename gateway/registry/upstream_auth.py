"""What the gateway's own requests to the upstream carry for authentication.

With `upstream.forward_token` the upstream verifies the same tokens as the gateway (defence in
depth), so every request made on behalf of a client, the proxied ones and the ones the gateway
makes itself (tag lists, manifests it caches), must carry that client's Authorization.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys


def forwarded_authorization(request: web.Request) -> dict[str, str]:
    """{"Authorization": the client's value} in forward-token mode, else {}."""
    if not request.app[keys.SETTINGS].upstream_forward_token:
        return {}
    value = request.headers.get("Authorization")
    return {"Authorization": value} if value else {}
