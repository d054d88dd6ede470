"""Accounts. Admins manage everyone; a user reads, re-passwords and deletes themself.

A user who changes their own password from a web session proves the current one first
(`change_own_password`): a session is a browser that may have been left open, not the password.

What follows a change, here and nowhere else: a new password or a disabled account revokes the
user's stored logins (refresh tokens) and ends their web sessions; disabling takes effect at once
in this process (tokens already issued die on their next request), other processes at their next
refresh; enabling again says that those stay revoked. Deleting a user revokes their application
tokens and keeps their name reserved while their namespace holds repositories.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway import names
from gateway.auth.app_tokens import password_problem
from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity
from gateway.auth.revocation import ENABLED_AGAIN_NOTE
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.services.guards import require_admin, require_self_or_admin, search_text, valid_name
from gateway.services.tombstones import refuse_if_reserved
from gateway.store import Conflict as StoreConflict
from gateway.store import Deletion, User


@dataclass(frozen=True)
class UserChange:
    """What to change; None leaves it as it is."""

    password: str | None = None
    admin: bool | None = None
    disabled: bool | None = None


@dataclass(frozen=True)
class UserChanged:
    user: User
    note: str | None = None  # what the caller should know: enabled again, old logins stay revoked
    revoked_logins: int = 0  # stored logins (refresh tokens) the change revoked


# The gateway's login (user, password) -> an identity or None: the same check, and the same
# throttling of failures, as the sign-in page and the token endpoint; it may raise
# gateway.auth.login.Throttled, which the caller answers as those do.
Authenticate = Callable[[str, str], Awaitable[Identity | None]]

WRONG_CURRENT_PASSWORD = "the current password is wrong"
NEW_PASSWORDS_DIFFER = "the two copies of the new password differ; type the same new password twice"


@dataclass(frozen=True)
class OwnPasswordChange:
    """What a user types to change their own password."""

    current: str
    new: str
    again: str


def _valid_password(password: str) -> str:
    if (problem := password_problem(password)) is not None:
        raise Invalid(problem)
    return password


def _local_password(user: User) -> None:
    """Only a local account has a password of ours; a directory's (LDAP) is changed there, and
    one a provider made (OpenID Connect) has none at all: its command line takes app tokens."""
    if user.source == "oidc":
        raise Invalid(
            f"{user.name!r} signs in with the OpenID provider and has no password here to change; "
            "for the command line, create an application token"
        )
    if user.source != "local":
        raise Invalid(f"{user.name!r} signs in through the {user.source} directory: change the password there")


def _no_such(name: str) -> NotFound:
    return NotFound(f"no such user {name!r}")


async def list_users(services: Services, actor: Actor, after: str = "", limit: int = 1000, contains: str = "") -> list[User]:
    """`contains`: only the users whose name contains it (the admins' user search)."""
    require_admin(actor, "list users")
    return await services.store.list_users(after, limit, search_text(contains))


async def get_user(services: Services, actor: Actor, name: str) -> User:
    valid_name(names.USER, name)
    require_self_or_admin(actor, name, "read this user")
    user = await services.store.get_user(name)
    if user is None:
        raise _no_such(name)
    return user


async def create_user(services: Services, actor: Actor, name: str, password: str, *, admin: bool = False) -> User:
    require_admin(actor, "create users")
    valid_name(names.USER, name)
    _valid_password(password)
    store = services.store
    if await store.get_user(name) is not None:  # before the slow hash; checked again below
        raise Conflict(f"user {name!r} already exists")
    password_hash = await services.hasher.hash(password)  # outside the transaction: it takes a while
    async with store.transaction():
        if await store.get_user(name) is not None:
            raise Conflict(f"user {name!r} already exists")
        await refuse_if_reserved(services, name, f"a user named {name!r}")
        if await store.get_namespace(name) is not None:
            # The user would inherit it as their personal namespace, with whatever repositories it holds.
            raise Conflict(
                f"a namespace named {name!r} exists; a user's name is their personal namespace (delete the namespace first)"
            )
        try:
            return await store.create_user(name, password_hash, admin=admin)
        except StoreConflict:
            raise Conflict(f"user {name!r} already exists") from None


async def update_user(services: Services, actor: Actor, name: str, change: UserChange) -> UserChanged:
    valid_name(names.USER, name)
    require_self_or_admin(actor, name, "change this user")
    if change.password is not None:
        _valid_password(change.password)
    if (change.admin is not None or change.disabled is not None) and not actor.admin:
        raise Forbidden("only admins may change the admin or disabled flags")
    if name == actor.name and (change.admin is False or change.disabled is True):
        raise Forbidden("admins may not drop their own admin rights or disable themselves; ask another admin")
    store = services.store
    before = await store.get_user(name)
    if before is None:
        raise _no_such(name)
    if change.password is not None:
        _local_password(before)
    password_hash = None if change.password is None else await services.hasher.hash(change.password)
    async with store.transaction():
        changed, revoked = True, 0
        if password_hash is not None:
            changed &= await store.set_user_password(name, password_hash)
        if change.admin is not None:
            changed &= await store.set_user_admin(name, change.admin)
        if change.disabled is not None:
            changed &= await store.set_user_disabled(name, change.disabled)
        if not changed:
            raise _no_such(name)
        if password_hash is not None or change.disabled:
            # Whoever held a stored login (docker's refresh token) or a web session must prove the new password.
            revoked = await store.revoke_refresh_tokens(name)
            await store.end_sessions(name)
        after = await store.get_user(name)
    if change.disabled is True:
        services.revocations.disable(name)  # after the write, so a refresh from the store cannot undo it
    elif change.disabled is False:
        services.revocations.enable(name)
    if after is None:
        raise _no_such(name)
    note = ENABLED_AGAIN_NOTE if change.disabled is False and before.disabled else None
    return UserChanged(after, note, revoked)


@dataclass(frozen=True)
class UserDeletionPreview:
    """What deleting a user would do: `tokens` application tokens revoked, and `repositories`
    in their personal namespace (any keep its name reserved)."""

    user: User
    tokens: int
    repositories: int


def _require_may_delete(actor: Actor, name: str) -> None:
    valid_name(names.USER, name)
    require_self_or_admin(actor, name, "delete this user")
    if actor.admin and name == actor.name:
        raise Forbidden("admins may not delete themselves; ask another admin")


async def check_delete_user(services: Services, actor: Actor, name: str) -> UserDeletionPreview:
    """What deleting the user would do, if the actor may (else the refusal `delete_user` would
    give), so a page asks for a confirmation only of those who may, saying what follows."""
    _require_may_delete(actor, name)
    store = services.store
    user = await store.get_user(name)
    if user is None:
        raise _no_such(name)
    return UserDeletionPreview(user, await store.count_app_tokens(name), await store.count_repositories_in(name))


async def delete_user(services: Services, actor: Actor, name: str) -> Deletion:
    _require_may_delete(actor, name)
    store = services.store
    async with store.transaction():
        deletion = await store.delete_user(name, deleted_by=actor.name)
        if deletion.deleted:
            await store.end_sessions(name)
    if not deletion.deleted:
        raise _no_such(name)
    revocations = services.revocations
    for token_id in deletion.revoked_tokens:  # JWTs issued from them die at once in this process too
        revocations.revoke_app_token(token_id)
    if deletion.reserved is not None:
        revocations.reserve(deletion.reserved.name, deletion.reserved.deleted_at)
    revocations.delete(name, int(time.time()))
    return deletion


async def change_own_password(
    services: Services, actor: Actor, change: OwnPasswordChange, authenticate: Authenticate
) -> UserChanged:
    """The actor's new password, once they proved the current one; what follows is what follows
    any new password (`update_user`: every stored login and web session of theirs ends, so a
    caller that keeps the actor signed in starts a new session). The new password is checked
    before the current one, so a typing mistake costs no attempt of the login throttle."""
    if actor.via_app_token:
        raise Forbidden("an application token may not change its user's password; sign in with the password")
    user = await services.store.get_user(actor.name)
    if user is not None:
        _local_password(user)
    if change.new != change.again:
        raise Invalid(NEW_PASSWORDS_DIFFER)
    _valid_password(change.new)
    identity = await authenticate(actor.name, change.current)
    if identity is None or identity.limits is not None or identity.name != actor.name:
        raise Forbidden(WRONG_CURRENT_PASSWORD)
    return await update_user(services, actor, actor.name, UserChange(password=change.new))
