"""gateway.services.directory in-process, on SQLite and MariaDB: directory accounts made at the
first sign-in, group plans applied to directory-managed memberships only, and access a sync
takes away voiding the tokens issued before it."""

from __future__ import annotations

import time

import pytest

from gateway.auth.permissions import OPERATOR
from gateway.identity.group_sync import GroupPlan
from gateway.services import directory, teams
from gateway.services.context import Services
from gateway.services.errors import Conflict, NotFound
from gateway.store import Member

# The SQL that differs between the stores runs on both (creating, listing, the membership
# queries, revoked subjects); the rules on top of it on SQLite alone, a MariaDB database each
# costing seconds to set up.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _teams(services: Services, *names: str) -> None:
    for name in names:
        await teams.create_team(services, OPERATOR, name)


async def _members(services: Services, user: str) -> dict[str, tuple[str, str | None]]:
    return {m.team: (m.role, m.managed_by) for m in await services.store.user_memberships(user)}


async def test_the_first_sign_in_creates_a_directory_account_without_a_password(services: Services) -> None:
    user = await directory.directory_sign_in(services, "dora", "ldap", GroupPlan())
    assert (user.name, user.source, user.password_hash, user.admin) == ("dora", "ldap", "", False)
    again = await directory.directory_sign_in(services, "dora", "ldap", GroupPlan())
    assert again.created_at == user.created_at
    assert [u.name for u in await services.store.list_users_from("ldap")] == ["dora"]


async def test_a_sign_in_records_the_directory_s_email_and_keeps_it_when_none_or_junk_is_given(services: Services) -> None:
    user = await directory.directory_sign_in(services, "dora", "ldap", GroupPlan(), " dora@example.org ")
    assert user.email == "dora@example.org"
    await directory.directory_sign_in(services, "dora", "ldap", GroupPlan(), "dora.new@example.org")
    for junk in (None, "", "no-at-sign", "@example.org", "dora@", "a b@example.org", "dora\x00@example.org", "x" * 250 + "@e.org"):
        await directory.directory_sign_in(services, "dora", "ldap", GroupPlan(), junk)
    stored = await services.store.get_user("dora")
    assert stored is not None and stored.email == "dora.new@example.org"
    assert stored.updated_at == user.updated_at, "an address the directory gives changes nothing of the account"


@sqlite_only
async def test_a_directory_never_takes_a_local_account_a_namespace_or_another_directory_s_user(services: Services) -> None:
    await services.store.create_user("root", "hash", admin=True)
    with pytest.raises(Conflict, match="local account"):
        await directory.directory_sign_in(services, "root", "ldap", GroupPlan(admin=True))
    assert (await services.store.get_user("root")) is not None
    await services.store.create_namespace("shared", None, "private")
    with pytest.raises(Conflict, match="namespace named 'shared'"):
        await directory.provision_user(services, "shared", "ldap")
    await directory.provision_user(services, "olga", "oidc")
    with pytest.raises(Conflict, match="oidc account"):
        await directory.provision_user(services, "olga", "ldap")


async def test_a_plan_adds_changes_and_removes_only_the_directory_s_memberships(services: Services) -> None:
    await _teams(services, "web", "ops", "qa")
    await directory.provision_user(services, "dora", "ldap")
    await teams.put_member(services, OPERATOR, "qa", "dora", "owner")  # by hand
    result = await directory.apply_group_plan(services, "dora", "ldap", GroupPlan({"web": "viewer", "ops": "owner", "qa": "viewer"}))
    assert (result.added, result.revoked) == (("ops", "web"), False)
    assert await _members(services, "dora") == {"web": ("viewer", "ldap"), "ops": ("owner", "ldap"), "qa": ("owner", None)}

    result = await directory.apply_group_plan(services, "dora", "ldap", GroupPlan({"web": "contributor"}))
    assert (result.changed, result.removed, result.revoked) == (("web",), ("ops",), True)
    assert await _members(services, "dora") == {"web": ("contributor", "ldap"), "qa": ("owner", None)}, "qa was added by hand"


@sqlite_only
async def test_a_role_set_by_hand_is_no_longer_the_directory_s(services: Services) -> None:
    await _teams(services, "web")
    await directory.provision_user(services, "dora", "ldap")
    await directory.apply_group_plan(services, "dora", "ldap", GroupPlan({"web": "viewer"}))
    await teams.put_member(services, OPERATOR, "web", "dora", "contributor")
    await directory.apply_group_plan(services, "dora", "ldap", GroupPlan())
    assert await services.store.list_members("web") == [Member("web", "dora", "contributor", None)]


@sqlite_only
async def test_a_missing_team_is_skipped(services: Services) -> None:
    await directory.provision_user(services, "dora", "ldap")
    result = await directory.apply_group_plan(services, "dora", "ldap", GroupPlan({"nowhere": "owner"}))
    assert result.added == () and await _members(services, "dora") == {}


async def test_losing_access_voids_the_tokens_issued_before_the_sync(services: Services) -> None:
    await _teams(services, "web")
    await directory.provision_user(services, "dora", "ldap")
    await directory.apply_group_plan(services, "dora", "ldap", GroupPlan({"web": "owner"}, admin=True))
    before = int(time.time()) - 1
    assert not services.revocations.is_revoked("dora", issued_at=before), "gaining access voids nothing"

    result = await directory.apply_group_plan(services, "dora", "ldap", GroupPlan({"web": "viewer"}, admin=True))
    assert result.revoked and services.revocations.is_revoked("dora", issued_at=before), "a lowered role"
    assert (await services.store.revoked_subjects(0))["dora"] >= before + 1, "other instances read it from the store"

    assert (await directory.apply_group_plan(services, "dora", "ldap", GroupPlan({"web": "viewer"}, admin=False))).admin is False
    user = await services.store.get_user("dora")
    assert user is not None and not user.admin


@sqlite_only
async def test_a_sync_at_sign_in_spares_the_token_it_is_about_to_issue(services: Services) -> None:
    await _teams(services, "web")
    await directory.directory_sign_in(services, "dora", "ldap", GroupPlan({"web": "owner"}))
    await directory.directory_sign_in(services, "dora", "ldap", GroupPlan())
    now = int(time.time())  # the second of the sign-in (or just after it)
    assert services.revocations.is_revoked("dora", issued_at=now - 2)
    assert not services.revocations.is_revoked("dora", issued_at=now), "a token issued by this sign-in, in its second"
    assert (await services.store.revoked_subjects(0))["dora"] < now


@sqlite_only
async def test_a_user_gone_from_the_directory_is_disabled_once(services: Services) -> None:
    await directory.provision_user(services, "dora", "ldap")
    await services.store.create_user("root", "hash")
    assert await directory.forget_directory_user(services, "dora", "ldap")
    assert not await directory.forget_directory_user(services, "dora", "ldap"), "already disabled"
    assert not await directory.forget_directory_user(services, "root", "ldap"), "a local account is not the directory's"
    assert services.revocations.is_revoked("dora")
    disabled = await directory.directory_sign_in(services, "dora", "ldap", GroupPlan({"web": "owner"}))
    assert disabled.disabled and await _members(services, "dora") == {}


@sqlite_only
async def test_a_plan_for_an_unknown_user_is_refused(services: Services) -> None:
    with pytest.raises(NotFound):
        await directory.apply_group_plan(services, "ghost", "ldap", GroupPlan())
