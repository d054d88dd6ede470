"""Whom an OpenID Connect sign-in signs in (gateway.services.oidc_users): the first sign-in
creates a password-less user linked to (issuer, subject); a renamed provider account keeps its
own user; a taken, reserved or invalid name is refused, never taken over; each sign-in applies
the groups claim (team roles, admin rights). The link queries run on SQLite and MariaDB, the
rules on top of them on SQLite alone (a MariaDB database costs seconds to set up)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.auth.login import Authenticator, CredentialCache
from gateway.auth.permissions import OPERATOR
from gateway.auth.throttle import LoginThrottle
from gateway.identity.group_sync import GroupMapping, TeamGroup
from gateway.services import errors, teams, users
from gateway.services.context import Services
from gateway.services.oidc_users import ProviderAccount, account_from_claims, sign_in_with_provider, signs_in_with_provider
from gateway.store import ManifestRow
from tests.integration.services.conftest import ADMIN

ISSUER = "https://sso.example.org"
CLAIM = "preferred_username"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _account(subject: str, username: str | None, issuer: str = ISSUER) -> ProviderAccount:
    return ProviderAccount(issuer, subject, username)


async def test_the_first_sign_in_creates_a_user_without_a_password(services: Services) -> None:
    user = await sign_in_with_provider(services, _account("s-1", "carol"), CLAIM)
    assert (user.name, user.admin, user.password_hash, user.source) == ("carol", False, "", "oidc")
    assert signs_in_with_provider(user)
    authenticator = Authenticator(services.store, services.hasher, CredentialCache(), LoginThrottle(5, 300))
    assert await authenticator.login("carol", "", "127.0.0.1") is None  # no password opens it, not even none
    assert await authenticator.login("carol", "anything-at-all", "127.0.0.1") is None
    again = await sign_in_with_provider(services, _account("s-1", "carol"), CLAIM)
    assert again.created_at == user.created_at


async def test_a_renamed_provider_account_keeps_its_user_and_reaches_no_other(services: Services) -> None:
    await sign_in_with_provider(services, _account("s-1", "carol"), CLAIM)
    await sign_in_with_provider(services, _account("s-2", "dave"), CLAIM)
    renamed = await sign_in_with_provider(services, _account("s-1", "dave"), CLAIM)  # carol is now called dave there
    assert renamed.name == "carol"
    with pytest.raises(errors.Conflict, match="'carol' already exists"):  # a new subject under the old name
        await sign_in_with_provider(services, _account("s-3", "carol"), CLAIM)
    with pytest.raises(errors.Conflict, match="already exists"):  # the same subject from another issuer
        await sign_in_with_provider(services, _account("s-1", "carol", "https://other.example.org"), CLAIM)
    assert [u.name for u in await services.store.list_users()] == ["carol", "dave"]


@sqlite_only
async def test_a_local_user_reserved_name_or_namespace_is_never_taken(services: Services) -> None:
    store = services.store
    await users.create_user(services, ADMIN, "alice", "alice-password-1")
    with pytest.raises(errors.Conflict, match="'alice' already exists"):
        await sign_in_with_provider(services, _account("s-alice", "alice"), CLAIM)
    alice = await store.get_user("alice")
    assert alice is not None and not signs_in_with_provider(alice) and alice.password_hash != ""
    await store.create_team("web")
    await store.create_namespace("webapps", "web", "private")
    with pytest.raises(errors.Conflict, match="namespace named 'webapps' exists"):
        await sign_in_with_provider(services, _account("s-web", "webapps"), CLAIM)
    await store.index_push(ManifestRow("gone/app", "sha256:" + "c" * 64, "application/vnd.oci.image.manifest.v1+json", 10, None, None, {}, 1000), "v1")
    await store.reserve_if_occupied("gone", "user", "gone", "root")
    with pytest.raises(errors.Conflict, match="the name 'gone' is reserved"):
        await sign_in_with_provider(services, _account("s-gone", "gone"), CLAIM)
    assert [u.name for u in await store.list_users()] == ["alice"]


@sqlite_only
async def test_a_missing_or_invalid_name_is_refused(services: Services) -> None:
    for name in (None, "", "a b", "alice@example.org", "x" * 65, "../admin", "bob\n", "\u212aarl"):
        with pytest.raises(errors.Invalid):
            await sign_in_with_provider(services, _account("s-odd", name), CLAIM)
    assert await services.store.list_users() == []


@sqlite_only
async def test_a_disabled_user_is_refused_and_a_deleted_one_starts_again(services: Services) -> None:
    await sign_in_with_provider(services, _account("s-1", "carol"), CLAIM)
    await users.update_user(services, ADMIN, "carol", users.UserChange(disabled=True))
    with pytest.raises(errors.Forbidden, match="disabled"):
        await sign_in_with_provider(services, _account("s-1", "carol"), CLAIM)
    await users.delete_user(services, ADMIN, "carol")
    fresh = await sign_in_with_provider(services, _account("s-1", "carol"), CLAIM)
    assert not fresh.disabled


async def test_two_subjects_racing_for_one_name_get_one_user(services: Services) -> None:
    results = await asyncio.gather(
        *(sign_in_with_provider(services, _account(f"s-{n}", "erin"), CLAIM) for n in range(4)), return_exceptions=True
    )
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, errors.Conflict) for r in results if isinstance(r, BaseException))
    assert [u.name for u in await services.store.list_users()] == ["erin"]


@sqlite_only
async def test_each_sign_in_applies_the_groups_claim(services: Services) -> None:
    for team in ("web", "ops"):
        await teams.create_team(services, OPERATOR, team)
    mapping = GroupMapping((TeamGroup("web", "web-devs"), TeamGroup("ops", "ops", "contributor")), admin_group="admins")
    account = ProviderAccount(ISSUER, "s-1", "carol", ("web-devs", "ops", "admins"))
    user = await sign_in_with_provider(services, account, CLAIM, mapping)
    assert user.admin
    members = {m.team: (m.role, m.managed_by) for m in await services.store.user_memberships("carol")}
    assert members == {"web": ("viewer", "oidc"), "ops": ("contributor", "oidc")}
    fewer = ProviderAccount(ISSUER, "s-1", "carol", ("web-devs",))
    user = await sign_in_with_provider(services, fewer, CLAIM, mapping)
    assert not user.admin
    assert [(m.team, m.role) for m in await services.store.user_memberships("carol")] == [("web", "viewer")]
    ignored = await sign_in_with_provider(services, ProviderAccount(ISSUER, "s-1", "carol", ()), CLAIM, None)
    assert [m.team for m in await services.store.user_memberships(ignored.name)] == ["web"]  # no groups read: none changed


@sqlite_only  # set_user_email runs on MariaDB in test_directory.py
async def test_a_sign_in_records_the_email_claim_and_one_without_keeps_it(services: Services) -> None:
    user = await sign_in_with_provider(services, ProviderAccount(ISSUER, "s-e", "erin", (), "erin@example.org"), CLAIM)
    assert user.email == "erin@example.org"
    await sign_in_with_provider(services, ProviderAccount(ISSUER, "s-e", "erin", ()), CLAIM)
    stored = await services.store.get_user("erin")
    assert stored is not None and stored.email == "erin@example.org"


def test_claims_give_a_lowercased_name_and_string_groups() -> None:
    claims = {"preferred_username": " Ann ", "groups": ["web", 7, {"x": 1}, "", "ops" * 400, "staff"], "email": "a@b"}
    account = account_from_claims(ISSUER, "s", claims, "preferred_username", "groups")
    assert account == ProviderAccount(ISSUER, "s", "ann", ("web", "staff"), "a@b")
    unverified = {**claims, "email_verified": False}
    assert account_from_claims(ISSUER, "s", unverified, "preferred_username", None).email is None
    assert account_from_claims(ISSUER, "s", {**claims, "email": ["a@b"]}, "preferred_username", None).email is None
    assert account_from_claims(ISSUER, "s", {"roles": "admins"}, "preferred_username", "roles").groups == ("admins",)
    assert account_from_claims(ISSUER, "s", {"preferred_username": 5}, "preferred_username", None).username is None
    assert account_from_claims(ISSUER, "s", {"preferred_username": "\u212aarl"}, "preferred_username", None).username == "\u212aarl"
