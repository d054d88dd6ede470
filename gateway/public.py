"""How clients reach this gateway: its external origin and the token service name."""

from __future__ import annotations

import re

from aiohttp import web

from gateway.config import Settings

# What a Host header may hold: a name or an address, and a port. Anything else (quotes, commas,
# spaces) would end up inside the challenge header and the Locations this gateway writes.
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?")


def request_host(request: web.Request) -> str:
    """The Host the client asked for, or this socket's own address when that is not a host."""
    host = request.host
    if _HOST.fullmatch(host):
        return host
    address = request.transport.get_extra_info("sockname") if request.transport is not None else None
    if isinstance(address, tuple) and len(address) >= 2:
        ip, port = address[0], address[1]
        return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    return "localhost"


def public_origin(request: web.Request, settings: Settings) -> str:
    """`scheme://host[:port]` as clients see us: the configured public URL, else the request's."""
    if settings.public_url is not None:
        return str(settings.public_url.origin())
    return f"{request.scheme}://{request_host(request)}"


def public_host(request: web.Request, settings: Settings) -> str:
    if settings.public_url is not None:
        url = settings.public_url
        return url.host_port_subcomponent or url.raw_host or ""
    return request_host(request)


def service_name(request: web.Request, settings: Settings) -> str:
    """The token audience: configured, else the public host:port."""
    return settings.service or public_host(request, settings)


def token_realm(request: web.Request, settings: Settings) -> str:
    return f"{public_origin(request, settings)}/v2/token"
