"""The application-token rules (gateway/services/tokens.py), in-process on SQLite and MariaDB."""

from __future__ import annotations

import pytest

from gateway.auth.permissions import Actor
from gateway.services import errors, tokens, users
from gateway.services.context import Services
from tests.integration.services.conftest import ADMIN, ALICE, BOB

PASSWORD = "a-long-password"


@pytest.fixture
async def alice(services: Services) -> None:
    for name in ("alice", "bob"):
        await users.create_user(services, ADMIN, name, PASSWORD)


@pytest.mark.usefixtures("alice")
async def test_a_user_makes_narrowed_tokens_for_themself_and_only_an_admin_for_others(services: Services) -> None:
    created = await tokens.create_token(
        services, ALICE, "alice", "ci", namespaces=["alice", "web__tools"], actions=["push", "pull"], expires="2w"
    )
    assert created.secret.startswith("pgat_") and created.record.actions == ("pull", "push")
    assert created.record.namespaces == ("alice", "web__tools") and created.record.expires_at is not None
    with pytest.raises(errors.Forbidden, match="only 'alice' themself or an admin"):
        await tokens.create_token(services, BOB, "alice", "sneaky")
    by_admin = await tokens.create_token(services, ADMIN, "alice", "deploy")
    assert by_admin.record.actions == ("pull",) and by_admin.record.expires_at is None
    assert [t.name for t in await tokens.list_tokens(services, ALICE, "alice")] == ["ci", "deploy"]
    with pytest.raises(errors.Forbidden):
        await tokens.list_tokens(services, BOB, "alice")


@pytest.mark.usefixtures("alice")
async def test_an_application_token_cannot_make_or_revoke_tokens(services: Services) -> None:
    through_token = Actor("alice", via_app_token=True)
    with pytest.raises(errors.Forbidden, match="cannot make another"):
        await tokens.create_token(services, through_token, "alice", "more")
    await tokens.create_token(services, ALICE, "alice", "ci")
    with pytest.raises(errors.Forbidden, match="cannot revoke"):
        await tokens.revoke_token(services, through_token, "alice", "ci")
    assert [t.name for t in await services.store.list_app_tokens("alice")] == ["ci"]


@pytest.mark.usefixtures("alice")
@pytest.mark.parametrize(
    ("name", "namespaces", "actions", "expires", "problem"),
    [
        ("-ci", None, None, None, "not a valid token name"),
        ("ci", ["a/b"], None, None, "is not a namespace name"),
        ("ci", None, ["pull", "admin"], None, "actions"),
        ("ci", None, [], None, "actions"),
        ("ci", None, None, "11y", "not a duration"),
        ("ci", None, None, "600w", "at most ten years"),
    ],
)
async def test_bad_token_input_is_invalid_and_stores_nothing(
    services: Services, name: str, namespaces: list[str] | None, actions: list[str] | None, expires: str | None, problem: str
) -> None:
    with pytest.raises(errors.Invalid, match=problem):
        await tokens.create_token(services, ALICE, "alice", name, namespaces=namespaces, actions=actions, expires=expires)
    assert await services.store.list_app_tokens("alice") == []


@pytest.mark.usefixtures("alice")
async def test_a_second_token_of_the_same_name_conflicts(services: Services) -> None:
    await tokens.create_token(services, ALICE, "alice", "ci")
    with pytest.raises(errors.Conflict, match="already has an application token named 'ci'"):
        await tokens.create_token(services, ALICE, "alice", "ci")


async def test_tokens_of_a_missing_user_are_not_found(services: Services) -> None:
    with pytest.raises(errors.NotFound, match="no such user 'ghost'"):
        await tokens.create_token(services, ADMIN, "ghost", "ci")
    with pytest.raises(errors.NotFound, match="no such user 'ghost'"):
        await tokens.list_tokens(services, ADMIN, "ghost")


@pytest.mark.usefixtures("alice")
async def test_revoking_kills_the_token_in_this_process_at_once(services: Services) -> None:
    created = await tokens.create_token(services, ALICE, "alice", "ci")
    await tokens.revoke_token(services, ALICE, "alice", "ci")
    assert services.revocations.is_revoked("alice", created.record.id)
    assert created.record.id in await services.store.revoked_app_token_ids(0)
    with pytest.raises(errors.NotFound, match="has no application token named 'ci'"):
        await tokens.revoke_token(services, ALICE, "alice", "ci")


@pytest.mark.usefixtures("alice")
async def test_tokens_list_in_pages_by_name_and_only_the_users_own(services: Services) -> None:
    for name in ("c", "a", "d", "b"):
        await tokens.create_token(services, ALICE, "alice", name)
    await tokens.create_token(services, BOB, "bob", "bb")
    first = await tokens.list_tokens(services, ALICE, "alice", "", 2)
    rest = await tokens.list_tokens(services, ALICE, "alice", first[-1].name, 2)
    assert [t.name for t in first] == ["a", "b"] and [t.name for t in rest] == ["c", "d"]
    assert await tokens.list_tokens(services, ALICE, "alice", "d", 2) == []
    assert [t.name for t in await tokens.list_tokens(services, ALICE, "alice", "b")] == ["c", "d"]
