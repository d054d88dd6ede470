"""Admins' webhook and health pages in the browser: a webhook whose endpoint is down shows its
failed deliveries a page at a time (as /api/v1 does), and the button queues them again; the
health page shows the components and the version; non-admins get a 403 page for both."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from gateway import __version__
from tests.integration.ui.api_calls import api_as, api_ok
from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.integration.ui.pushing import push_images
from tests.support.client import USERS
from tests.support.processes import Gateway, free_port

FAST = {
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL": "0.1",
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_MAX": "0.2",
    "GATEWAY_WEBHOOK_DELIVERY_MAX_ATTEMPTS": "2",
    "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT": "1",
}


def _add_webhook(gateway: Gateway, name: str, url: str) -> None:
    auth = base64.b64encode(":".join(Gateway.ADMIN).encode()).decode()
    request = urllib.request.Request(
        f"{gateway.url}/api/v1/webhooks", data=json.dumps({"name": name, "url": url, "secret": "a-secret-value"}).encode(),
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def _failures_shown(page: Any, url: str, count: int, timeout: float = 30.0) -> list[str]:
    """The failure states on the page once `count` show (or what shows at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        states = list(page.locator(".failure-state").all_inner_texts())
        if len(states) >= count or time.monotonic() > deadline:
            return states
        time.sleep(0.3)


def test_an_admin_sees_a_failed_delivery_and_sends_it_again(make_gateway: Callable[..., Gateway], new_page: Callable[[], Any]) -> None:
    own = make_gateway(FAST)
    _add_webhook(own, "down", f"http://127.0.0.1:{free_port()}/hook")
    push_images(own, [("alice", "alice/hooked", "v1"), ("alice", "alice/hooked", "v2")])
    admin = new_page()
    sign_in(admin, own, *Gateway.ADMIN)
    admin.goto(f"{own.url}/ui/webhooks")
    assert "down" in admin.locator(".webhook-name").all_inner_texts()
    assert_accessible(admin)
    admin.click("a.webhook-name:text-is('down')")
    assert _failures_shown(admin, admin.url, 2) == ["failed", "failed"]
    assert_accessible(admin)

    admin.goto(f"{own.url}/ui/webhooks/down?limit=1")  # a page of failures, then the next one
    first = admin.locator(".failure-event").all_inner_texts()
    admin.click("a[rel=next]:text('More failed deliveries')")
    second = admin.locator(".failure-event").all_inner_texts()
    assert len(first) == len(second) == 1 and int(first[0]) < int(second[0])
    assert int(admin.locator(".webhook-delivered").inner_text()) >= int(second[0])  # failed ones are handled too
    assert admin.locator("a[rel=next]").count() == 0
    api_page = api_ok(own, *Gateway.ADMIN, "GET", "/webhooks/down/failures?limit=1")
    assert [f["event_seq"] for f in api_page["items"]] == [int(first[0])] and api_page["next"] == first[0]
    api_rest = api_ok(own, *Gateway.ADMIN, "GET", f"/webhooks/down/failures?limit=1&after={first[0]}")
    assert [f["event_seq"] for f in api_rest["items"]] == [int(second[0])] and api_rest["next"] is None
    assert api_as(own, *Gateway.ADMIN, "GET", "/webhooks/down/failures?after=x")[0] == 400
    refused = admin.goto(f"{own.url}/ui/webhooks/down?failures_after=x")
    assert refused is not None and refused.status == 400

    admin.goto(f"{own.url}/ui/webhooks/down")
    admin.click("button:text('Send every failed delivery again')")
    assert admin.locator(".notice").inner_text() == "2 failed deliveries queued again."

    admin.goto(f"{own.url}/ui/health")
    statuses = dict(zip(admin.locator(".component-name").all_inner_texts(), admin.locator(".component-status").all_inner_texts(), strict=True))
    assert statuses == {"store": "up", "upstream": "up", "signing key": "up"}
    assert admin.locator(".gateway-version").inner_text() == __version__
    assert_accessible(admin)

    alice = new_page()
    sign_in(alice, own, "alice", USERS["alice"])
    for path, message in (("webhooks", "only admins may list webhooks"), ("health", "only admins may see the gateway's health")):
        response = alice.goto(f"{own.url}/ui/{path}")
        assert response is not None and response.status == 403
        assert alice.locator(".error-message").inner_text() == message
