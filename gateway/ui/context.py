"""What the UI's handlers pass to gateway.services, from the gateway's application."""

from __future__ import annotations

from aiohttp import web

from gateway.app_services import services_of
from gateway.services.context import Services


def services(request: web.Request) -> Services:
    return services_of(request.config_dict)
