"""The account rules (gateway/services/users.py), in-process on SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from gateway.auth.login import Authenticator, CredentialCache, Throttled
from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity, TokenLimits
from gateway.auth.throttle import LoginThrottle
from gateway.services import errors, tokens, users
from gateway.services.context import Services
from gateway.services.users import OwnPasswordChange, UserChange
from gateway.store import ManifestRow, StoreUnavailable
from tests.integration.services.conftest import ADMIN, ALICE, BOB
from tests.integration.store.test_transactions import fail_at

PASSWORD = "a-long-password"


async def _with_alice_and_bob(services: Services) -> None:
    for name in ("alice", "bob"):
        await users.create_user(services, ADMIN, name, PASSWORD)


async def test_only_admins_create_users_and_an_application_token_is_never_admin(services: Services) -> None:
    with pytest.raises(errors.Forbidden, match="only admins may create users"):
        await users.create_user(services, ALICE, "carol", PASSWORD)
    limits = TokenLimits("t1", "ci", frozenset(), frozenset({"pull"}))
    through_token = Actor.of(Identity("root", admin=True, limits=limits))
    assert not through_token.admin
    with pytest.raises(errors.Forbidden, match="application tokens"):
        await users.create_user(services, through_token, "carol", PASSWORD)
    assert await services.store.get_user("carol") is None
    created = await users.create_user(services, ADMIN, "carol", PASSWORD, admin=True)
    assert created.admin and await services.hasher.verify(PASSWORD, created.password_hash)


@pytest.mark.parametrize(
    ("name", "password", "problem"),
    [
        ("Carol", PASSWORD, "not a valid user name"),
        ("carol\n", PASSWORD, "not a valid user name"),
        ("a__b", PASSWORD, "not a valid user name"),
        ("carol", "short", "8 to 1024 characters"),
        ("carol", "pgat_" + "x" * 20, "application token prefix"),
    ],
)
async def test_a_bad_name_or_password_is_invalid_and_creates_nothing(
    services: Services, name: str, password: str, problem: str
) -> None:
    with pytest.raises(errors.Invalid, match=problem):
        await users.create_user(services, ADMIN, name, password)
    assert await services.store.list_users() == []


async def test_a_name_taken_by_a_user_a_namespace_or_a_reservation_conflicts(services: Services) -> None:
    store = services.store
    await users.create_user(services, ADMIN, "alice", PASSWORD)
    with pytest.raises(errors.Conflict, match="already exists"):
        await users.create_user(services, ADMIN, "alice", PASSWORD)
    await store.create_team("web")
    await store.create_namespace("webapps", "web", "private")
    with pytest.raises(errors.Conflict, match="a namespace named 'webapps' exists"):
        await users.create_user(services, ADMIN, "webapps", PASSWORD)
    await store.index_push(_manifest("gone/app"), "v1")
    await store.reserve_if_occupied("gone", "user", "gone", "root")
    with pytest.raises(errors.Conflict, match="the name 'gone' is reserved"):
        await users.create_user(services, ADMIN, "gone", PASSWORD)
    assert [u.name for u in await store.list_users()] == ["alice"]


async def test_users_read_themselves_and_admins_everyone(services: Services) -> None:
    await _with_alice_and_bob(services)
    assert (await users.get_user(services, ALICE, "alice")).name == "alice"
    with pytest.raises(errors.Forbidden, match="only 'bob' themself or an admin"):
        await users.get_user(services, ALICE, "bob")
    with pytest.raises(errors.NotFound, match="no such user 'nobody'"):
        await users.get_user(services, ADMIN, "nobody")
    with pytest.raises(errors.Forbidden):
        await users.list_users(services, ALICE)
    assert [u.name for u in await users.list_users(services, ADMIN)] == ["alice", "bob"]


async def test_only_admins_change_flags_and_never_their_own(services: Services) -> None:
    await _with_alice_and_bob(services)
    with pytest.raises(errors.Forbidden, match="only admins may change the admin or disabled flags"):
        await users.update_user(services, ALICE, "alice", UserChange(admin=True))
    with pytest.raises(errors.Forbidden, match="may not drop their own admin rights"):
        await users.update_user(services, ADMIN, "root", UserChange(disabled=True))
    assert not (await services.store.get_user("alice")).admin  # type: ignore[union-attr]


async def test_disabling_revokes_stored_logins_at_once_and_enabling_says_they_stay_revoked(services: Services) -> None:
    await _with_alice_and_bob(services)
    store = services.store
    await store.add_refresh_token("r1", "alice", "svc", "docker")
    changed = await users.update_user(services, ADMIN, "alice", UserChange(disabled=True))
    assert changed.user.disabled and changed.revoked_logins == 1 and changed.note is None
    assert services.revocations.is_revoked("alice"), "the disabled user's tokens must die in this process at once"
    refresh = await store.get_refresh_token("r1")
    assert refresh is not None and refresh.revoked_at is not None
    enabled = await users.update_user(services, ADMIN, "alice", UserChange(disabled=False))
    assert not enabled.user.disabled and enabled.note is not None and "stay revoked" in enabled.note
    assert not services.revocations.is_revoked("alice")


async def test_a_new_password_replaces_the_old_and_revokes_stored_logins(services: Services) -> None:
    await _with_alice_and_bob(services)
    await services.store.add_refresh_token("r1", "alice", "svc", "docker")
    changed = await users.update_user(services, ALICE, "alice", UserChange(password="another-long-one"))
    assert changed.revoked_logins == 1
    assert await services.hasher.verify("another-long-one", changed.user.password_hash)
    assert not await services.hasher.verify(PASSWORD, changed.user.password_hash)
    with pytest.raises(errors.Invalid):
        await users.update_user(services, ALICE, "alice", UserChange(password="short"))


async def test_deleting_a_user_revokes_their_tokens_at_once(services: Services) -> None:
    await _with_alice_and_bob(services)
    created = await tokens.create_token(services, ALICE, "alice", "ci")
    with pytest.raises(errors.Forbidden, match="only 'alice' themself or an admin"):
        await users.delete_user(services, BOB, "alice")
    with pytest.raises(errors.Forbidden, match="admins may not delete themselves"):
        await users.delete_user(services, ADMIN, "root")
    deletion = await users.delete_user(services, ALICE, "alice")
    assert deletion.deleted and deletion.reserved is None
    assert services.revocations.is_revoked("alice", created.record.id, issued_at=0)
    assert services.revocations.is_revoked("bob", created.record.id), "the token's id itself is revoked"
    assert await services.store.get_user("alice") is None
    with pytest.raises(errors.NotFound):
        await users.delete_user(services, ADMIN, "alice")


async def test_a_user_deletion_failing_half_way_changes_nothing_here_or_in_the_store(services: Services) -> None:
    await _with_alice_and_bob(services)
    created = await tokens.create_token(services, ALICE, "alice", "ci")
    fail_at(services.store, "DELETE FROM users")
    with pytest.raises(StoreUnavailable):
        await users.delete_user(services, ADMIN, "alice")
    assert await services.store.get_app_token(created.record.id) is not None
    assert await services.store.revoked_app_token_ids(0) == frozenset()
    assert not services.revocations.is_revoked("alice", created.record.id)


async def test_deleting_a_user_with_repositories_reserves_the_name(services: Services) -> None:
    await _with_alice_and_bob(services)
    await services.store.index_push(_manifest("alice/app"), "v1")
    deletion = await users.delete_user(services, ADMIN, "alice")
    assert deletion.reserved is not None and deletion.reserved.repositories == 1
    assert services.revocations.predates_reservation("alice/app", deletion.reserved.deleted_at)


async def test_the_deletion_preview_refuses_as_the_deletion_does_and_counts_what_follows(services: Services) -> None:
    await _with_alice_and_bob(services)
    await services.store.create_user("root", "hash", admin=True)
    await tokens.create_token(services, ALICE, "alice", "ci")
    await tokens.create_token(services, ALICE, "alice", "laptop")
    await services.store.index_push(_manifest("alice/app"), "v1")
    with pytest.raises(errors.Forbidden, match="only 'alice' themself or an admin"):
        await users.check_delete_user(services, BOB, "alice")
    with pytest.raises(errors.Forbidden, match="admins may not delete themselves"):
        await users.check_delete_user(services, ADMIN, "root")
    with pytest.raises(errors.NotFound, match="no such user 'carol'"):
        await users.check_delete_user(services, ADMIN, "carol")
    await tokens.create_token(services, BOB, "bob", "ci")
    for beside in ("alice-x/app", "alice0/app", "alicea/app", "alice/deep/app"):  # only the last is alice's
        await services.store.index_push(_manifest(beside), "v1")
    read = _rows_read(services)
    preview = await users.check_delete_user(services, ADMIN, "alice")
    assert (preview.user.name, preview.tokens, preview.repositories) == ("alice", 2, 2)
    assert read and max(read) == 1, "counted in the database, never a row per token or repository"
    assert (await users.check_delete_user(services, BOB, "bob")).tokens == 1
    assert await services.store.get_user("alice") is not None, "a preview deletes nothing"


def _rows_read(services: Services) -> list[int]:
    """How many rows each read of the store returns from now on."""
    store, counts = services.store, []
    real: Callable[..., Awaitable[list[Mapping[str, Any]]]] = store.fetch_all

    async def fetch_all(sql: str, params: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        rows = await real(sql, params)
        counts.append(len(rows))
        return rows

    store.fetch_all = fetch_all  # type: ignore[method-assign]
    return counts


def _manifest(repository: str) -> ManifestRow:
    return ManifestRow(repository, "sha256:" + "b" * 64, "application/vnd.oci.image.manifest.v1+json", 10, None, None, {}, 1000)


async def test_a_new_password_a_disable_or_a_deletion_ends_the_users_web_sessions(services: Services) -> None:
    await _with_alice_and_bob(services)
    store = services.store
    for number, change in enumerate((UserChange(password="another-long-one"), UserChange(disabled=True))):
        await store.create_session(f"alice-{number}", "alice")
        await store.create_session(f"bob-{number}", "bob")
        await users.update_user(services, ADMIN, "alice", change)
        ended = await store.get_session(f"alice-{number}")
        assert ended is not None and ended.ended_at is not None, change
        kept = await store.get_session(f"bob-{number}")
        assert kept is not None and kept.ended_at is None, "another user's session must stay"
    await store.create_session("alice-last", "alice")
    await users.delete_user(services, ADMIN, "alice")
    last = await store.get_session("alice-last")
    assert last is None or last.ended_at is not None


def _authenticator(services: Services, max_failures: int = 5) -> Authenticator:
    """The gateway's login over this store, failures throttled per (user, address)."""
    return Authenticator(services.store, services.hasher, CredentialCache(), LoginThrottle(max_failures, 300))


def _from(authenticator: Authenticator, address: str = "192.0.2.7") -> users.Authenticate:
    async def authenticate(username: str, password: str) -> Identity | None:
        return await authenticator.login(username, password, address)

    return authenticate


async def test_users_change_their_own_password_proving_the_current_one(services: Services) -> None:
    await _with_alice_and_bob(services)
    store, authenticate = services.store, _from(_authenticator(services))
    await store.add_refresh_token("r1", "alice", "svc", "docker")
    for number in range(2):
        await store.create_session(f"alice-{number}", "alice")
    await store.create_session("bob-0", "bob")
    refused = (
        (OwnPasswordChange("not-her-password", "another-long-one", "another-long-one"), errors.Forbidden, "current password is wrong"),
        (OwnPasswordChange(PASSWORD, "another-long-one", "another-long-two"), errors.Invalid, "two copies of the new password differ"),
        (OwnPasswordChange(PASSWORD, "short", "short"), errors.Invalid, "a password has 8 to 1024 characters"),
        (OwnPasswordChange(PASSWORD, "pgat_" + "x" * 20, "pgat_" + "x" * 20), errors.Invalid, "application token prefix"),
    )
    for change, kind, problem in refused:
        with pytest.raises(kind, match=problem):
            await users.change_own_password(services, ALICE, change, authenticate)
        unchanged = await store.get_user("alice")
        assert unchanged is not None and await services.hasher.verify(PASSWORD, unchanged.password_hash)
        still = await store.get_session("alice-0")
        assert still is not None and still.ended_at is None, "a refused change ends no session"

    changed = await users.change_own_password(services, ALICE, OwnPasswordChange(PASSWORD, "another-long-one", "another-long-one"), authenticate)
    assert changed.user.name == "alice" and changed.revoked_logins == 1
    assert await services.hasher.verify("another-long-one", changed.user.password_hash)
    assert await authenticate("alice", PASSWORD) is None
    assert await authenticate("alice", "another-long-one") == Identity("alice")
    for number in range(2):
        ended = await store.get_session(f"alice-{number}")
        assert ended is not None and ended.ended_at is not None
    kept = await store.get_session("bob-0")
    assert kept is not None and kept.ended_at is None, "another user's session must stay"
    bob = await store.get_user("bob")
    assert bob is not None and await services.hasher.verify(PASSWORD, bob.password_hash)


async def test_a_wrong_current_password_counts_as_a_failed_login_and_typing_mistakes_do_not(services: Services) -> None:
    await _with_alice_and_bob(services)
    authenticator = _authenticator(services, max_failures=2)
    authenticate = _from(authenticator)
    for _ in range(3):  # more than the throttle allows: checked before the current password, so free
        with pytest.raises(errors.Invalid):
            await users.change_own_password(services, ALICE, OwnPasswordChange(PASSWORD, "another-long-one", "typo"), authenticate)
    for _ in range(2):
        with pytest.raises(errors.Forbidden, match="current password is wrong"):
            await users.change_own_password(services, ALICE, OwnPasswordChange("wrong-password", "another-long-one", "another-long-one"), authenticate)
    with pytest.raises(Throttled):  # even the right one waits, here and at the sign-in page
        await users.change_own_password(services, ALICE, OwnPasswordChange(PASSWORD, "another-long-one", "another-long-one"), authenticate)
    with pytest.raises(Throttled):
        await authenticator.login("alice", PASSWORD, "192.0.2.7")
    alice = await services.store.get_user("alice")
    assert alice is not None and await services.hasher.verify(PASSWORD, alice.password_hash)
    assert await authenticator.login("bob", PASSWORD, "192.0.2.7") == Identity("bob"), "only alice's attempts are throttled"


async def test_an_application_token_never_changes_a_password(services: Services) -> None:
    await _with_alice_and_bob(services)
    created = await tokens.create_token(services, ALICE, "alice", "ci")
    authenticate = _from(_authenticator(services))
    identity = await authenticate("alice", created.secret)
    assert identity is not None and identity.limits is not None
    change = OwnPasswordChange(PASSWORD, "another-long-one", "another-long-one")
    with pytest.raises(errors.Forbidden, match="an application token may not change its user's password"):
        await users.change_own_password(services, Actor.of(identity), change, authenticate)
    as_current = OwnPasswordChange(created.secret, "another-long-one", "another-long-one")
    with pytest.raises(errors.Forbidden, match="current password is wrong"):  # a token is not the password
        await users.change_own_password(services, ALICE, as_current, authenticate)
    alice = await services.store.get_user("alice")
    assert alice is not None and await services.hasher.verify(PASSWORD, alice.password_hash)


async def test_an_admin_finds_users_by_a_part_of_their_name_literally_and_a_page_at_a_time(services: Services) -> None:
    for name in ("alice", "bob", "malik", "al_bert", "alxbert", "zoe"):
        await users.create_user(services, ADMIN, name, PASSWORD)

    async def found(contains: str, after: str = "", limit: int = 100) -> list[str]:
        return [u.name for u in await users.list_users(services, ADMIN, after, limit, contains)]

    assert await found("li") == ["alice", "malik"]
    assert await found("LI") == ["alice", "malik"]  # names are lowercase: so is the search
    assert await found("_") == ["al_bert"]  # a LIKE wildcard taken as itself
    assert await found("%") == []
    assert await found("al", limit=2) == ["al_bert", "alice"]
    assert await found("al", after="alice") == ["alxbert", "malik"]
    assert await found("") == ["al_bert", "alice", "alxbert", "bob", "malik", "zoe"]
    with pytest.raises(errors.Forbidden):
        await users.list_users(services, ALICE, "", 10, "a")
    with pytest.raises(errors.Invalid):
        await found("a" * 300)
