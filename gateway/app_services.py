"""The business rules (gateway/services) over what the running gateway's application holds: one
way to reach them for the API, the web UI, the registry's handlers and the scheduled jobs."""

from __future__ import annotations

from aiohttp import web
from aiohttp.helpers import ChainMapProxy

from gateway import keys
from gateway.services.context import Services


def services_of(app: web.Application | ChainMapProxy) -> Services:
    """From the application itself, or from a request's `config_dict` (a sub-application's
    handlers see the root's keys through it)."""
    return Services(
        app[keys.STORE], app[keys.HASHER], app[keys.REVOCATIONS], app[keys.POLICY_RULES],
        app[keys.SETTINGS].webhooks_allow_private_targets,
    )
