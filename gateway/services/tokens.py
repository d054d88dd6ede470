"""Application tokens for CI and robots: made by their user or an admin, never through another
application token; the secret is returned once. Revoking also tells this process's revocation
view, so JWTs already issued from the token fail on their very next request."""

from __future__ import annotations

from gateway import names
from gateway.auth.app_tokens import AppTokenError, NewAppToken, new_app_token, parse_duration
from gateway.auth.permissions import Actor
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.services.guards import require_self_or_admin, valid_name
from gateway.store import AppToken
from gateway.store import Conflict as StoreConflict

ACTIONS = ("pull", "push", "delete")
DEFAULT_ACTIONS = ("pull",)


async def _require_user(services: Services, username: str) -> None:
    if await services.store.get_user(username) is None:
        raise NotFound(f"no such user {username!r}")


async def list_tokens(
    services: Services, actor: Actor, username: str, after: str = "", limit: int | None = None,
) -> list[AppToken]:
    """The user's tokens named after `after`, by name: up to `limit` (None: all of them)."""
    valid_name(names.USER, username)
    require_self_or_admin(actor, username, "list this user's application tokens")
    await _require_user(services, username)
    return await services.store.list_app_tokens(username, after, limit)


async def create_token(
    services: Services, actor: Actor, username: str, name: str, *,
    namespaces: list[str] | None = None, actions: list[str] | None = None, expires: str | None = None,
) -> NewAppToken:
    """`expires`: a lifetime such as 90m, 12h, 30d or 2w (at most ten years); None never expires."""
    valid_name(names.USER, username)
    require_self_or_admin(actor, username, "create application tokens for this user")
    if actor.via_app_token:
        raise Forbidden("an application token cannot make another; sign in with the password")
    valid_name(names.TOKEN, name)
    try:
        expires_in = parse_duration(expires) if expires is not None else None
        chosen = list(DEFAULT_ACTIONS if actions is None else actions)
        created = new_app_token(username, name, namespaces or [], chosen, expires_in)
    except AppTokenError as exc:
        raise Invalid(str(exc)) from None
    await _require_user(services, username)
    try:
        await services.store.create_app_token(created.record)
    except StoreConflict:
        raise Conflict(f"{username!r} already has an application token named {name!r}") from None
    return created


async def revoke_token(services: Services, actor: Actor, username: str, name: str) -> None:
    valid_name(names.USER, username)
    require_self_or_admin(actor, username, "revoke this user's application tokens")
    if actor.via_app_token:
        raise Forbidden("an application token cannot revoke tokens; sign in with the password")
    valid_name(names.TOKEN, name)
    token_id = await services.store.revoke_app_token(username, name)
    if token_id is None:
        raise NotFound(f"{username!r} has no application token named {name!r}")
    services.revocations.revoke_app_token(token_id)
