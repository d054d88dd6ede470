"""Cross-site requests against the UI's forms, sent as a hostile page would (plain aiohttp):
a foreign Origin, no Origin at all, or no form token is refused with a readable 403 page and
changes nothing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from tests.integration.ui.conftest import NO_ADMIN, setup_url, ui_routes
from tests.support.client import USERS
from tests.support.processes import Gateway
from tests.support.waiting import eventually_async

FOREIGN = "http://evil.example"
_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """Cookies are handled by hand (the jar ignores 127.0.0.1), redirects are not followed."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def _form(client: aiohttp.ClientSession, url: str, cookies: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The form token on a page and the cookies to send with it."""
    jar = dict(cookies or {})
    async with client.get(url, headers=_cookie_header(jar)) as response:
        text = await response.text()
        jar.update({name: morsel.value for name, morsel in response.cookies.items()})
    found = _TOKEN.search(text)
    assert found is not None, text
    return found.group(1), jar


def _cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}


async def _post(
    client: aiohttp.ClientSession, url: str, data: dict[str, str], jar: dict[str, str], origin: str | None,
) -> tuple[int, str, dict[str, str]]:
    headers = _cookie_header(jar) | ({"Origin": origin} if origin is not None else {})
    async with client.post(url, data=data, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text(), {n: m.value for n, m in response.cookies.items()}


async def _signed_in(client: aiohttp.ClientSession, gateway: Gateway, user: str) -> dict[str, str]:
    return await _signed_in_as(client, gateway, user, USERS[user])


async def _signed_in_as(client: aiohttp.ClientSession, gateway: Gateway, user: str, password: str) -> dict[str, str]:
    token, jar = await _form(client, f"{gateway.url}/ui/login")
    status, _, cookies = await _post(
        client, f"{gateway.url}/ui/login", {"csrf": token, "username": user, "password": password}, jar, gateway.url,
    )
    assert status == 303 and cookies.get("portus_session"), status
    return {"portus_session": cookies["portus_session"]}


async def _is_signed_in(client: aiohttp.ClientSession, gateway: Gateway, jar: dict[str, str]) -> bool:
    async with client.get(f"{gateway.url}/ui/", headers=_cookie_header(jar), allow_redirects=False) as response:
        return response.status == 200


def _refused(status: int, body: str) -> bool:
    return status == 403 and body.lstrip().startswith("<!doctype html>") and "refused" in body


@pytest.mark.parametrize(("origin", "with_token"), [(FOREIGN, True), (None, True), ("null", True), ("own", False)])
async def test_a_sign_in_from_elsewhere_or_without_the_token_is_refused(
    gateway: Gateway, client: aiohttp.ClientSession, origin: str | None, with_token: bool,
) -> None:
    token, jar = await _form(client, f"{gateway.url}/ui/login")
    data = {"username": "alice", "password": USERS["alice"]} | ({"csrf": token} if with_token else {})
    status, body, cookies = await _post(client, f"{gateway.url}/ui/login", data, jar, gateway.url if origin == "own" else origin)
    assert _refused(status, body), (status, body)
    assert "portus_session" not in cookies


async def test_a_sign_in_with_the_referer_of_our_own_page_is_accepted(gateway: Gateway, client: aiohttp.ClientSession) -> None:
    token, jar = await _form(client, f"{gateway.url}/ui/login")
    headers = _cookie_header(jar) | {"Referer": f"{gateway.url}/ui/login"}
    data = {"csrf": token, "username": "alice", "password": USERS["alice"]}
    async with client.post(f"{gateway.url}/ui/login", data=data, headers=headers, allow_redirects=False) as response:
        assert response.status == 303 and "portus_session" in response.cookies


async def test_a_cross_site_sign_out_leaves_the_session(gateway: Gateway, client: aiohttp.ClientSession) -> None:
    jar = await _signed_in(client, gateway, "bob")
    token, _ = await _form(client, f"{gateway.url}/ui/", jar)
    status, body, _ = await _post(client, f"{gateway.url}/ui/logout", {"csrf": token}, jar, FOREIGN)
    assert _refused(status, body)
    status, body, _ = await _post(client, f"{gateway.url}/ui/logout", {}, jar, gateway.url)
    assert _refused(status, body)
    status, body, _ = await _post(client, f"{gateway.url}/ui/logout", {"csrf": "x" * len(token)}, jar, gateway.url)
    assert _refused(status, body)
    assert await _is_signed_in(client, gateway, jar)
    status, _, _ = await _post(client, f"{gateway.url}/ui/logout", {"csrf": token}, jar, gateway.url)
    assert status == 303 and not await _is_signed_in(client, gateway, jar)


async def test_the_pre_session_token_of_another_browser_does_not_count(gateway: Gateway, client: aiohttp.ClientSession) -> None:
    """Login CSRF: an attacker's own token is useless without the victim's cookie of the same value."""
    attackers_token, _ = await _form(client, f"{gateway.url}/ui/login")
    _, victims_jar = await _form(client, f"{gateway.url}/ui/login")
    data = {"csrf": attackers_token, "username": "alice", "password": USERS["alice"]}
    status, body, cookies = await _post(client, f"{gateway.url}/ui/login", data, victims_jar, gateway.url)
    assert _refused(status, body) and "portus_session" not in cookies


async def test_a_cross_site_setup_creates_no_admin(make_gateway: Callable[..., Gateway], client: aiohttp.ClientSession) -> None:
    fresh = make_gateway(NO_ADMIN, add_users=False)
    url = setup_url(fresh)
    token, jar = await _form(client, url)
    code = url.split("code=", 1)[1]
    data = {"code": code, "username": "intruder", "password": "a-long-password", "password_again": "a-long-password"}
    status, body, _ = await _post(client, f"{fresh.url}/ui/setup", {"csrf": token, **data}, jar, FOREIGN)
    assert _refused(status, body)
    status, body, _ = await _post(client, f"{fresh.url}/ui/setup", data, jar, fresh.url)
    assert _refused(status, body)
    async with client.get(url) as response:
        assert response.status == 200  # still open: nothing was created, the code is unused
    status, _, cookies = await _post(client, f"{fresh.url}/ui/setup", {"csrf": token, **data}, jar, fresh.url)
    assert status == 303 and "portus_session" in cookies


async def test_behind_a_tls_proxy_the_cookie_is_secure_and_the_public_origin_counts(
    make_gateway: Callable[..., Gateway], client: aiohttp.ClientSession,
) -> None:
    public = "https://registry.example"
    proxied = make_gateway({"GATEWAY_PUBLIC_URL": public})
    token, jar = await _form(client, f"{proxied.url}/ui/login")
    data = {"csrf": token, "username": "alice", "password": USERS["alice"]}
    status, body, _ = await _post(client, f"{proxied.url}/ui/login", data, jar, proxied.url)
    assert _refused(status, body)  # the address behind the proxy is not the gateway's origin
    headers = _cookie_header(jar) | {"Origin": public}
    async with client.post(f"{proxied.url}/ui/login", data=data, headers=headers, allow_redirects=False) as response:
        assert response.status == 303
        cookie = response.cookies["portus_session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/ui"


async def test_a_deleted_and_recreated_user_does_not_inherit_the_old_session(
    make_gateway: Callable[..., Gateway], client: aiohttp.ClientSession,
) -> None:
    own = make_gateway()
    jar = await _signed_in(client, own, "alice")
    assert await _is_signed_in(client, own, jar)
    # Rows count whole seconds: the new alice must be born in a later second than the session
    # (within the same one only the revocation view, refreshed when the store changes, would tell).
    await asyncio.sleep(1.1)
    own.cli("user", "delete", "alice")
    own.add_user("alice", USERS["alice"])
    assert not await _is_signed_in(client, own, jar)


def _post_paths() -> list[str]:
    """Every route of the UI that takes a POST, its parameters filled in (from the router: a new form is swept too)."""
    return sorted("/ui" + re.sub(r"\{[a-z]+\}", "alice", template) for template, methods in ui_routes() if "POST" in methods)


async def test_every_form_refuses_a_cross_site_post_and_one_without_the_token(gateway: Gateway, client: aiohttp.ClientSession) -> None:
    """Signed in as an admin (who may do anything): from another origin, even with the right
    token, and from our own origin without it, every POST route answers the refusal page."""
    jar = await _signed_in_as(client, gateway, *Gateway.ADMIN)
    token, _ = await _form(client, f"{gateway.url}/ui/", jar)
    paths = _post_paths()
    assert len(paths) >= 25 and "/ui/users/alice/delete" in paths
    for path in paths:
        for data, origin in (({"csrf": token}, FOREIGN), ({"csrf": token}, None), ({}, gateway.url)):
            status, body, _ = await _post(client, gateway.url + path, data, jar, origin)
            assert _refused(status, body), (path, origin, status)
    assert await _is_signed_in(client, gateway, jar)
    async with client.get(f"{gateway.url}/api/v1/users/alice", headers={"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}) as response:
        assert response.status == 200  # alice, whose delete form was posted, is still there


async def test_a_password_set_by_another_process_ends_the_web_sessions(
    make_gateway: Callable[..., Gateway], client: aiohttp.ClientSession,
) -> None:
    """`portus-gateway user passwd` runs in its own process: it ends the session rows in the
    store, and the serving process's revocation view (refreshed through the store's change watch)
    would end them too; either suffices, without both the session lives on."""
    own = make_gateway()
    jar = await _signed_in(client, own, "alice")
    assert await _is_signed_in(client, own, jar)
    await asyncio.to_thread(own.cli, "user", "passwd", "alice", "--password-stdin", stdin="another-long-password\n")

    async def signed_in() -> bool:
        return await _is_signed_in(client, own, jar)

    assert await eventually_async(signed_in, lambda still: not still, timeout=10) is False
    async with client.get(f"{own.url}/ui/", headers=_cookie_header(jar), allow_redirects=False) as response:
        assert response.status == 302 and response.headers["Location"].startswith("/ui/login")
    status, _, cookies = await _post(client, f"{own.url}/ui/login", *await _login_form(client, own, "another-long-password"), own.url)
    assert status == 303 and cookies.get("portus_session")  # the new password opens a new session


async def _login_form(client: aiohttp.ClientSession, gateway: Gateway, password: str) -> tuple[dict[str, str], dict[str, str]]:
    token, jar = await _form(client, f"{gateway.url}/ui/login")
    return {"csrf": token, "username": "alice", "password": password}, jar
