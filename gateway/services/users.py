"""Users (stand-in until the lead's gateway/services/users.py lands on main: same signature,
the API's rules for a new user)."""

from __future__ import annotations

from gateway import names
from gateway.auth.app_tokens import password_problem
from gateway.auth.permissions import Actor
from gateway.services.context import Services
from gateway.services.errors import Conflict, Invalid
from gateway.services.guards import require_admin
from gateway.store import Conflict as StoreConflict
from gateway.store import User


async def create_user(services: Services, actor: Actor, name: str, password: str, *, admin: bool = False) -> User:
    require_admin(actor, "create users")
    if (problem := names.USER.problem(name)) is not None:
        raise Invalid(problem)
    if (problem := password_problem(password)) is not None:
        raise Invalid(problem)
    store = services.store
    async with store.transaction():
        if await store.get_user(name) is not None:
            raise Conflict(f"user {name!r} already exists")
        if await store.get_tombstone(name) is not None:
            raise Conflict(f"the name {name!r} is reserved")
        if await store.get_namespace(name) is not None:
            raise Conflict(f"a namespace named {name!r} exists; a user's name is their personal namespace")
        try:
            return await store.create_user(name, await services.hasher.hash(password), admin=admin)
        except StoreConflict:
            raise Conflict(f"user {name!r} already exists") from None
