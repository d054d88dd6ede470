"""Records as the API shows them: names, flags and RFC 3339 times; never a hash or a secret."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gateway.auth.tokens import rfc3339
from gateway.store import AppToken, Member, Namespace, Team, User


def json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers={"Cache-Control": "no-store"}
    )


def no_content() -> web.Response:
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


def time_text(moment: int | None) -> str | None:
    return None if moment is None else rfc3339(moment)


def user_json(user: User) -> dict[str, Any]:
    """A user as the user themselves or an admin reads it (the services let no one else)."""
    return {
        "name": user.name, "admin": user.admin, "disabled": user.disabled, "source": user.source, "email": user.email,
        "created_at": time_text(user.created_at), "updated_at": time_text(user.updated_at),
    }


def team_json(team: Team) -> dict[str, Any]:
    return {"name": team.name, "created_at": time_text(team.created_at)}


def member_json(member: Member) -> dict[str, Any]:
    return {"user": member.username, "role": member.role, "managed_by": member.managed_by}


def namespace_json(namespace: Namespace) -> dict[str, Any]:
    return {
        "name": namespace.name, "team": namespace.team, "visibility": namespace.visibility,
        "created_at": time_text(namespace.created_at), "immutable_tags": list(namespace.immutable_tags),
    }


def app_token_json(token: AppToken) -> dict[str, Any]:
    return {
        "name": token.name, "id": token.id, "namespaces": list(token.namespaces), "actions": list(token.actions),
        "expires_at": time_text(token.expires_at), "created_at": time_text(token.created_at),
        "last_used_at": time_text(token.last_used_at), "imported_from": token.origin,
    }
