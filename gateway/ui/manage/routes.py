"""The management pages' routes and the template filters they use, added to the UI sub-app."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp_jinja2
from aiohttp import web

from gateway.ui.manage import tokens


def when(seconds: int | None, missing: str = "") -> str:
    """A moment of the store (seconds since the epoch) as UTC text, `missing` when there is none."""
    if seconds is None:
        return missing
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def add_manage_pages(ui: web.Application) -> None:
    aiohttp_jinja2.get_env(ui).filters["when"] = when
    ui.router.add_get("/tokens", tokens.tokens_page)
    ui.router.add_post("/tokens", tokens.create)
    ui.router.add_post("/tokens/{name}/revoke", tokens.revoke)
