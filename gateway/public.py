"""How clients reach this gateway: its external origin and the token service name."""

from __future__ import annotations

from aiohttp import web

from gateway.config import Settings


def public_origin(request: web.Request, settings: Settings) -> str:
    """`scheme://host[:port]` as clients see us: the configured public URL, else the request's."""
    if settings.public_url is not None:
        return str(settings.public_url.origin())
    return f"{request.scheme}://{request.host}"


def public_host(request: web.Request, settings: Settings) -> str:
    if settings.public_url is not None:
        url = settings.public_url
        return url.host_port_subcomponent or url.raw_host or ""
    return request.host


def service_name(request: web.Request, settings: Settings) -> str:
    """The token audience: configured, else the public host:port."""
    return settings.service or public_host(request, settings)


def token_realm(request: web.Request, settings: Settings) -> str:
    return f"{public_origin(request, settings)}/v2/token"
