"""Browsing as services: namespaces and repositories found by a fragment of their name, a
namespace's repositories and a repository's tags page by page, who pushed a tag, and what an
anonymous visitor sees; never a private name of someone else."""

from __future__ import annotations

import pytest

from gateway.auth.permissions import ANONYMOUS_ACTOR
from gateway.auth.policy import ANONYMOUS, Identity
from gateway.services.context import Services
from gateway.services.errors import Invalid, NotFound
from gateway.services.namespaces import get_namespace, list_namespaces, search_namespaces
from gateway.services.repositories import list_namespace_repositories, search_repositories, tag_page, tag_pushers
from gateway.store import ManifestRow, NewEvent
from tests.integration.services.conftest import ADMIN, ALICE, BOB

OCI = "application/vnd.oci.image.manifest.v1+json"
ALICE_ID, BOB_ID, ADMIN_ID = Identity("alice"), Identity("bob"), Identity("root", admin=True)


def digest(seed: str) -> str:
    return "sha256:" + (seed * 64)[:64]


async def push(services: Services, repository: str, tag: str, seed: str = "a", subject: str | None = None) -> None:
    manifest = ManifestRow(repository, digest(seed), OCI, 1234, "application/example" if subject else None, subject, None, 1000)
    await services.store.index_push(manifest, tag)


@pytest.fixture
async def world(services: Services) -> Services:
    """alice and bob; team `web` (alice its member) with a private `web_secret` and a public
    `web-open`; a protected `ops-inside` of team ops."""
    store = services.store
    for user in ("alice", "bob"):
        await store.create_user(user, "x")
    for team in ("web", "ops"):
        await store.create_team(team)
    await store.set_member("web", "alice", "viewer")
    await store.create_namespace("web_secret", "web", "private")
    await store.create_namespace("web-open", "web", "public")
    await store.create_namespace("ops-inside", "ops", "protected")
    for repository in ("web_secret/app", "web-open/app", "web-open/tool", "web-open/zed", "ops-inside/app"):
        await push(services, repository, "v1")
    await push(services, "web-openx/other", "v1")  # a namespace name that starts like web-open's
    return services


async def test_search_finds_names_by_fragment_and_hides_private_ones_of_others(world: Services) -> None:
    found, _ = await search_namespaces(world, BOB, "WEB", "", 10)
    assert [n.name for n in found] == ["web-open"]
    found, _ = await search_namespaces(world, ALICE, "web", "", 10)
    assert [n.name for n in found] == ["web-open", "web_secret"]
    repositories, _ = await search_repositories(world, BOB_ID, "app", "", 10)
    assert [r.name for r in repositories] == ["ops-inside/app", "web-open/app"]
    repositories, _ = await search_repositories(world, ALICE_ID, "secret", "", 10)
    assert [r.name for r in repositories] == ["web_secret/app"]


@pytest.mark.parametrize("text", ["%", "_", "'", "<script>", "!", "b_o"])
async def test_search_takes_every_character_literally(world: Services, text: str) -> None:
    namespaces, _ = await search_namespaces(world, ADMIN, text, "", 10)
    repositories, _ = await search_repositories(world, ADMIN_ID, text, "", 10)
    expected = ["web_secret"] if text == "_" else []
    assert [n.name for n in namespaces] == expected
    assert [r.name for r in repositories] == ([r + "/app" for r in expected])


async def test_search_refuses_text_longer_than_a_name(world: Services) -> None:
    with pytest.raises(Invalid, match="at most 255"):
        await search_repositories(world, ALICE_ID, "a" * 256, "", 10)


async def test_search_pages_through_more_matches_than_a_page(world: Services) -> None:
    first, following = await search_repositories(world, ADMIN_ID, "web-open", "", 2)
    assert [r.name for r in first] == ["web-open/app", "web-open/tool"]
    assert following == "web-open/tool"
    rest, end = await search_repositories(world, ADMIN_ID, "web-open", following, 2)
    assert ([r.name for r in rest], end) == (["web-open/zed", "web-openx/other"], None)


async def test_a_namespace_lists_only_its_own_repositories_page_by_page(world: Services) -> None:
    first, following = await list_namespace_repositories(world, BOB_ID, "web-open", "", 2)
    assert ([r.name for r in first], following) == (["web-open/app", "web-open/tool"], "web-open/tool")
    rest, end = await list_namespace_repositories(world, BOB_ID, "web-open", "web-open/tool", 2)
    assert ([r.name for r in rest], end) == (["web-open/zed"], None)


async def test_a_private_namespace_of_others_is_not_found_like_a_missing_one(world: Services) -> None:
    with pytest.raises(NotFound) as hidden:
        await list_namespace_repositories(world, BOB_ID, "web_secret", "", 10)
    with pytest.raises(NotFound) as missing:
        await list_namespace_repositories(world, BOB_ID, "nothing", "", 10)
    assert hidden.value.message.replace("web_secret", "X") == missing.value.message.replace("nothing", "X")
    with pytest.raises(NotFound) as tags_hidden:
        await tag_page(world, BOB_ID, "web_secret/app", "", 10)
    with pytest.raises(NotFound) as tags_missing:
        await tag_page(world, BOB_ID, "web_secret/nope", "", 10)
    assert tags_hidden.value.message.replace("app", "X") == tags_missing.value.message.replace("nope", "X")


async def test_anonymous_visitors_see_public_namespaces_only(world: Services) -> None:
    shown, _ = await list_namespaces(world, ANONYMOUS_ACTOR, "", 10)
    assert [n.name for n in shown] == ["web-open"]
    found, _ = await search_repositories(world, ANONYMOUS, "app", "", 10)
    assert [r.name for r in found] == ["web-open/app"]
    with pytest.raises(NotFound):
        await get_namespace(world, ANONYMOUS_ACTOR, "ops-inside")
    with pytest.raises(NotFound):
        await tag_page(world, ANONYMOUS, "ops-inside/app", "", 10)
    assert [t.tag for t in (await tag_page(world, ANONYMOUS, "web-open/app", "", 10)).tags] == ["v1"]


async def test_a_tag_page_pages_and_carries_the_referrers_of_its_digests(world: Services) -> None:
    for tag in ("v2", "v3"):
        await push(world, "web-open/app", tag)
    await push(world, "web-open/app", "", seed="c", subject=digest("a"))
    first = await tag_page(world, BOB_ID, "web-open/app", "", 2)
    assert ([t.tag for t in first.tags], first.next) == (["v1", "v2"], "v2")
    assert [r.digest for r in first.referrers[digest("a")]] == [digest("c")]
    rest = await tag_page(world, BOB_ID, "web-open/app", "v2", 2)
    assert ([t.tag for t in rest.tags], rest.next) == (["v3"], None)


async def test_the_latest_push_event_of_a_tag_names_its_pusher(world: Services) -> None:
    for seq, (tag, actor) in enumerate((("v1", "alice"), ("v1", "bob"), ("v2", "alice"))):
        body = {"action": "push", "target": {"repository": "web-open/app", "tag": tag}, "actor": {"name": actor}}
        await world.store.add_event(NewEvent(f"e{seq}", 1000 + seq, "push", "web-open/app", tag, digest("a"), actor, body))
    assert await tag_pushers(world, BOB_ID, "web-open/app") == {"v1": "bob", "v2": "alice"}


async def test_a_tag_page_filters_by_a_part_of_the_tag_literally_and_still_pages(world: Services) -> None:
    for tag in ("v2", "v2.1", "v2_x", "v20", "release-2", "latest"):
        await push(world, "web-open/app", tag)

    async def tags(contains: str, after: str = "", limit: int = 10) -> tuple[list[str], str | None]:
        found = await tag_page(world, BOB_ID, "web-open/app", after, limit, contains)
        return [t.tag for t in found.tags], found.next

    assert await tags("2") == (["release-2", "v2", "v2.1", "v20", "v2_x"], None)
    assert await tags("_") == (["v2_x"], None)  # a LIKE wildcard taken as itself
    assert await tags("V2.") == (["v2.1"], None)
    assert await tags("2", limit=2) == (["release-2", "v2"], "v2")
    assert await tags("2", after="v2", limit=2) == (["v2.1", "v20"], "v20")
    assert await tags("nothing") == ([], None)
    with pytest.raises(NotFound):  # a filter opens no private repository
        await tag_page(world, BOB_ID, "web_secret/app", "", 10, "v")
    with pytest.raises(Invalid):
        await tags("x" * 129)
