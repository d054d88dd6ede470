"""The audit log page in the browser: filters, newest first, paged with the service's cursor
(the "Older events" link keeps the filters); a user never sees another user's private
repository there, an admin sees everything."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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
