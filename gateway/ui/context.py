"""What the UI's handlers pass to gateway.services, from the gateway's application."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.services.context import Services


def services(request: web.Request) -> Services:
    app = request.config_dict
    return Services(
        app[keys.STORE], app[keys.HASHER], app[keys.REVOCATIONS], app[keys.POLICY_RULES],
        app[keys.SETTINGS].webhooks_allow_private_targets,
    )
