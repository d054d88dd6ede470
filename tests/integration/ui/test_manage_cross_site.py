"""The management forms refuse what a hostile page would send (plain aiohttp, as
test_cross_site.py does): no form token, or a foreign Origin, changes nothing; the same form
from our own page with the token works (the token, webhook, webhook redelivery, team, user-delete
and namespace settings forms). The webhook forms also refuse a signed-in non-admin; the team and user
deletions and the namespace move, with a valid token, give the service's refusal (and no form)
to who may not."""

from __future__ import annotations

import base64
import html
import re
import time

import aiohttp

from gateway.store import WebhookDelivery, open_store
from tests.support.client import USERS, bearer
from tests.support.images import push_image
from tests.support.processes import Gateway

FOREIGN = "http://evil.example"
_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
ADMIN_AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(Gateway.ADMIN).encode()).decode()}


def _cookies(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


async def _page(session: aiohttp.ClientSession, url: str, jar: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A page's text and the cookies to send after it (the jar of the request, updated)."""
    async with session.get(url, headers=_cookies(jar) if jar else {}, allow_redirects=False) as response:
        text = await response.text()
        return text, {**jar, **{name: morsel.value for name, morsel in response.cookies.items()}}


async def _post(session: aiohttp.ClientSession, url: str, data: dict[str, str], jar: dict[str, str], origin: str) -> tuple[int, str]:
    """Post `data` from `origin`; `jar` takes the cookies the answer sets."""
    headers = {**_cookies(jar), "Origin": origin}
    async with session.post(url, data=data, headers=headers, allow_redirects=False) as response:
        jar.update({name: morsel.value for name, morsel in response.cookies.items()})
        return response.status, await response.text()


def _token(text: str) -> str:
    found = _TOKEN.search(text)
    assert found is not None, text
    return found.group(1)


async def test_a_token_form_without_the_form_token_or_from_elsewhere_creates_nothing(gateway: Gateway) -> None:
    name = f"forged-{time.time_ns()}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        text, jar = await _page(session, f"{gateway.url}/ui/login", {})
        status, _ = await _post(
            session, f"{gateway.url}/ui/login", {"csrf": _token(text), "username": "alice", "password": USERS["alice"]}, jar, gateway.url,
        )
        assert status == 303 and "portus_session" in jar
        page, jar = await _page(session, f"{gateway.url}/ui/tokens", jar)
        token = _token(page)
        form = {"name": name, "actions": "push", "expires": "7d"}

        for data, origin in (({**form}, gateway.url), ({**form, "csrf": token}, FOREIGN), ({**form, "csrf": "x" * len(token)}, gateway.url)):
            status, body = await _post(session, f"{gateway.url}/ui/tokens", data, jar, origin)
            assert status == 403 and "refused" in body and "pgat_" not in body
        page, _ = await _page(session, f"{gateway.url}/ui/tokens", jar)
        assert name not in page

        status, body = await _post(session, f"{gateway.url}/ui/tokens", {**form, "csrf": token}, jar, gateway.url)
        assert status == 200 and "pgat_" in body
        page, _ = await _page(session, f"{gateway.url}/ui/tokens", jar)
        assert name in page


async def _signed_in(session: aiohttp.ClientSession, gateway: Gateway, user: str, password: str) -> dict[str, str]:
    text, jar = await _page(session, f"{gateway.url}/ui/login", {})
    status, _ = await _post(session, f"{gateway.url}/ui/login", {"csrf": _token(text), "username": user, "password": password}, jar, gateway.url)
    assert status == 303 and "portus_session" in jar
    return jar


async def _webhook_status(session: aiohttp.ClientSession, gateway: Gateway, name: str) -> tuple[int, dict[str, object]]:
    async with session.get(f"{gateway.url}/api/v1/webhooks/{name}", headers=ADMIN_AUTH) as response:
        return response.status, await response.json() if response.status == 200 else {}


async def test_the_webhook_forms_without_the_form_token_or_from_elsewhere_change_nothing(gateway: Gateway) -> None:
    name = f"forged-hook-{time.time_ns()}"
    hooks = f"{gateway.url}/ui/webhooks"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        jar = await _signed_in(session, gateway, *Gateway.ADMIN)
        page, jar = await _page(session, hooks, jar)
        token = _token(page)
        forgeries = (({}, gateway.url), ({"csrf": token}, FOREIGN), ({"csrf": "x" * len(token)}, gateway.url))
        new = {"name": name, "url": "http://127.0.0.1:9/hook", "secret": "a-secret-value", "actions": "push"}

        for extra, origin in forgeries:
            status, body = await _post(session, hooks, {**new, **extra}, jar, origin)
            assert status == 403 and "refused" in body
        assert (await _webhook_status(session, gateway, name))[0] == 404
        status, _ = await _post(session, hooks, {**new, "csrf": token}, jar, gateway.url)
        assert status == 303 and (await _webhook_status(session, gateway, name))[0] == 200

        edit = {"url": "http://127.0.0.1:9/forged", "repository_pattern": "forged/*"}
        for extra, origin in forgeries:
            status, body = await _post(session, f"{hooks}/{name}", {**edit, **extra}, jar, origin)
            assert status == 403 and "refused" in body
            status, body = await _post(session, f"{hooks}/{name}/delete", extra, jar, origin)
            assert status == 403 and "refused" in body
        _, hook = await _webhook_status(session, gateway, name)
        assert (hook["url"], hook["repository_pattern"]) == ("http://127.0.0.1:9/hook", "")

        status, _ = await _post(session, f"{hooks}/{name}", {**edit, "csrf": token}, jar, gateway.url)
        _, hook = await _webhook_status(session, gateway, name)
        assert status == 303 and (hook["url"], hook["repository_pattern"]) == ("http://127.0.0.1:9/forged", "forged/*")
        status, _ = await _post(session, f"{hooks}/{name}/delete", {"csrf": token}, jar, gateway.url)
        assert status == 303 and (await _webhook_status(session, gateway, name))[0] == 404


async def test_sending_one_delivery_again_without_the_form_token_or_from_elsewhere_queues_nothing(gateway: Gateway) -> None:
    name = f"forged-again-{time.time_ns()}"
    hooks = f"{gateway.url}/ui/webhooks"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.post(
            f"{gateway.url}/api/v1/webhooks", headers=ADMIN_AUTH,
            json={"name": name, "url": "http://127.0.0.1:9/hook", "secret": "a-secret-value", "actions": ["delete"]},
        ) as response:
            assert response.status == 201
        store = await open_store(f"sqlite:///{gateway.workdir / 'data' / 'gateway.db'}")
        try:  # a delivery as the dispatcher records it (of an event that is no longer in the log)
            await store.record_webhook_delivery(WebhookDelivery(name, (10**12,), 200, None, 1, False, int(time.time())), 50)
            (delivery,) = await store.webhook_deliveries(name)
        finally:
            await store.close()
        jar = await _signed_in(session, gateway, *Gateway.ADMIN)
        page, jar = await _page(session, f"{hooks}/{name}", jar)
        action = f"/ui/webhooks/{name}/deliveries/{delivery.id}/redeliver"
        assert f'action="{action}"' in page
        await _forgeries_change_nothing(session, f"{gateway.url}{action}", {}, jar, _token(page), gateway)
        async with session.get(f"{gateway.url}/api/v1/webhooks/{name}/failures", headers=ADMIN_AUTH) as response:
            assert (await response.json())["items"] == []
        status, _ = await _post(session, f"{gateway.url}{action}", {"csrf": _token(page)}, jar, gateway.url)
        assert status == 303


async def test_a_non_admin_posting_the_webhook_forms_is_refused(gateway: Gateway) -> None:
    name = f"not-alices-{time.time_ns()}"
    hooks = f"{gateway.url}/ui/webhooks"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.post(
            f"{gateway.url}/api/v1/webhooks", headers=ADMIN_AUTH,
            json={"name": name, "url": "http://127.0.0.1:9/hook", "secret": "a-secret-value"},
        ) as response:
            assert response.status == 201
        jar = await _signed_in(session, gateway, "alice", USERS["alice"])
        page, jar = await _page(session, f"{gateway.url}/ui/tokens", jar)
        token = _token(page)
        created = {"name": f"{name}-new", "url": "http://127.0.0.1:9/hook", "secret": "a-secret-value", "csrf": token}
        for url, data, message in (
            (hooks, created, "only admins may create webhooks"),
            (f"{hooks}/{name}", {"url": "http://127.0.0.1:9/alice", "csrf": token}, "only admins may change webhooks"),
            (f"{hooks}/{name}/delete", {"csrf": token}, "only admins may delete webhooks"),
            (f"{hooks}/{name}/deliveries/1/redeliver", {"csrf": token}, "only admins may redeliver webhook events"),
        ):
            status, body = await _post(session, url, data, jar, gateway.url)
            assert status == 403 and message in body and 'name="csrf"' not in body.split("<main", 1)[1]
        assert (await _webhook_status(session, gateway, f"{name}-new"))[0] == 404
        _, hook = await _webhook_status(session, gateway, name)
        assert hook["url"] == "http://127.0.0.1:9/hook"


async def _api(session: aiohttp.ClientSession, gateway: Gateway, method: str, path: str, auth: dict[str, str], body: object = None) -> tuple[int, object]:
    async with session.request(method, f"{gateway.url}/api/v1{path}", headers=auth, json=body) as response:
        return response.status, await response.json() if response.status != 204 else None


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def _forgeries_change_nothing(
    session: aiohttp.ClientSession, url: str, data: dict[str, str], jar: dict[str, str], token: str, gateway: Gateway,
) -> None:
    for extra, origin in (({}, gateway.url), ({"csrf": token}, FOREIGN), ({"csrf": "x" * len(token)}, gateway.url)):
        status, body = await _post(session, url, {**data, **extra}, jar, origin)
        assert status == 403 and "refused" in body


async def test_the_team_forms_without_the_form_token_or_from_elsewhere_change_nothing(gateway: Gateway) -> None:
    team, target = f"forged{time.time_ns() % 10**9}", f"forgedto{time.time_ns() % 10**9}"
    namespace = f"{team}__app"
    alice = _basic("alice", USERS["alice"])
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        for name in (team, target):
            assert (await _api(session, gateway, "POST", "/teams", alice, {"name": name}))[0] == 201
        assert (await _api(session, gateway, "POST", "/namespaces", alice, {"name": namespace, "team": team}))[0] == 201
        jar = await _signed_in(session, gateway, "alice", USERS["alice"])
        page, jar = await _page(session, f"{gateway.url}/ui/teams/{team}", jar)
        token = _token(page)
        move = f"{gateway.url}/ui/teams/{team}/namespaces/{namespace}/team"
        await _forgeries_change_nothing(session, move, {"team": target}, jar, token, gateway)
        await _forgeries_change_nothing(session, f"{gateway.url}/ui/teams/{team}/delete", {}, jar, token, gateway)
        _, shown = await _api(session, gateway, "GET", f"/namespaces/{namespace}", alice)
        assert isinstance(shown, dict) and shown["team"] == team
        assert (await _api(session, gateway, "GET", f"/teams/{team}", alice))[0] == 200

        status, _ = await _post(session, move, {"team": target, "csrf": token}, jar, gateway.url)
        _, shown = await _api(session, gateway, "GET", f"/namespaces/{namespace}", alice)
        assert status == 303 and isinstance(shown, dict) and shown["team"] == target
        status, _ = await _post(session, f"{gateway.url}/ui/teams/{team}/delete", {"csrf": token}, jar, gateway.url)
        assert status == 303 and (await _api(session, gateway, "GET", f"/teams/{team}", alice))[0] == 404


async def test_the_user_delete_form_without_the_form_token_or_from_elsewhere_deletes_nobody(gateway: Gateway) -> None:
    name = f"forgedvictim{time.time_ns() % 10**9}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        assert (await _api(session, gateway, "POST", "/users", ADMIN_AUTH, {"name": name, "password": "victim-password-1"}))[0] == 201
        jar = await _signed_in(session, gateway, *Gateway.ADMIN)
        page, jar = await _page(session, f"{gateway.url}/ui/users/{name}/delete", jar)
        token = _token(page)
        await _forgeries_change_nothing(session, f"{gateway.url}/ui/users/{name}/delete", {}, jar, token, gateway)
        assert (await _api(session, gateway, "GET", f"/users/{name}", ADMIN_AUTH))[0] == 200
        status, _ = await _post(session, f"{gateway.url}/ui/users/{name}/delete", {"csrf": token}, jar, gateway.url)
        assert status == 303 and (await _api(session, gateway, "GET", f"/users/{name}", ADMIN_AUTH))[0] == 404


async def test_who_may_not_posting_the_new_forms_is_refused_with_the_services_message(gateway: Gateway) -> None:
    """With a valid form token: the service, not the form, says no, and the page offers no form."""
    team, others = f"notbobs{time.time_ns() % 10**9}", f"bobsown{time.time_ns() % 10**9}"
    namespace = f"{team}__app"
    alice, bob = _basic("alice", USERS["alice"]), _basic("bob", USERS["bob"])
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        assert (await _api(session, gateway, "POST", "/teams", alice, {"name": team}))[0] == 201
        assert (await _api(session, gateway, "POST", "/namespaces", alice, {"name": namespace, "team": team}))[0] == 201
        assert (await _api(session, gateway, "PUT", f"/teams/{team}/members/bob", alice, {"role": "contributor"}))[0] in (200, 201)
        assert (await _api(session, gateway, "POST", "/teams", bob, {"name": others}))[0] == 201
        assert (await _api(session, gateway, "PUT", f"/teams/{others}/members/alice", bob, {"role": "contributor"}))[0] in (200, 201)
        bob_jar = await _signed_in(session, gateway, "bob", USERS["bob"])
        page, bob_jar = await _page(session, f"{gateway.url}/ui/tokens", bob_jar)
        bob_token = _token(page)
        alice_jar = await _signed_in(session, gateway, "alice", USERS["alice"])
        page, alice_jar = await _page(session, f"{gateway.url}/ui/tokens", alice_jar)
        alice_token = _token(page)
        admin_jar = await _signed_in(session, gateway, *Gateway.ADMIN)
        page, admin_jar = await _page(session, f"{gateway.url}/ui/users", admin_jar)
        admin_token = _token(page)
        move = f"{gateway.url}/ui/teams/{team}/namespaces/{namespace}/team"
        hostile = '<b id="injected">x</b>'
        for jar, url, data, status_wanted, message in (
            (bob_jar, f"{gateway.url}/ui/teams/{team}/delete", {"csrf": bob_token}, 403,
             f"only owners of team {team!r} and admins may delete this team"),
            (bob_jar, move, {"team": others, "csrf": bob_token}, 403,
             f"only owners of team {team!r} and admins may change this namespace"),
            (alice_jar, move, {"team": others, "csrf": alice_token}, 403,
             f"only owners of team {others!r} and admins may move namespaces into it"),
            (bob_jar, f"{gateway.url}/ui/users/alice/delete", {"csrf": bob_token}, 403,
             "only 'alice' themself or an admin may delete this user"),
            (admin_jar, f"{gateway.url}/ui/users/{Gateway.ADMIN[0]}/delete", {"csrf": admin_token}, 403,
             "admins may not delete themselves; ask another admin"),
            (alice_jar, move, {"team": hostile, "csrf": alice_token}, 400, "not a valid team name"),
        ):
            status, body = await _post(session, url, data, jar, gateway.url)
            main = body.split("<main", 1)[1]
            assert status == status_wanted and message in html.unescape(main) and "<form" not in main, (url, status, body)
            assert "<b id=" not in main
        _, shown = await _api(session, gateway, "GET", f"/namespaces/{namespace}", alice)
        assert isinstance(shown, dict) and shown["team"] == team
        assert (await _api(session, gateway, "GET", f"/teams/{team}", alice))[0] == 200
        assert (await _api(session, gateway, "GET", "/users/alice", ADMIN_AUTH))[0] == 200


async def test_the_tag_forms_without_the_form_token_or_from_elsewhere_change_nothing(gateway: Gateway) -> None:
    """Deleting a tag and setting immutable tags: a forged post changes nothing; alice's own works."""
    team = f"forgedtags{time.time_ns() % 10**9}"
    namespace, repository = f"{team}__app", f"{team}__app/img"
    alice = _basic("alice", USERS["alice"])
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        assert (await _api(session, gateway, "POST", "/teams", alice, {"name": team}))[0] == 201
        assert (await _api(session, gateway, "POST", "/namespaces", alice, {"name": namespace, "team": team}))[0] == 201
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repository}:pull,push")
        for tag in ("a", "b"):
            await push_image(session, gateway.url, repository, tag, headers, seed=repository)
        jar = await _signed_in(session, gateway, "alice", USERS["alice"])
        page, jar = await _page(session, f"{gateway.url}/ui/namespaces/{namespace}", jar)
        token = _token(page)
        immutable = f"{gateway.url}/ui/namespaces/{namespace}/immutable-tags"
        delete = f"{gateway.url}/ui/tags/delete"
        await _forgeries_change_nothing(session, immutable, {"immutable_tags": "*"}, jar, token, gateway)
        await _forgeries_change_nothing(session, delete, {"repository": repository, "tag": "a"}, jar, token, gateway)
        _, shown = await _api(session, gateway, "GET", f"/namespaces/{namespace}", alice)
        assert isinstance(shown, dict) and shown["immutable_tags"] == []
        _, listed = await _api(session, gateway, "GET", f"/repositories/{repository}/tags", alice)
        assert isinstance(listed, dict) and [t["name"] for t in listed["items"]] == ["a", "b"]

        status, _ = await _post(session, delete, {"repository": repository, "tag": "a", "csrf": token}, jar, gateway.url)
        _, listed = await _api(session, gateway, "GET", f"/repositories/{repository}/tags", alice)
        assert status == 303 and isinstance(listed, dict) and [t["name"] for t in listed["items"]] == ["b"]
        status, _ = await _post(session, immutable, {"immutable_tags": "b*", "csrf": token}, jar, gateway.url)
        _, shown = await _api(session, gateway, "GET", f"/namespaces/{namespace}", alice)
        assert status == 303 and isinstance(shown, dict) and shown["immutable_tags"] == ["b*"]


async def test_the_namespace_settings_form_without_the_form_token_or_from_elsewhere_changes_nothing(gateway: Gateway) -> None:
    name, password = f"forgedns{time.time_ns() % 10**9}", "own-namespace-pw-1"
    own = _basic(name, password)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        assert (await _api(session, gateway, "POST", "/users", ADMIN_AUTH, {"name": name, "password": password}))[0] == 201
        jar = await _signed_in(session, gateway, name, password)
        settings = f"{gateway.url}/ui/namespaces/{name}/settings"
        page, jar = await _page(session, settings, jar)
        token = _token(page)
        await _forgeries_change_nothing(session, settings, {"visibility": "public"}, jar, token, gateway)
        _, shown = await _api(session, gateway, "GET", f"/namespaces/{name}", own)
        assert isinstance(shown, dict) and shown["visibility"] == "private"
        status, _ = await _post(session, settings, {"visibility": "public", "csrf": token}, jar, gateway.url)
        _, shown = await _api(session, gateway, "GET", f"/namespaces/{name}", own)
        assert status == 303 and isinstance(shown, dict) and shown["visibility"] == "public"
