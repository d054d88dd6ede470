"""No page tells another user that a private namespace, repository or tag exists: every page and
form that takes a name answers a stranger (a signed-in user of no team of it, or an anonymous
visitor where anonymous browsing is on) about a private one exactly as it answers about a name
nobody ever used (same status, same redirect, same page once the name is swapped). Nor does any
page, form or /api/v1 call tell a user who may not read a team that it exists: they get what a
team never made gets, while a member who may read it still gets 403 on what only owners do.

Plain aiohttp (no browser): the answers are compared byte for byte, for every route of the UI
that takes a namespace, repository, tag, digest or team, GET and POST alike, and every call of
the API that takes a team."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import pytest

from tests.integration.ui.conftest import ui_routes
from tests.integration.ui.pushing import push_images
from tests.support.client import USERS
from tests.support.processes import Gateway, Registry

# A private namespace of team web (bob is a viewer, alice no member), its repository and tag,
# and the same shapes nobody ever used. Same lengths, so nothing differs but the name.
PRIVATE = {"ns": "web-secret", "repo": "web-secret/hidden-thing", "tag": "v1"}
ABSENT = {"ns": "web-secrez", "repo": "web-secrez/hidden-thinz", "tag": "v9"}
DIGEST = "sha256:" + "0" * 64
# A team alice is no member of (bob is its viewer), and a team name nobody ever used: same length.
TEAM, NO_TEAM = "hiddenteam", "hiddenteax"

GETS = (
    "/ui/namespaces/{ns}",
    "/ui/namespaces/{ns}/settings",
    "/ui/namespaces/{ns}?after=a",
    "/ui/repositories/{repo}",
    "/ui/repositories/{repo}?after=a&limit=1",
    "/ui/repositories/{repo}?q={tag}",
    "/ui/manifests/delete?repository={repo}&digest={digest}",
    "/ui/tags/delete?repository={repo}&tag={tag}",
    "/ui/audit?repository={repo}",
    "/ui/audit?repository={repo}&action=push",
    "/ui/search?q={ns}",
    "/ui/search?q={repo}",
)
POSTS = (
    ("/ui/namespaces/{ns}/retention", {"keep_last": "3"}),
    ("/ui/namespaces/{ns}/quota", {"quota": "1 GiB"}),
    ("/ui/namespaces/{ns}/immutable-tags", {"immutable_tags": "v*"}),
    ("/ui/namespaces/{ns}/settings", {"visibility": "public"}),
    ("/ui/manifests/delete", {"repository": "{repo}", "digest": "{digest}"}),
    ("/ui/tags/delete", {"repository": "{repo}", "tag": "{tag}"}),
    ("/ui/teams/own/namespaces/{ns}/visibility", {"visibility": "public"}),
    ("/ui/teams/own/namespaces/{ns}/team", {"team": "own"}),
    ("/ui/teams/own/namespaces", {"name": "{ns}", "visibility": "private"}),
)


@pytest.fixture(scope="module")
def secret(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    """The gateway with web-secret/hidden-thing:v1 pushed by the admin; and its manifest digest."""
    gateway = Gateway(tmp_path_factory.mktemp("leaks"), registry.url, {"GATEWAY_UI_ANONYMOUS_BROWSING": "true"})
    for name, password in USERS.items():
        gateway.add_user(name, password)
    gateway.cli("team", "add", "web")
    gateway.cli("team", "member", "add", "web", "bob", "--role", "viewer")
    gateway.cli("team", "add", "own")  # alice owns it: her team forms must not tell about web-secret either
    gateway.cli("team", "member", "add", "own", "alice", "--role", "owner")
    gateway.cli("namespace", "add", PRIVATE["ns"], "--team", "web", "--visibility", "private")
    gateway.cli("namespace", "add", "own__ns", "--team", "own", "--visibility", "private")
    gateway.cli("team", "add", TEAM)
    gateway.cli("team", "member", "add", TEAM, "bob", "--role", "viewer")
    gateway.start()
    push_images(gateway, [("admin", PRIVATE["repo"], PRIVATE["tag"])], {"admin": Gateway.ADMIN[1]})
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(asyncio.run, _digest(gateway)).result()
    yield gateway, digest
    gateway.stop()


async def _digest(gateway: Gateway) -> str:
    """The pushed manifest's digest, from the API as the admin sees it."""
    headers = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
    async with aiohttp.ClientSession() as session, session.get(
        f"{gateway.url}/api/v1/repositories/{PRIVATE['repo']}/tags", headers=headers,
    ) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    items = body["items"] if isinstance(body, dict) else body
    return str(items[0]["digest"])


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        yield client


async def _sign_in(client: aiohttp.ClientSession, gateway: Gateway, user: str) -> str:
    """Sign `user` in; the session's form token."""
    async with client.get(f"{gateway.url}/ui/login") as response:
        form = _csrf(await response.text())
    data = {"csrf": form, "username": user, "password": USERS[user]}
    async with client.post(f"{gateway.url}/ui/login", data=data, headers={"Origin": gateway.url}) as response:
        assert str(response.url) == f"{gateway.url}/ui/", await response.text()
        return _csrf(await response.text())


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _fill(template: str, names: dict[str, str], digest: str) -> str:
    return template.format(digest=digest, **names)


def _neutral(text: str, names: dict[str, str]) -> str:
    """The answer with the names swapped for placeholders (longest first: the repository holds the namespace)."""
    for key in ("repo", "ns", "tag"):
        text = text.replace(names[key], f"<{key}>")
    return text


async def _answer(
    client: aiohttp.ClientSession, gateway: Gateway, method: str, path: str, fields: dict[str, str], names: dict[str, str],
    digest: str,
) -> tuple[int, str, str]:
    """Status, Location and page of one request about `names`, with the names swapped for placeholders."""
    url = gateway.url + _fill(path, names, digest)
    data = {k: _fill(v, names, digest) for k, v in fields.items()} if method == "POST" else None
    headers = {"Origin": gateway.url} if method == "POST" else {}
    async with client.request(method, url, data=data, headers=headers, allow_redirects=False) as response:
        location, body = response.headers.get("Location", ""), await response.text()
        return response.status, _neutral(location, names), _neutral(body, names)


@pytest.mark.parametrize("stranger", ["alice", "anonymous"])
async def test_a_stranger_gets_the_same_answer_for_a_private_name_as_for_no_name(
    secret: tuple[Gateway, str], session: aiohttp.ClientSession, stranger: str,
) -> None:
    """alice, signed in and in no team of the namespace; or a visitor not signed in, where anonymous browsing is on."""
    gateway, digest = secret
    if stranger == "anonymous":
        async with session.get(f"{gateway.url}/ui/login") as response:
            csrf = _csrf(await response.text())  # the pre-session token: the forms get past the cross-site check
    else:
        csrf = await _sign_in(session, gateway, stranger)
    requests = [("GET", path, {}) for path in GETS] + [("POST", path, {"csrf": csrf, **f}) for path, f in POSTS]
    differing = []
    for method, path, fields in requests:
        private = await _answer(session, gateway, method, path, fields, PRIVATE, digest)
        absent = await _answer(session, gateway, method, path, fields, ABSENT, digest)
        assert private[0] < 500, (method, path, private)
        if private != absent:
            differing.append((method, path, private[:2], absent[:2]))
    assert differing == []


async def test_the_member_sees_the_private_repository_so_the_sweep_above_means_something(
    secret: tuple[Gateway, str], session: aiohttp.ClientSession,
) -> None:
    gateway, digest = secret
    await _sign_in(session, gateway, "bob")
    for path in ("/ui/repositories/{repo}", "/ui/search?q={repo}", "/ui/audit?repository={repo}", "/ui/namespaces/{ns}"):
        async with session.get(gateway.url + _fill(path, PRIVATE, digest)) as response:
            assert response.status == 200, path
            assert PRIVATE["repo"] in await response.text(), path


TEAM_GETS = ("/ui/teams/{team}", "/ui/teams/{team}?after=a", "/ui/teams/{team}/delete")
TEAM_POSTS = (
    ("/ui/teams/{team}/delete", {}),
    ("/ui/teams/{team}/members", {"username": "alice", "role": "owner"}),
    ("/ui/teams/{team}/members/alice/role", {"role": "owner"}),
    ("/ui/teams/{team}/members/alice/remove", {}),
    ("/ui/teams/{team}/members/bob/remove", {}),
    ("/ui/teams/{team}/namespaces", {"name": "own__new", "visibility": "private"}),
    ("/ui/teams/own/namespaces/own__ns/team", {"team": "{team}"}),
)
TEAM_API = (
    ("GET", "/api/v1/teams/{team}", None),
    ("GET", "/api/v1/teams/{team}/members", None),
    ("GET", "/api/v1/teams/{team}/members?after=a", None),
    ("DELETE", "/api/v1/teams/{team}", None),
    ("PUT", "/api/v1/teams/{team}/members/alice", {"role": "owner"}),
    ("DELETE", "/api/v1/teams/{team}/members/alice", None),
    ("DELETE", "/api/v1/teams/{team}/members/bob", None),
    ("POST", "/api/v1/namespaces", {"name": "own__new", "team": "{team}"}),
    ("PATCH", "/api/v1/namespaces/own__ns", {"team": "{team}"}),
)


async def _team_answer(
    client: aiohttp.ClientSession, gateway: Gateway, method: str, path: str, fields: dict[str, str] | None, team: str,
    *, api: bool = False,
) -> tuple[int, str, str, str]:
    """Status, Location, Content-Type and body of one request about `team`, the name swapped for a placeholder."""
    url = gateway.url + path.format(team=team)
    sent = None if fields is None else {k: v.format(team=team) for k, v in fields.items()}
    if api:
        options: dict[str, object] = {"json": sent, "headers": {"Authorization": aiohttp.encode_basic_auth("alice", USERS["alice"])}}
    else:
        options = {"data": sent, "headers": {"Origin": gateway.url} if method == "POST" else {}}
    async with client.request(method, url, allow_redirects=False, **options) as response:
        swapped = [value.replace(team, "<team>") for value in (
            response.headers.get("Location", ""), response.headers.get("Content-Type", ""), await response.text())]
        return response.status, swapped[0], swapped[1], swapped[2]


async def test_a_team_the_caller_may_not_read_answers_as_a_team_never_made(
    secret: tuple[Gateway, str], session: aiohttp.ClientSession,
) -> None:
    """alice, in no team but her own, about hiddenteam (bob's) and hiddenteax (nobody's): pages,
    forms and API calls alike; all are 404, so the sweep is not comparing two successes."""
    gateway, _ = secret
    csrf = await _sign_in(session, gateway, "alice")
    requests = [("GET", path, None, False) for path in TEAM_GETS]
    requests += [("POST", path, {"csrf": csrf, **fields}, False) for path, fields in TEAM_POSTS]
    requests += [(method, path, body, True) for method, path, body in TEAM_API]
    differing, statuses = [], set()
    for method, path, fields, api in requests:
        hidden = await _team_answer(session, gateway, method, path, fields, TEAM, api=api)
        absent = await _team_answer(session, gateway, method, path, fields, NO_TEAM, api=api)
        statuses.add(hidden[0])
        if hidden != absent:
            differing.append((method, path, hidden[:2], absent[:2]))
    assert differing == []
    assert statuses == {404}


async def test_a_member_reads_the_team_and_is_refused_only_what_owners_do(
    secret: tuple[Gateway, str], session: aiohttp.ClientSession,
) -> None:
    """bob, hiddenteam's viewer: he sees it, so a 403 on its owners' actions tells him nothing new."""
    gateway, _ = secret
    csrf = await _sign_in(session, gateway, "bob")
    async with session.get(f"{gateway.url}/ui/teams/{TEAM}") as response:
        assert response.status == 200
    for path, fields in TEAM_POSTS[:3]:
        async with session.post(
            gateway.url + path.format(team=TEAM), data={"csrf": csrf, **fields}, headers={"Origin": gateway.url},
            allow_redirects=False,
        ) as response:
            assert response.status == 403, path
    bob = {"Authorization": aiohttp.encode_basic_auth("bob", USERS["bob"])}
    async with session.get(f"{gateway.url}/api/v1/teams/{TEAM}", headers=bob) as response:
        assert response.status == 200
    async with session.delete(f"{gateway.url}/api/v1/teams/{TEAM}", headers=bob) as response:
        assert response.status == 403


def test_the_team_sweep_covers_every_route_that_takes_a_team() -> None:
    """A new page or form taking a team must join TEAM_GETS or TEAM_POSTS above."""
    swept = {p.split("?")[0] for p in TEAM_GETS} | {p for p, _ in TEAM_POSTS}
    taking = {"/ui" + path.replace("{user}", "alice") for path, _ in ui_routes() if "{team}" in path and "{namespace}" not in path}
    assert taking - swept == set()


def test_the_sweep_covers_every_route_that_takes_a_name() -> None:
    """A new page or form taking a namespace or repository must join GETS or POSTS above."""
    swept = {p.split("?")[0] for p in GETS} | {p for p, _ in POSTS}
    taking = {
        path.replace("{namespace}", "{ns}").replace("{name}", "{repo}").replace("{team}", "own")
        for path, _ in ui_routes()
        if "{namespace}" in path or ("{name" in path and "repositories" in path)
    }
    taking |= {"/manifests/delete", "/tags/delete", "/teams/own/namespaces"}
    missing = {p for p in taking if f"/ui{p}" not in swept}
    assert missing == set()

