"""The management API as an aiohttp sub-application mounted at /api/v1.

A sub-app so its error middleware covers the API only (the /v2 routes speak OCI errors);
handlers reach the parent's shared objects through `request.config_dict`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.api import events, gc, members, namespaces, repositories, retention, teams, tokens, tombstones, users, webhooks
from gateway.api.middleware import api_errors
from gateway.api.openapi import API_PREFIX, openapi_handler

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# (method, path, handler): the whole API surface, and what the OpenAPI document must describe.
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/openapi.json", openapi_handler),
    ("GET", "/users", users.list_users),
    ("POST", "/users", users.create_user),
    ("GET", "/users/{user}", users.get_user),
    ("PATCH", "/users/{user}", users.update_user),
    ("DELETE", "/users/{user}", users.delete_user),
    ("GET", "/users/{user}/tokens", tokens.list_tokens),
    ("POST", "/users/{user}/tokens", tokens.create_token),
    ("DELETE", "/users/{user}/tokens/{token}", tokens.revoke_token),
    ("GET", "/teams", teams.list_teams),
    ("POST", "/teams", teams.create_team),
    ("GET", "/teams/{team}", teams.get_team),
    ("DELETE", "/teams/{team}", teams.delete_team),
    ("GET", "/teams/{team}/members", members.list_members),
    ("PUT", "/teams/{team}/members/{user}", members.put_member),
    ("DELETE", "/teams/{team}/members/{user}", members.delete_member),
    ("GET", "/namespaces", namespaces.list_namespaces),
    ("POST", "/namespaces", namespaces.create_namespace),
    ("GET", "/namespaces/{namespace}", namespaces.get_namespace),
    ("PATCH", "/namespaces/{namespace}", namespaces.update_namespace),
    ("DELETE", "/namespaces/{namespace}", namespaces.delete_namespace),
    ("GET", "/tombstones", tombstones.list_tombstones),
    ("GET", "/tombstones/{namespace}", tombstones.get_tombstone),
    ("POST", "/tombstones/{namespace}/release", tombstones.release_tombstone),
    ("POST", "/tombstones/{namespace}/purge", tombstones.purge_tombstone),
    ("GET", "/repositories", repositories.list_repositories),
    ("GET", "/repositories/{name:.+}/tags", repositories.list_tags),
    ("DELETE", "/repositories/{name:.+}/tags/{tag}", repositories.delete_one_tag),
    ("GET", "/events", events.list_events),
    ("GET", "/webhooks", webhooks.list_webhooks),
    ("POST", "/webhooks", webhooks.create_webhook),
    ("GET", "/webhooks/{webhook}", webhooks.get_webhook),
    ("PATCH", "/webhooks/{webhook}", webhooks.update_webhook),
    ("DELETE", "/webhooks/{webhook}", webhooks.delete_webhook),
    ("GET", "/webhooks/{webhook}/failures", webhooks.list_failures),
    ("POST", "/webhooks/{webhook}/redeliver", webhooks.redeliver),
    ("GET", "/webhooks/{webhook}/deliveries", webhooks.list_deliveries),
    ("POST", "/webhooks/{webhook}/deliveries/{delivery}/redeliver", webhooks.redeliver_one),
    ("GET", "/gc", gc.get_gc),
    ("POST", "/gc", gc.start_gc),
    ("GET", "/namespaces/{namespace}/retention", retention.get_policies),
    ("PUT", "/namespaces/{namespace}/retention", retention.put_policy),
    ("DELETE", "/namespaces/{namespace}/retention", retention.delete_policy),
    ("GET", "/namespaces/{namespace}/retention/plan", retention.get_plan),
    ("GET", "/retention", retention.get_run),
    ("POST", "/retention", retention.start_run),
)


def create_api_app() -> web.Application:
    api = web.Application(middlewares=[api_errors])
    for method, path, handler in ROUTES:
        api.router.add_route(method, path, handler)
    return api


def setup_api(app: web.Application) -> None:
    """Mount the API under /api/v1 of the gateway's application."""
    app.add_subapp(API_PREFIX, create_api_app())
