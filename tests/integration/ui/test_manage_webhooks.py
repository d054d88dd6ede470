"""Admins add, change and delete webhooks in the browser, through the webhooks service: a webhook
added in the UI is the one /api/v1 shows and receives a push, listed among its recent deliveries
and sent again from there; bad input gives the API's message
and saves nothing; webhooks from the settings are read-only; no page shows a URL's password;
others get a 403 page and no form."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp

from gateway import names
from tests.integration.ui.api_calls import api_as
from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.support.client import USERS, bearer
from tests.support.images import push_image
from tests.support.processes import Gateway, free_port
from tests.support.receiver import Delivery, Receiver
from tests.support.waiting import eventually

SECRET = "ui-hook-secret"
PASSWORD = "pw-in-the-url-9f3k"


def _unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"


def api(gateway: Gateway, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """An admin's /api/v1 request: its status and its JSON (None when it has none)."""
    return api_as(gateway, *Gateway.ADMIN, method, path, body)


def _hook(gateway: Gateway, name: str) -> dict[str, Any] | None:
    status, body = api(gateway, "GET", f"/webhooks/{name}")
    return body if status == 200 else None


def _fill_new(page: Any, gateway: Gateway, name: str, url: str, *, actions: tuple[str, ...] = (), pattern: str = "", headers: str = "") -> Any:
    page.goto(f"{gateway.url}/ui/webhooks")
    page.fill("#new-name", name)
    page.fill("#new-url", url)
    page.fill("#new-secret", SECRET)
    for action in actions:
        page.check(f"#new-webhook input[name=actions][value={action}]")
    page.fill("#new-pattern", pattern)
    page.fill("#new-headers", headers)
    with page.expect_navigation() as answer:
        page.click("#new-webhook button[type=submit]")
    return answer.value


def _admin(new_page: Callable[[], Any], gateway: Gateway) -> Any:
    page = new_page()
    sign_in(page, gateway, *Gateway.ADMIN)
    return page


def _push_and_receive(gateway: Gateway, receiver_port: int, repository: str) -> list[Delivery]:
    """Push one image as alice with a receiver listening: the deliveries naming `repository`
    (in a thread of its own: this thread's event loop is Playwright's while a browser is open)."""

    def naming(deliveries: list[Delivery]) -> list[Delivery]:
        return [d for d in deliveries if any(e["target"]["repository"] == repository for e in d.events)]

    async def run() -> list[Delivery]:
        receiver = Receiver(receiver_port)
        await receiver.start()
        try:
            async with aiohttp.ClientSession() as session:
                headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repository}:pull,push")
                await push_image(session, gateway.url, repository, "v1", headers, seed=repository)
            return await eventually(lambda: naming(receiver.deliveries), bool, timeout=30)
        finally:
            await receiver.stop()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _receiving(port: int, act: Callable[[], None]) -> list[Delivery]:
    """The deliveries a receiver listening on `port` gets after `act()` (the receiver runs in a
    thread of its own while this thread drives the browser)."""
    started = threading.Event()

    async def run() -> list[Delivery]:
        receiver = Receiver(port)
        await receiver.start()
        started.set()
        try:
            return await eventually(lambda: receiver.deliveries, bool, timeout=30)
        finally:
            await receiver.stop()

    with ThreadPoolExecutor(1) as pool:
        received = pool.submit(asyncio.run, run())
        assert started.wait(10), "the receiver did not start"
        act()
        return received.result()


def test_a_webhook_added_in_the_browser_is_the_apis_and_receives_a_push(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    name, port = _unique("ui-added"), free_port()
    repository = f"alice/{name}"
    admin = _admin(new_page, gateway)
    admin.goto(f"{gateway.url}/ui/webhooks")
    assert_accessible(admin)
    answer = _fill_new(admin, gateway, name, f"http://127.0.0.1:{port}/hook", actions=("push",), pattern="alice/ui-added-*", headers="X-Team: ops\n")
    assert answer.status == 200
    assert admin.locator(".notice").inner_text() == f"Webhook {name} added."
    assert_accessible(admin)

    hook = _hook(gateway, name)
    assert hook is not None
    assert {k: hook[k] for k in ("url", "actions", "repository_pattern", "headers", "source")} == {
        "url": f"http://127.0.0.1:{port}/hook", "actions": ["push"], "repository_pattern": "alice/ui-added-*",
        "headers": ["X-Team"], "source": "api",
    }
    deliveries = _push_and_receive(gateway, port, repository)
    assert deliveries, "the push was never delivered"
    delivery = deliveries[0]
    assert delivery.headers["X-Team"] == "ops"
    expected = "sha256=" + hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(delivery.headers["X-Gateway-Signature"], expected)
    assert {e["action"] for d in deliveries for e in d.events} == {"push"}

    admin.goto(f"{gateway.url}/ui/webhooks/{name}")  # the delivery, with its answer, among the recent ones
    row = admin.locator("tr.delivery-row").first
    assert row.locator(".delivery-result").inner_text() == "delivered (HTTP 200)"
    assert_accessible(admin)
    again = _receiving(port, lambda: admin.click("tr.delivery-row >> nth=0 >> button:text('again')"))
    assert [e["id"] for e in again[0].events] == [e["id"] for e in deliveries[0].events], "the same events, sent again"
    assert "queued again" in admin.locator(".notice").inner_text()
    admin.reload()
    assert "(sent again)" in admin.locator("tr.delivery-row .delivery-id").first.inner_text()


def test_an_admin_changes_a_webhook_and_blank_fields_keep_the_url_and_secret(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    name, port = _unique("ui-edited"), free_port()
    url = f"http://hooker:{PASSWORD}@127.0.0.1:{port}/hook"
    assert api(gateway, "POST", "/webhooks", {"name": name, "url": url, "secret": SECRET, "headers": {"X-Old": "1"}})[0] == 201
    admin = _admin(new_page, gateway)
    admin.goto(f"{gateway.url}/ui/webhooks/{name}")
    assert_accessible(admin)
    assert PASSWORD not in admin.content()
    assert admin.input_value("#edit-url") == "" and admin.input_value("#edit-secret") == ""

    admin.check("#edit-webhook input[name=actions][value=delete]")
    admin.fill("#edit-pattern", "alice/*")
    admin.fill("#edit-headers", "X-New: 2")
    admin.click("#edit-webhook button[type=submit]")
    assert admin.locator(".notice").inner_text() == f"Webhook {name} changed."
    assert PASSWORD not in admin.content()
    hook = _hook(gateway, name)
    assert hook is not None
    assert (hook["url"], hook["actions"], hook["repository_pattern"], hook["headers"]) == (
        f"http://hooker:***@127.0.0.1:{port}/hook", ["delete"], "alice/*", ["X-New"],
    )

    admin.fill("#edit-url", f"http://127.0.0.1:{port}/other")
    admin.uncheck("#edit-webhook input[name=actions][value=delete]")
    admin.check("#edit-webhook input[name=clear_headers]")
    admin.click("#edit-webhook button[type=submit]")
    hook = _hook(gateway, name)
    assert hook is not None
    assert (hook["url"], hook["actions"], hook["headers"]) == (f"http://127.0.0.1:{port}/other", [], [])
    assert admin.input_value("#edit-url") == f"http://127.0.0.1:{port}/other"


def test_a_bad_name_or_url_shows_the_apis_message_and_saves_nothing(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    admin = _admin(new_page, gateway)
    bad_name = "<b>bold</b>"
    answer = _fill_new(admin, gateway, bad_name, "http://127.0.0.1:9/hook")
    assert answer.status == 400
    assert admin.locator(".error").inner_text() == names.WEBHOOK.problem(bad_name)
    assert admin.locator("main b").count() == 0  # the name is shown as text, not markup
    assert admin.input_value("#new-name") == bad_name and admin.input_value("#new-secret") == ""
    assert_accessible(admin)

    name = _unique("ui-bad-url")
    secret_url = f"ftp://hooker:{PASSWORD}@example.com/hook"
    answer = _fill_new(admin, gateway, name, secret_url, headers="X-Fine: 1")
    assert answer.status == 400
    assert admin.locator(".error").inner_text() == names.webhook_url_problem(secret_url, True)
    assert PASSWORD not in admin.content()
    assert admin.input_value("#new-url") == "" and admin.input_value("#new-headers") == "X-Fine: 1"
    assert _hook(gateway, name) is None

    answer = _fill_new(admin, gateway, name, "http://127.0.0.1:9/hook", headers="<i>Bad</i>: x")
    assert answer.status == 400 and "is not an HTTP token" in admin.locator(".error").inner_text()
    assert admin.locator("main i").count() == 0
    assert _hook(gateway, name) is None

    assert api(gateway, "POST", "/webhooks", {"name": name, "url": "http://127.0.0.1:9/hook", "secret": SECRET})[0] == 201
    answer = _fill_new(admin, gateway, name, "http://127.0.0.1:9/again")
    assert answer.status == 409 and admin.locator(".error").inner_text() == f"webhook {name!r} already exists"
    admin.goto(f"{gateway.url}/ui/webhooks/{name}")
    admin.fill("#edit-url", "http://127.0.0.1:9/hook#part")
    admin.fill("#edit-secret", "short")
    with admin.expect_navigation() as edited:
        admin.click("#edit-webhook button[type=submit]")
    assert edited.value.status == 400
    assert admin.locator(".error").inner_text() == "url must not carry a fragment"
    assert_accessible(admin)
    hook = _hook(gateway, name)
    assert hook is not None and hook["url"] == "http://127.0.0.1:9/hook"


def test_an_admin_deletes_a_webhook_after_confirming(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    name = _unique("ui-deleted")
    assert api(gateway, "POST", "/webhooks", {"name": name, "url": f"http://hooker:{PASSWORD}@127.0.0.1:9/hook", "secret": SECRET})[0] == 201
    admin = _admin(new_page, gateway)
    admin.goto(f"{gateway.url}/ui/webhooks/{name}")
    admin.click("a:text('Delete this webhook')")
    assert admin.locator("h1").inner_text() == f"Delete webhook {name}"
    assert PASSWORD not in admin.content()
    assert_accessible(admin)
    assert _hook(gateway, name) is not None  # not before the confirmation
    admin.click("button:text('Delete the webhook')")
    assert admin.locator(".notice").inner_text() == f"Webhook {name} deleted."
    assert name not in admin.locator(".webhook-name").all_inner_texts()
    assert _hook(gateway, name) is None


def test_others_get_a_refusal_and_no_form(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    name = _unique("ui-not-yours")
    assert api(gateway, "POST", "/webhooks", {"name": name, "url": "http://127.0.0.1:9/hook", "secret": SECRET})[0] == 201
    alice = new_page()
    sign_in(alice, gateway, "alice", USERS["alice"])
    for path in ("", f"/{name}", f"/{name}/delete"):
        response = alice.goto(f"{gateway.url}/ui/webhooks{path}")
        assert response is not None and response.status == 403
        assert alice.locator("form[method=post][action*='/webhooks']").count() == 0
        assert alice.locator("#new-webhook, #edit-webhook").count() == 0
    assert alice.locator(".error-message").inner_text() == "only admins may read webhooks"


def test_a_webhook_from_the_settings_is_read_only_and_its_password_never_shown(
    make_gateway: Callable[..., Gateway], new_page: Callable[[], Any],
) -> None:
    configured = [{
        "name": "from-settings", "url": f"http://hooker:{PASSWORD}@127.0.0.1:9/hook", "secret": "a-configured-secret",
        "headers": {"X-Token": "header-value-secret"},
    }]
    own = make_gateway({"GATEWAY_WEBHOOKS": json.dumps(configured)})
    admin = _admin(new_page, own)
    for path in ("", "/from-settings", "/from-settings/delete"):
        admin.goto(f"{own.url}/ui/webhooks{path}")
        content = admin.content()
        assert PASSWORD not in content and "header-value-secret" not in content and "a-configured-secret" not in content
        assert admin.locator("#edit-webhook").count() == 0
        assert_accessible(admin)
    assert "removed there" in admin.locator(".config-note").inner_text()
    assert admin.locator("button:text('Delete the webhook')").count() == 0
    admin.goto(f"{own.url}/ui/webhooks/from-settings")
    assert "edited there" in admin.locator(".config-note").inner_text()
    assert admin.locator(".webhook-url").inner_text() == "http://hooker:***@127.0.0.1:9/hook"
    assert admin.locator("a:text('Delete this webhook')").count() == 0

    token = admin.locator("input[name=csrf]").first.get_attribute("value")
    refusal = "webhook 'from-settings' is configured in the settings; change it there"
    for path, form in (("", {"url": "http://127.0.0.1:9/changed", "repository_pattern": "x/*"}), ("/delete", {})):
        answer = admin.request.post(f"{own.url}/ui/webhooks/from-settings{path}", form={**form, "csrf": token}, headers={"Origin": own.url})
        assert answer.status == 409 and refusal in html.unescape(answer.text()) and PASSWORD not in answer.text()
    hook = _hook(own, "from-settings")
    assert hook is not None and (hook["url"], hook["repository_pattern"]) == ("http://hooker:***@127.0.0.1:9/hook", "")


def test_a_private_target_is_refused_as_the_api_refuses_it(make_gateway: Callable[..., Gateway], new_page: Callable[[], Any]) -> None:
    own = make_gateway({"GATEWAY_WEBHOOK_DELIVERY_ALLOW_PRIVATE_TARGETS": "false"}, add_users=False)
    admin = _admin(new_page, own)
    url = "http://127.0.0.1:9/hook"
    answer = _fill_new(admin, own, "private", url)
    problem = names.webhook_url_problem(url, False)
    assert answer.status == 400 and problem is not None
    assert admin.locator(".error").inner_text() == problem
    assert _hook(own, "private") is None
