"""The management pages' routes and the template filters they use, added to the UI sub-app."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp_jinja2
from aiohttp import web

from gateway.ui.manage import account, audit, health, namespace_settings, teams, tokens, users, webhooks


def when(seconds: int | None, missing: str = "") -> str:
    """A moment of the store (seconds since the epoch) as UTC text, `missing` when there is none."""
    if seconds is None:
        return missing
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def add_manage_pages(ui: web.Application) -> None:
    aiohttp_jinja2.get_env(ui).filters["when"] = when
    ui.router.add_get("/account", account.account_page)
    ui.router.add_post("/account/password", account.change_password)
    ui.router.add_get("/tokens", tokens.tokens_page)
    ui.router.add_post("/tokens", tokens.create)
    ui.router.add_post("/tokens/{name}/revoke", tokens.revoke)
    ui.router.add_get("/teams", teams.teams_page)
    ui.router.add_post("/teams", teams.create)
    ui.router.add_get("/teams/{team}", teams.team_page)
    ui.router.add_get("/teams/{team}/delete", teams.confirm_delete)
    ui.router.add_post("/teams/{team}/delete", teams.delete)
    ui.router.add_post("/teams/{team}/members", teams.add_member)
    ui.router.add_post("/teams/{team}/members/{user}/role", teams.change_role)
    ui.router.add_post("/teams/{team}/members/{user}/remove", teams.remove_member)
    ui.router.add_post("/teams/{team}/namespaces", teams.create_namespace)
    ui.router.add_post("/teams/{team}/namespaces/{namespace}/visibility", teams.change_visibility)
    ui.router.add_post("/teams/{team}/namespaces/{namespace}/team", teams.move_namespace)
    ui.router.add_get("/users", users.users_page)
    ui.router.add_post("/users", users.create)
    ui.router.add_post("/users/password-reset", users.reset_password)
    ui.router.add_get("/users/{name}/delete", users.confirm_delete)
    ui.router.add_post("/users/{name}/delete", users.delete)  # before the flag changes, which it would match
    ui.router.add_post("/users/{name}/{change}", users.change)
    ui.router.add_get("/audit", audit.audit_page)
    ui.router.add_get("/webhooks", webhooks.webhooks_page)
    ui.router.add_post("/webhooks", webhooks.create)
    ui.router.add_get("/webhooks/{name}", webhooks.webhook_page)
    ui.router.add_post("/webhooks/{name}", webhooks.edit)
    ui.router.add_get("/webhooks/{name}/delete", webhooks.confirm_delete)
    ui.router.add_post("/webhooks/{name}/delete", webhooks.delete)
    ui.router.add_post("/webhooks/{name}/redeliver", webhooks.redeliver)
    ui.router.add_post("/webhooks/{name}/deliveries/{delivery}/redeliver", webhooks.redeliver_one)
    ui.router.add_get("/health", health.health_page)
    ui.router.add_post("/health/gc", health.start_gc)
    ui.router.add_post("/health/retention", health.start_retention)
    ui.router.add_get("/namespaces/{namespace}/settings", namespace_settings.settings_page)
    ui.router.add_post("/namespaces/{namespace}/settings", namespace_settings.change)
