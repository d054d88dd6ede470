"""Whom a verified OpenID Connect ID token signs in: the rules, once.

The provider's (issuer, subject) names the account for good: the first sign-in of a subject
creates a user named by the username claim (no password of ours: `docker login` takes an
application token instead) and links the two; later sign-ins follow the link, whatever the
username claim says by then, so a renamed provider account keeps its own account and never
reaches another's. A first sign-in whose name is taken (a local user, another subject's
account, a reserved name or a namespace) is refused: a provider never takes over an account.
The account is made, and the groups of each sign-in are applied (team roles, admin rights),
by gateway.services.directory, the rules every directory shares, with `source` "oidc".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway import names
from gateway.identity.group_sync import GroupMapping, plan_groups
from gateway.services.context import Services
from gateway.services.directory import apply_group_plan, email_or_none, provision_user, record_email
from gateway.services.errors import Conflict, Forbidden, Invalid
from gateway.store import Conflict as StoreConflict
from gateway.store import User

log = logging.getLogger(__name__)

MAX_GROUPS = 1000
SOURCE = "oidc"  # users.source of the accounts a provider sign-in made


@dataclass(frozen=True)
class ProviderAccount:
    """What a verified ID token says of its user: who (issuer, subject), the name they would
    like here (None: the claim is missing or no string), and their groups."""

    issuer: str
    subject: str
    username: str | None
    groups: tuple[str, ...] = ()
    email: str | None = None  # the `email` claim, unless the provider says it is not verified


def account_from_claims(
    issuer: str, subject: str, claims: Mapping[str, Any], username_claim: str, groups_claim: str | None
) -> ProviderAccount:
    """The account of a verified token's claims. The name is lowercased (providers keep the case
    people type; names here are lowercase) and otherwise taken as it is; groups are a list of
    strings (or one string), at most MAX_GROUPS of them; the e-mail address is the `email`
    claim unless `email_verified` is false."""
    raw = claims.get(username_claim)
    # ASCII only: Unicode lowercasing folds some letters into ASCII ones (KELVIN SIGN -> k).
    username = (raw.strip().lower() if raw.isascii() else raw) if isinstance(raw, str) else None
    found = claims.get(groups_claim) if groups_claim else None
    items = [found] if isinstance(found, str) else found if isinstance(found, list) else []
    groups = tuple(group for group in items[:MAX_GROUPS] if isinstance(group, str) and 0 < len(group) <= 1024)
    email = email_or_none(claims.get("email")) if claims.get("email_verified") is not False else None
    return ProviderAccount(issuer, subject, username, groups, email)


def _taken(name: str) -> Conflict:
    return Conflict(
        f"A user named {name!r} already exists on this gateway, and it is not the account you signed in with before, "
        "so this sign-in cannot use it. Ask an admin."
    )


async def _first_sign_in(services: Services, account: ProviderAccount, username_claim: str) -> User:
    name = account.username
    if name is None:
        raise Invalid(f"The sign-in service did not say your user name (claim {username_claim!r}). Ask an admin.")
    if not names.USER.valid(name):
        raise Invalid(
            f"Your user name at the sign-in service, {names.shown(name)}, is not a valid user name here "
            f"({names.USER.rule}). Ask an admin."
        )
    store = services.store
    try:
        async with store.transaction():
            if await store.get_user(name) is not None:  # even another subject's: provision_user would hand it over
                raise _taken(name)
            user = await provision_user(services, name, SOURCE)
            await store.add_oidc_link(account.issuer, account.subject, name)
    except StoreConflict:  # the same subject, signing in twice at the same moment
        linked = await store.oidc_link(account.issuer, account.subject)
        user_now = None if linked is None else await store.get_user(linked)
        if user_now is None:
            raise _taken(name) from None
        return user_now
    log.info("created user %r at the first OpenID Connect sign-in of %r from %s", name, account.subject, account.issuer)
    return user


async def sign_in_with_provider(
    services: Services, account: ProviderAccount, username_claim: str, groups: GroupMapping | None = None
) -> User:
    """The user this provider account signs in as (created at its first sign-in), with the
    team roles and admin rights its groups give under `groups` (None: groups are not read);
    Forbidden when that user is disabled."""
    store = services.store
    linked = await store.oidc_link(account.issuer, account.subject)
    user = await store.get_user(linked) if linked is not None else None
    if user is None:
        user = await _first_sign_in(services, account, username_claim)
    if user.disabled:
        raise Forbidden("Your account on this gateway is disabled. Ask an admin.")
    if groups is not None:
        await apply_group_plan(services, user.name, SOURCE, plan_groups(account.groups, groups), at_login=True)
        user = await store.get_user(user.name) or user
    return await record_email(services, user, account.email)


def signs_in_with_provider(user: User) -> bool:
    """Whether a provider sign-in made the account: it has no password of ours, so the command
    line takes one of its application tokens."""
    return user.source == SOURCE
