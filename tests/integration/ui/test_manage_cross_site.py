"""The management forms refuse what a hostile page would send (plain aiohttp, as
test_cross_site.py does): no form token, or a foreign Origin, changes nothing; the same form
from our own page with the token works. The webhook forms also refuse a signed-in non-admin."""

from __future__ import annotations

import base64
import re
import time

import aiohttp

from tests.support.client import USERS
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
        ):
            status, body = await _post(session, url, data, jar, gateway.url)
            assert status == 403 and message in body and 'name="csrf"' not in body.split("<main", 1)[1]
        assert (await _webhook_status(session, gateway, f"{name}-new"))[0] == 404
        _, hook = await _webhook_status(session, gateway, name)
        assert hook["url"] == "http://127.0.0.1:9/hook"
