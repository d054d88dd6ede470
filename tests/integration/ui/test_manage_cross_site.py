"""The management forms refuse what a hostile page would send (plain aiohttp, as
test_cross_site.py does): no form token, or a foreign Origin, changes nothing; the same form
from our own page with the token works."""

from __future__ import annotations

import re
import time

import aiohttp

from tests.support.client import USERS
from tests.support.processes import Gateway

FOREIGN = "http://evil.example"
_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


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
