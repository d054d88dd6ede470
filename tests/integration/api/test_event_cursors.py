"""/api/v1/events pages a non-admin by opaque cursors: their events carry no sequence number (the
gaps between two would count the events hidden from them), a number or a cursor that is not theirs
is refused with a JSON 400, and paging one event at a time finds exactly the events they see.
Admins keep `seq` and numbers. A page that read its rows before it was full comes back short or
empty with a cursor to go on from. On SQLite and MariaDB."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp

from gateway.auth.sealing import PREFIX
from gateway.events.model import Event, RequestInfo, Target, new_event_id
from gateway.events.recorder import to_row
from gateway.services.events import MAX_ROWS_READ
from gateway.store import open_store
from tests.integration.api.conftest import Api
from tests.support.client import USERS, bearer
from tests.support.images import push_image
from tests.support.processes import Gateway

# alice's pushes with bob's private ones between them: a seq gap of 2 after a, 1 after b.
PUSHES = [("alice", "alice/seen", "a"), ("bob", "bob/secret", "x"), ("bob", "bob/secret", "y"),
          ("alice", "alice/seen", "b"), ("bob", "bob/secret", "z"), ("alice", "alice/seen", "c")]


async def _push_all(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    for user, repo, tag in PUSHES:
        headers = await bearer(session, gateway.url, gateway.host, user, f"repository:{repo}:pull,push")
        await push_image(session, gateway.url, repo, tag, headers, seed=f"{repo}:{tag}")


async def _one_at_a_time(api: Api) -> list[dict[str, Any]]:
    """Every push event `api` sees, a page of one at a time, following `next` (a cursor)."""
    found: list[dict[str, Any]] = []
    params = {"action": "push", "limit": "1"}
    for _ in range(len(PUSHES) + 1):
        page = await api.call("GET", "/events", params=params)
        assert page.status == 200, page
        found.extend(page.body["items"])
        if page.body["next"] is None:
            return found
        assert page.body["next"].startswith(PREFIX), "a non-admin's next is a cursor"
        params = {**params, "after": page.body["next"]}
    raise AssertionError(f"more pages than events: {found}")


def _tampered(cursor: str) -> str:
    """The cursor with one character of its sealed part changed."""
    last = cursor[-2]
    return cursor[:-2] + ("A" if last != "A" else "B") + cursor[-1]


async def test_a_non_admin_pages_the_audit_log_by_cursors_that_carry_no_sequence_number(
    session: aiohttp.ClientSession, store_admin: Api,
) -> None:
    admin, gateway = store_admin, store_admin.gateway
    await _push_all(session, gateway)
    alice = admin.as_("alice", USERS["alice"])

    whole = await alice.call("GET", "/events", params={"action": "push"})
    assert whole.status == 200
    assert [e["target"]["tag"] for e in whole.body["items"]] == ["c", "b", "a"]
    assert all("seq" not in e and e["cursor"].startswith(PREFIX) for e in whole.body["items"])
    assert '"seq"' not in json.dumps(whole.body)

    assert [e["id"] for e in await _one_at_a_time(alice)] == [e["id"] for e in whole.body["items"]]
    after_b = await alice.call("GET", "/events", params={"action": "push", "after": whole.body["items"][1]["cursor"]})
    assert [e["target"]["tag"] for e in after_b.body["items"]] == ["a"], "an event's cursor starts after it"
    again = await alice.ok("GET", "/events?action=push")
    assert again["items"][0]["cursor"] != whole.body["items"][0]["cursor"], "a random nonce: one event, two cursors"

    numbered = (await admin.ok("GET", "/events?action=push"))["items"]
    seq_of_b = next(e["seq"] for e in numbered if e["target"]["tag"] == "b")
    bob = admin.as_("bob", USERS["bob"])
    for who, after in ((alice, str(seq_of_b)), (alice, "1"), (alice, _tampered(whole.body["items"][1]["cursor"])),
                       (alice, "x1"), (alice, PREFIX + "abc:def"), (bob, whole.body["items"][1]["cursor"])):
        refused = await who.call("GET", "/events", params={"after": after})
        assert refused.status == 400 and refused.error_code == "bad_request", (after, refused)
        assert "previous page" in refused.message, refused


async def test_admins_keep_sequence_numbers_and_may_page_by_either(session: aiohttp.ClientSession, store_admin: Api) -> None:
    admin, gateway = store_admin, store_admin.gateway
    await _push_all(session, gateway)
    everything = (await admin.ok("GET", "/events?action=push"))["items"]
    seqs = [e["seq"] for e in everything]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == len(PUSHES)
    first = await admin.ok("GET", "/events?action=push&limit=2")
    assert first["next"] == str(seqs[1])
    by_number = await admin.ok("GET", f"/events?action=push&after={seqs[1]}")
    by_cursor = await admin.call("GET", "/events", params={"action": "push", "after": everything[1]["cursor"]})
    assert [e["seq"] for e in by_number["items"]] == [e["seq"] for e in by_cursor.body["items"]] == seqs[2:]


async def test_a_page_that_runs_out_of_rows_to_read_is_empty_with_a_sealed_cursor_to_go_on(
    session: aiohttp.ClientSession, store_admin: Api, database_url: str,
) -> None:
    """More of bob's private pushes than one request reads, written after alice's: her first page
    has no items and a `next` cursor like any other (sealed, as long as an event's, hers alone,
    refused once changed); following it finds her pushes and the end. The admin's page is full."""
    admin, gateway = store_admin, store_admin.gateway
    await _push_all(session, gateway)
    store = await open_store(database_url)
    try:
        request = RequestInfo(new_event_id(), "10.0.0.2", "registry.example", "PUT", "bob-agent")
        hidden = [
            to_row(Event(new_event_id(), time.time(), "push", Target("bob/secret", tag=f"h{i}"), request, "bob", "", "", "gw"))
            for i in range(MAX_ROWS_READ + 10)
        ]
        assert await store.add_events(hidden) == len(hidden)
    finally:
        await store.close()
    alice = admin.as_("alice", USERS["alice"])

    first = await alice.call("GET", "/events", params={"action": "push"})
    assert first.status == 200 and first.body["items"] == [], first.body
    cursor = first.body["next"]
    assert set(first.body) == {"items", "next"} and cursor.startswith(PREFIX) and not cursor.isdigit()
    rest = await alice.call("GET", "/events", params={"action": "push", "after": cursor})
    assert rest.status == 200 and [e["target"]["tag"] for e in rest.body["items"]] == ["c", "b", "a"]
    assert rest.body["next"] is None and len(cursor) == len(rest.body["items"][0]["cursor"])
    bob = admin.as_("bob", USERS["bob"])
    for who, after in ((alice, _tampered(cursor)), (bob, cursor)):
        refused = await who.call("GET", "/events", params={"after": after})
        assert refused.status == 400 and "previous page" in refused.message, refused

    everything = await admin.ok("GET", "/events?action=push&limit=1000")
    assert len(everything["items"]) == 1000 and everything["next"] == str(everything["items"][-1]["seq"])
