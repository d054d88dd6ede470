"""Accounts and memberships a directory (LDAP, OpenID Connect) owns: the rules, once.

A directory's first successful sign-in of a name creates the local account, marked with the
directory as its `source` and no password of ours. A name that is a local account, reserved or
a namespace is refused: a directory never takes over an account or repositories it did not
make. Memberships a directory's groups give are marked as that directory's; a sync adds,
changes and removes only those, never members added by hand. Whatever a sync takes away (a
membership, a role, admin rights) also voids the registry tokens issued to the user before it,
through the store's revoked subjects (every instance's revocation view follows), so access
ends at the sync, not when those tokens expire. A user the directory no longer knows is
disabled (`forget_directory_user`), which ends their application tokens and stored logins too.
The e-mail address a directory gives replaces the stored one; none given keeps it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from gateway import names
from gateway.auth.permissions import OPERATOR
from gateway.auth.policy import ROLES
from gateway.identity.group_sync import GroupPlan
from gateway.services.context import Services
from gateway.services.errors import Conflict, NotFound
from gateway.services.guards import valid_name
from gateway.services.tombstones import refuse_if_reserved
from gateway.services.users import UserChange, update_user
from gateway.store import Conflict as StoreConflict
from gateway.store import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    """What a sync changed: teams joined, roles changed, teams left, the new admin flag (None:
    unchanged), and whether tokens issued before it were voided."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    admin: bool | None = None
    revoked: bool = False


def _owned(user: User, source: str) -> User:
    if user.source != source:
        raise Conflict(f"{user.name!r} is a {user.source} account; the {source} directory may not sign it in")
    return user


async def provision_user(services: Services, username: str, source: str) -> User:
    """The account of a user the `source` directory just vouched for, created at their first
    sign-in; Conflict when the name is another's (a local account, a reserved name, a namespace)."""
    valid_name(names.USER, username)
    store = services.store
    user = await store.get_user(username)
    if user is not None:
        return _owned(user, source)
    async with store.transaction():
        user = await store.get_user(username)
        if user is not None:
            return _owned(user, source)
        await refuse_if_reserved(services, username, f"a {source} user named {username!r}")
        if await store.get_namespace(username) is not None:
            raise Conflict(f"a namespace named {username!r} exists; a user's name is their personal namespace")
        try:
            user = await store.create_user(username, "", source=source)
        except StoreConflict:
            raise Conflict(f"user {username!r} was created at the same time; sign in again") from None
    log.info("created %s user %r at their first sign-in", source, username)
    return user


MAX_EMAIL = 254  # RFC 5321's longest forward path, less its angle brackets


def email_or_none(value: object) -> str | None:
    """An e-mail address a directory or an import gave, if it looks like one (one `@` inside, no
    spaces or control characters, at most MAX_EMAIL characters); None for anything else, so a
    strange value is never stored or shown."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or len(text) > MAX_EMAIL:
        return None
    if any(char.isspace() or not char.isprintable() for char in text):
        return None
    return text


async def record_email(services: Services, user: User, email: str | None) -> User:
    """`user` with the address their directory gives now (None or an unusable one: unchanged)."""
    found = email_or_none(email)
    if found is None or found == user.email:
        return user
    await services.store.set_user_email(user.name, found)
    return replace(user, email=found)


def _lowered(before: str, after: str) -> bool:
    return ROLES.index(after) > ROLES.index(before)  # ROLES runs from the most to the least


async def apply_group_plan(
    services: Services, username: str, source: str, plan: GroupPlan, *, at_login: bool = False
) -> SyncResult:
    """Make the `source`-managed memberships and admin flag of `username` what `plan` says.

    Teams that do not exist are skipped (logged): an admin creates the teams a mapping names.
    `at_login`: the sync runs inside the user's own sign-in, whose token is issued after it in
    the same second; tokens of earlier seconds are voided then (tokens carry whole seconds)."""
    store = services.store
    async with store.transaction():
        user = await store.get_user(username)
        if user is None:
            raise NotFound(f"no such user {username!r}")
        _owned(user, source)
        current = {member.team: member for member in await store.user_memberships(username)}
        added: list[str] = []
        changed: list[str] = []
        lost = False
        for team, role in sorted(plan.roles.items()):
            member = current.get(team)
            if member is not None and (member.managed_by != source or member.role == role):
                continue  # added by hand (or by another directory), or already so
            if member is None and await store.get_team(team) is None:
                log.warning("%s group mapping names team %r, which does not exist: %r not added", source, team, username)
                continue
            if await store.set_managed_member(team, username, role, source):
                (added if member is None else changed).append(team)
                lost |= member is not None and _lowered(member.role, role)
        removed = [
            team for team, member in current.items()
            if member.managed_by == source and team not in plan.roles
            and await store.remove_managed_member(team, username, source)
        ]
        admin = plan.admin if plan.admin is not None and plan.admin != user.admin else None
        if admin is not None:
            await store.set_user_admin(username, admin)
        lost |= bool(removed) or admin is False
        moment = int(time.time()) - (1 if at_login else 0) if lost else None
        if moment is not None:
            await store.revoke_issued(username, moment)
    if moment is not None:
        services.revocations.revoke_issued(username, moment)
    result = SyncResult(tuple(added), tuple(changed), tuple(removed), admin, moment is not None)
    if added or changed or removed or admin is not None:
        log.info(
            "%s sync of %r: joined %s, role changed in %s, left %s, admin %s", source, username,
            list(added), list(changed), removed, "unchanged" if admin is None else admin,
        )
    return result


async def forget_directory_user(services: Services, username: str, source: str) -> bool:
    """The directory no longer knows `username`: disable the account (their tokens, stored
    logins and sessions end; an admin may enable it again). True when it was enabled before."""
    user = await services.store.get_user(username)
    if user is None or user.source != source or user.disabled:
        return False
    await update_user(services, OPERATOR, username, UserChange(disabled=True))
    log.warning("%s user %r is gone from the directory: disabled", source, username)
    return True


async def directory_sign_in(services: Services, username: str, source: str, plan: GroupPlan, email: str | None = None) -> User:
    """A sign-in the `source` directory vouched for: the account (created at the first one),
    its memberships and admin flag synced to `plan` and its e-mail address to `email` unless
    it is disabled; the caller refuses a disabled account as it refuses a local one."""
    user = await provision_user(services, username, source)
    if user.disabled:
        return user
    await apply_group_plan(services, username, source, plan, at_login=True)
    await record_email(services, user, email)
    return await services.store.get_user(username) or user
