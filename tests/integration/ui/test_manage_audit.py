"""The audit log page in the browser: filters, newest first, paged with the service's cursor
(the "Older events" link keeps the filters); a user never sees another user's private
repository there, nor an event number whose gaps would count its events; an admin sees
everything. A page that ran out of rows to read before it found any says so and links on, in
plain HTML."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from gateway.auth.sealing import PREFIX
from gateway.events.model import Event, RequestInfo, Target, new_event_id
from gateway.events.recorder import to_row
from gateway.services.events import MAX_ROWS_READ
from gateway.store import open_store
from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.integration.ui.pushing import push_images
from tests.support.client import USERS
from tests.support.processes import Gateway


def _column(page: Any, name: str) -> list[str]:
    return list(page.locator(f".event-row .event-{name}").all_inner_texts())


def _events_shown(page: Any, url: str, count: int, timeout: float = 20.0) -> None:
    """Reload `url` until it shows `count` events (a push is recorded a moment after it answered)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if len(_column(page, "action")) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(_column(page, "action")) == count


def test_the_audit_log_filters_pages_and_hides_other_users_private_repositories(
    make_gateway: Callable[..., Gateway], new_page: Callable[[], Any],
) -> None:
    own = make_gateway()
    push_images(own, [("alice", "alice/shown", "v1"), ("alice", "alice/shown", "v2"), ("alice", "alice/shown", "v3"), ("bob", "bob/hidden", "x")])
    admin = new_page()
    sign_in(admin, own, *Gateway.ADMIN)
    _events_shown(admin, f"{own.url}/ui/audit?action=push", 4)
    assert _column(admin, "repository") == ["bob/hidden", "alice/shown", "alice/shown", "alice/shown"]
    admin.fill("#filter-actor", "bob")
    admin.click("button:text('Show events')")
    assert _column(admin, "actor") == ["bob"] and "actor=bob" in admin.url
    assert_accessible(admin)

    alice = new_page()
    sign_in(alice, own, "alice", USERS["alice"])
    alice.goto(f"{own.url}/ui/audit")
    assert set(_column(alice, "repository")) == {"alice/shown"}
    assert "bob/hidden" not in alice.content()
    alice.goto(f"{own.url}/ui/audit?actor=bob")
    assert _column(alice, "action") == [] and "bob/hidden" not in alice.content()
    assert_accessible(alice)

    alice.goto(f"{own.url}/ui/audit?action=push&limit=2")
    assert alice.locator(".event-row td:nth-child(4)").all_inner_texts() == ["v3", "v2"]
    alice.click("a:text('Older events')")
    assert "action=push" in alice.url and "limit=2" in alice.url
    assert alice.locator(".event-row td:nth-child(4)").all_inner_texts() == ["v1"]
    assert alice.locator("a:text('Older events')").count() == 0

    alice.goto(f"{own.url}/ui/audit?until=2000-01-01")
    assert _column(alice, "action") == [] and alice.locator("text=No events match these filters").count() == 1
    response = alice.goto(f"{own.url}/ui/audit?since=yesterday")
    assert response is not None and response.status == 400
    assert alice.locator(".error").inner_text() == "from must be a date like 2024-05-31"
    assert_accessible(alice)


def _older_before(page: Any) -> str:
    """The `before` of the page's "Older events" link."""
    return URL(page.locator("a:text('Older events')").get_attribute("href")).query["before"]


def test_a_users_older_events_link_carries_a_cursor_and_event_numbers_are_refused(
    make_gateway: Callable[..., Gateway], new_page: Callable[[], Any], database_url: str,
) -> None:
    own = make_gateway({"GATEWAY_DATABASE_URL": database_url})
    push_images(own, [("alice", "alice/shown", "v1"), ("bob", "bob/hidden", "x"), ("alice", "alice/shown", "v2"),
                      ("bob", "bob/hidden", "y"), ("alice", "alice/shown", "v3")])
    admin = new_page()
    sign_in(admin, own, *Gateway.ADMIN)
    _events_shown(admin, f"{own.url}/ui/audit?action=push", 5)
    admin.goto(f"{own.url}/ui/audit?action=push&limit=3")
    number = _older_before(admin)
    assert number.isdigit(), "an admin's link is unchanged: the number of the last event shown"

    alice = new_page()
    sign_in(alice, own, "alice", USERS["alice"])
    alice.goto(f"{own.url}/ui/audit?action=push&limit=1")
    tags = alice.locator(".event-row td:nth-child(4)").all_inner_texts()
    for _ in range(3):
        if alice.locator("a:text('Older events')").count() == 0:
            break
        before = _older_before(alice)
        assert before.startswith(PREFIX) and not before.isdigit()
        alice.click("a:text('Older events')")
        assert "limit=1" in alice.url
        tags += alice.locator(".event-row td:nth-child(4)").all_inner_texts()
    assert tags == ["v3", "v2", "v1"], "one event a page, exactly the events alice sees"

    changed = before[:-2] + ("A" if before[-2] != "A" else "B") + before[-1]
    for refused in (number, "1", changed, "x1"):
        response = alice.goto(str(URL(f"{own.url}/ui/audit").with_query(before=refused)))
        assert response is not None and response.status == 400, refused
        assert "previous page" in alice.locator(".error").inner_text() and _column(alice, "action") == []
    assert_accessible(alice)
    admin.goto(str(URL(f"{own.url}/ui/audit").with_query(action="push", before=number)))
    assert admin.locator(".event-row td:nth-child(4)").all_inner_texts() == ["x", "v1"]


async def _signed_in(client: aiohttp.ClientSession, gateway: Gateway, user: str) -> None:
    """Sign `user` in with the plain form, as a browser without JavaScript does."""
    async with client.get(f"{gateway.url}/ui/login") as response:
        csrf = (await response.text()).split('name="csrf" value="', 1)[1].split('"', 1)[0]
    data = {"csrf": csrf, "username": user, "password": USERS[user]}
    async with client.post(f"{gateway.url}/ui/login", data=data, headers={"Origin": gateway.url}) as response:
        assert str(response.url) == f"{gateway.url}/ui/", await response.text()


def _older_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]*)">Older events</a>', page)
    return None if found is None else html.unescape(found.group(1))


def test_a_page_with_none_of_the_users_events_among_the_rows_read_says_older_ones_may_follow(
    make_gateway: Callable[..., Gateway], tmp_path: Path,
) -> None:
    """alice's three pushes under more of bob's private ones than a request reads: her first page
    shows no rows, says older events may follow rather than "No events", and its Older events link
    (with her filter) leads to her pushes, after which the list ends. Plain HTTP, no browser (so
    no JavaScript); on a thread of its own, as this module's browser holds an event loop here."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    gateway = make_gateway({"GATEWAY_DATABASE_URL": url})
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _read_past_hidden_events(gateway, url)).result()


async def _read_past_hidden_events(gateway: Gateway, url: str) -> None:
    request = RequestInfo(new_event_id(), "10.0.0.2", "registry.example", "PUT", "agent")

    def row(actor: str, repository: str, tag: str) -> Any:
        return to_row(Event(new_event_id(), time.time(), "push", Target(repository, tag=tag), request, actor, "", "", "gw"))

    store = await open_store(url)
    try:
        await store.add_events([row("alice", "alice/shown", f"v{i}") for i in (1, 2, 3)])
        await store.add_events([row("bob", "bob/hidden", f"h{i}") for i in range(MAX_ROWS_READ + 10)])
    finally:
        await store.close()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        await _signed_in(client, gateway, "alice")
        async with client.get(f"{gateway.url}/ui/audit?action=push") as response:
            assert response.status == 200
            first = await response.text()
        assert 'class="event-row"' not in first and "No events match" not in first
        assert "No events you may see that match these filters on this page; older events may follow." in first
        older = _older_link(first)
        assert older is not None and "action=push" in older and "bob/hidden" not in first
        before = URL(older).query["before"]
        assert before.startswith(PREFIX) and not before.isdigit()
        async with client.get(gateway.url + older) as response:
            assert response.status == 200
            rest = await response.text()
        assert re.findall(r"<td>(v\d)</td>", rest) == ["v3", "v2", "v1"]
        assert _older_link(rest) is None and "older events may follow" not in rest
        async with client.get(f"{gateway.url}/ui/audit") as response:
            assert "No events you may see on this page; older events may follow." in await response.text()
