"""gateway.services.namespaces in-process, on SQLite and MariaDB: who sees and manages which
namespace, names (grammar, users' names, reserved names), personal namespaces, and that a
hidden namespace answers exactly as a missing one."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from gateway.auth.permissions import OPERATOR, Actor
from gateway.services import namespaces, reach, teams
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from gateway.store import ManifestRow
from tests.integration.services.conftest import ADMIN, ALICE, BOB
from tests.support.stores import counted

CAROL = Actor("carol")


@pytest.fixture
async def web(services: Services) -> Services:
    """Users alice (owner of team web), bob (viewer of web) and carol (no team)."""
    for name in ("alice", "bob", "carol"):
        await services.store.create_user(name, "hash")
    await teams.create_team(services, ALICE, "web")
    await teams.put_member(services, ALICE, "web", "bob", "viewer")
    return services


async def _push(services: Services, repository: str) -> None:
    """Index a repository in the namespace, as a push does."""
    manifest = ManifestRow(repository, "sha256:" + "a" * 64, "application/vnd.oci.image.manifest.v1+json", 10, None, None, {}, 1000)
    await services.store.index_push(manifest, "v1")


async def _refusal(call: Awaitable[object]) -> tuple[type[ServiceError], str]:
    """The kind and message of the refusal `call` raises."""
    try:
        await call
    except ServiceError as exc:
        return type(exc), exc.message
    raise AssertionError("not refused")


# --- creating --------------------------------------------------------------------------------


async def test_a_team_owner_creates_a_namespace_for_their_team(web: Services) -> None:
    made = await namespaces.create_namespace(web, ALICE, "web__tools", "web", "public")
    assert (made.name, made.team, made.visibility) == ("web__tools", "web", "public")
    assert (await namespaces.create_namespace(web, ALICE, "web--private", "web")).visibility == "private"


async def test_only_team_owners_and_admins_create_its_namespaces(web: Services) -> None:
    with pytest.raises(Forbidden, match="only owners of team 'web' and admins may create namespaces for it"):
        await namespaces.create_namespace(web, BOB, "web__bob", "web")
    with pytest.raises(NotFound, match="no such team 'web'"):  # carol may not read team web
        await namespaces.create_namespace(web, CAROL, "web__carol", "web")
    assert (await namespaces.create_namespace(web, ADMIN, "web__admin", "web")).team == "web"
    assert [n.name for n in await web.store.list_namespaces()] == ["web__admin"]


async def test_a_namespace_for_a_missing_team_is_not_found(web: Services) -> None:
    with pytest.raises(NotFound, match="no such team 'nope'"):
        await namespaces.create_namespace(web, ADMIN, "web__x", "nope")


async def test_a_name_a_user_could_have_only_an_admin_takes(web: Services) -> None:
    with pytest.raises(Forbidden, match="only admins may create namespace 'tools'"):
        await namespaces.create_namespace(web, ALICE, "tools", "web")
    assert (await namespaces.create_namespace(web, ADMIN, "tools", "web")).name == "tools"


async def test_a_users_name_is_their_personal_namespace_and_not_for_a_team(web: Services) -> None:
    with pytest.raises(Conflict, match="'carol' is the personal namespace of user 'carol'"):
        await namespaces.create_namespace(web, ADMIN, "carol", "web")


async def test_a_taken_namespace_name_is_a_conflict(web: Services) -> None:
    await namespaces.create_namespace(web, ALICE, "web__tools", "web")
    with pytest.raises(Conflict, match="namespace 'web__tools' already exists"):
        await namespaces.create_namespace(web, ADMIN, "web__tools", "web")


@pytest.mark.parametrize(("name", "team", "visibility"), [
    ("Web__x", "web", "private"), ("a/b", "web", "private"), ("web__x", "Web", "private"), ("web__x", "web", "secret"),
])
async def test_a_bad_name_team_or_visibility_is_invalid(web: Services, name: str, team: str, visibility: str) -> None:
    with pytest.raises(Invalid):
        await namespaces.create_namespace(web, ADMIN, name, team, visibility)
    assert await web.store.list_namespaces() == []


async def test_a_reserved_name_is_refused_until_released(web: Services) -> None:
    await namespaces.create_namespace(web, ALICE, "web__old", "web")
    await _push(web, "web__old/app")
    await namespaces.delete_namespace(web, ALICE, "web__old")
    kind, message = await _refusal(namespaces.create_namespace(web, ADMIN, "web__old", "web"))
    assert kind is Conflict and "the name 'web__old' is reserved" in message
    assert "/api/v1/tombstones/web__old/release" in message and "`namespace release web__old`" in message
    await web.store.end_tombstone("web__old", "released", "root")
    assert (await namespaces.create_namespace(web, ADMIN, "web__old", "web")).name == "web__old"


# --- seeing ----------------------------------------------------------------------------------


async def test_a_hidden_namespace_answers_exactly_as_a_missing_one(web: Services) -> None:
    await namespaces.create_namespace(web, ALICE, "web__secret", "web", "private")
    for call in (
        lambda name: namespaces.get_namespace(web, CAROL, name),
        lambda name: namespaces.update_namespace(web, CAROL, name, visibility="public"),
        lambda name: namespaces.delete_namespace(web, CAROL, name),
    ):
        hidden = await _refusal(call("web__secret"))
        missing = await _refusal(call("web__nothing"))
        assert hidden[0] is NotFound and (hidden[0], hidden[1].replace("web__secret", "NAME")) == (
            missing[0], missing[1].replace("web__nothing", "NAME"),
        )
    assert (await namespaces.get_namespace(web, BOB, "web__secret")).visibility == "private", "members see it"


async def test_the_list_shows_what_the_actor_may_see(web: Services) -> None:
    for visibility in ("public", "protected", "private"):
        await namespaces.create_namespace(web, ALICE, f"web__{visibility}", "web", visibility)
    await namespaces.update_namespace(web, CAROL, "carol", visibility="private")

    async def seen(actor: Actor) -> list[str]:
        found, after = await namespaces.list_namespaces(web, actor, "", 100)
        assert after is None
        return [n.name for n in found]

    assert await seen(CAROL) == ["carol", "web__protected", "web__public"]
    assert await seen(BOB) == ["web__private", "web__protected", "web__public"]
    assert await seen(ADMIN) == ["carol", "web__private", "web__protected", "web__public"]
    page, after = await namespaces.list_namespaces(web, CAROL, "", 2)
    assert [n.name for n in page] == ["carol", "web__protected"] and after == "web__protected"


async def _sparse_namespaces(web: Services) -> None:
    """Besides web's: 60 private namespaces of no team, public, protected and private ones of
    team web and of team ops (carol its viewer) whose names sort around one another, carol's own
    row, and a namespace reserved after deletion."""
    store = web.store
    await teams.create_team(web, ALICE, "ops")
    await teams.put_member(web, ALICE, "ops", "carol", "viewer")
    for i in range(60):
        await store.create_namespace(f"p{i:02d}", None, "private")
    for name, team, visibility in (
        ("a", "web", "public"), ("a-b", "web", "protected"), ("a.b", "ops", "private"), ("a0", "web", "private"),
        ("b_c", "ops", "public"), ("z", None, "protected"),
    ):
        await store.create_namespace(name, team, visibility)
    await namespaces.update_namespace(web, CAROL, "carol", visibility="private")
    await store.create_namespace("gone", None, "public")
    await _push(web, "gone/app")
    await namespaces.delete_namespace(web, ADMIN, "gone")


async def _namespace_pages(web: Services, actor: Actor, size: int, text: str = "") -> list[str]:
    listed: list[str] = []
    after = ""
    while True:
        if text:
            page, next_after = await namespaces.search_namespaces(web, actor, text, after, size)
        else:
            page, next_after = await namespaces.list_namespaces(web, actor, after, size)
        listed += [n.name for n in page]
        if next_after is None:
            return listed
        after = next_after


async def test_the_list_of_a_visitor_who_sees_few_namespaces_reads_theirs_alone_and_equals_the_rule(
    web: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a quarter of the namespaces or fewer are open to the visitor, their rows are read by
    name, never the list; every page size, and a search, give what the rule keeps row by row
    (the walk forced gives the same)."""
    await _sparse_namespaces(web)
    for actor in (CAROL, BOB, Actor("")):
        rows = await web.store.list_namespaces()
        expected = [row.name for row in rows if await namespaces._visible(web, actor, row)]
        assert ("a.b" in expected) is (actor == CAROL) and ("carol" in expected) is (actor == CAROL)
        assert ("a-b" in expected) is bool(actor.name) and not any(n.startswith("p") for n in expected)
        for share in (reach.SPARSE_SHARE, 10**9):
            monkeypatch.setattr(reach, "SPARSE_SHARE", share)
            for size in (1, 2, 3, 100):
                assert await _namespace_pages(web, actor, size) == expected, (actor, share, size)
            for text in ("a", "b", "_", "0"):
                assert await _namespace_pages(web, actor, 2, text) == [n for n in expected if text in n], (actor, text)
        monkeypatch.undo()
        with counted(web.store) as seen:
            await namespaces.list_namespaces(web, actor, "", 100)
            await namespaces.search_namespaces(web, actor, "a", "", 100)
        reads = [sql for sql in seen if "SELECT * FROM namespaces" in sql]  # not the open ones' names, nor their count
        assert reads and all("name IN (" in sql for sql in reads), "never the whole list"


async def test_a_personal_namespace_reads_as_private_with_no_team_until_changed(web: Services) -> None:
    personal = await namespaces.get_namespace(web, CAROL, "carol")
    assert (personal.name, personal.team, personal.visibility) == ("carol", None, "private")
    assert await web.store.get_namespace("carol") is None, "no row until first changed"
    with pytest.raises(NotFound, match="no such namespace 'carol'"):
        await namespaces.get_namespace(web, BOB, "carol")
    assert (await namespaces.get_namespace(web, ADMIN, "carol")).visibility == "private"


# --- changing --------------------------------------------------------------------------------


async def test_a_user_changes_their_personal_namespace_and_others_may_not(web: Services) -> None:
    changed = await namespaces.update_namespace(web, CAROL, "carol", visibility="public")
    assert (changed.team, changed.visibility) == (None, "public")
    with pytest.raises(Forbidden, match="only 'carol' themself or an admin may change this namespace"):
        await namespaces.update_namespace(web, BOB, "carol", visibility="private")
    assert (await namespaces.update_namespace(web, ADMIN, "carol", visibility="protected")).visibility == "protected"


@pytest.mark.parametrize("actor", [CAROL, ADMIN, OPERATOR], ids=["its-user", "admin", "operator"])
async def test_a_personal_namespace_never_moves_into_a_team(web: Services, actor: Actor) -> None:
    with pytest.raises(Conflict, match="'carol' is the personal namespace of user 'carol'; it cannot belong to a team"):
        await namespaces.update_namespace(web, actor, "carol", team="web")
    assert await web.store.get_namespace("carol") is None
    await namespaces.update_namespace(web, CAROL, "carol", visibility="public")
    with pytest.raises(Conflict):
        await namespaces.update_namespace(web, actor, "carol", visibility="private", team="web")
    stored = await web.store.get_namespace("carol")
    assert stored is not None and (stored.team, stored.visibility) == (None, "public")


async def test_only_team_owners_and_admins_change_a_team_namespace(web: Services) -> None:
    await namespaces.create_namespace(web, ALICE, "web__tools", "web", "protected")
    with pytest.raises(Forbidden, match="only owners of team 'web' and admins may change this namespace"):
        await namespaces.update_namespace(web, BOB, "web__tools", visibility="public")
    assert (await namespaces.update_namespace(web, ALICE, "web__tools", visibility="public")).visibility == "public"


async def test_moving_a_namespace_needs_ownership_of_the_new_team(web: Services) -> None:
    await namespaces.create_namespace(web, ALICE, "web__tools", "web")
    await teams.create_team(web, BOB, "ops")
    with pytest.raises(NotFound, match="no such team 'ops'"):  # alice may not read it: as if it were not there
        await namespaces.update_namespace(web, ALICE, "web__tools", team="ops")
    await teams.put_member(web, BOB, "ops", "alice", "contributor")
    with pytest.raises(Forbidden, match="only owners of team 'ops' and admins may move namespaces into it"):
        await namespaces.update_namespace(web, ALICE, "web__tools", team="ops")
    with pytest.raises(NotFound, match="no such team 'nope'"):
        await namespaces.update_namespace(web, ALICE, "web__tools", team="nope")
    assert (await namespaces.update_namespace(web, ADMIN, "web__tools", team="ops")).team == "ops"


async def test_a_namespace_of_no_team_is_for_admins_only(web: Services) -> None:
    await namespaces.create_namespace(web, ALICE, "web__tools", "web", "public")
    await teams.delete_team(web, ALICE, "web")
    with pytest.raises(Forbidden, match=r"only admins may change this namespace \(namespace 'web__tools' belongs to no team\)"):
        await namespaces.update_namespace(web, ALICE, "web__tools", visibility="private")
    assert (await namespaces.update_namespace(web, ADMIN, "web__tools", visibility="private")).visibility == "private"


async def test_nothing_to_change_is_invalid(web: Services) -> None:
    with pytest.raises(Invalid, match="nothing to change"):
        await namespaces.update_namespace(web, ADMIN, "carol")


# --- deleting --------------------------------------------------------------------------------


async def test_deleting_a_namespace_with_repositories_reserves_it_at_once(web: Services) -> None:
    await namespaces.create_namespace(web, ALICE, "web__tools", "web")
    await _push(web, "web__tools/app")
    with pytest.raises(Forbidden, match="may delete this namespace"):
        await namespaces.delete_namespace(web, BOB, "web__tools")
    deletion = await namespaces.delete_namespace(web, ALICE, "web__tools")
    assert deletion.deleted and deletion.reserved is not None and deletion.reserved.repositories == 1
    assert deletion.reserved.deleted_by == "alice"
    assert web.revocations.predates_reservation("web__tools/app", deletion.reserved.deleted_at), "this process knows at once"
    assert await web.store.get_namespace("web__tools") is None


async def test_deleting_an_empty_namespace_reserves_nothing(web: Services) -> None:
    await namespaces.create_namespace(web, ALICE, "web__tools", "web")
    deletion = await namespaces.delete_namespace(web, ADMIN, "web__tools")
    assert deletion.deleted and deletion.reserved is None
    assert await web.store.get_tombstone("web__tools") is None


async def test_a_personal_namespace_without_settings_has_nothing_to_delete(web: Services) -> None:
    with pytest.raises(NotFound, match=r"no such namespace 'carol' \(a personal namespace has no settings to delete\)"):
        await namespaces.delete_namespace(web, CAROL, "carol")
    await namespaces.update_namespace(web, CAROL, "carol", visibility="public")
    assert (await namespaces.delete_namespace(web, CAROL, "carol")).reserved is None, "a personal namespace is never reserved"
    assert (await namespaces.get_namespace(web, CAROL, "carol")).visibility == "private", "back to the default"
