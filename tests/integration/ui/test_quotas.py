"""A namespace's quota in the browser: its page shows the storage its manifests hold and its
quota; an admin sets it (nonsense gets a readable page) and lifts it; the team's owner sees it
all without the form, and a forged post of theirs is refused."""

from __future__ import annotations

import secrets
from typing import Any

from tests.integration.ui.api_calls import api_ok
from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.integration.ui.pushing import push_images
from tests.support.client import USERS
from tests.support.processes import Gateway


def test_an_admin_sets_and_lifts_a_quota_and_the_owner_only_sees_it(gateway: Gateway, page: Any) -> None:
    team = f"room{secrets.token_hex(4)}"
    namespace = f"{team}--ns"
    api_ok(gateway, "alice", USERS["alice"], "POST", "/teams", {"name": team})
    api_ok(gateway, "alice", USERS["alice"], "POST", "/namespaces", {"name": namespace, "team": team})
    push_images(gateway, [("alice", f"{namespace}/app", "v1")])
    usage = api_ok(gateway, *Gateway.ADMIN, "GET", f"/namespaces/{namespace}")["usage"]
    assert usage > 0
    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/namespaces/{namespace}")
    assert page.locator("#namespace-usage").inner_text() == f"{usage} B (no quota)"
    assert page.locator("#namespace-quota").input_value() == "none"
    assert_accessible(page)

    page.fill("#namespace-quota", "10MiB")
    page.click(".quota-form button[type=submit]")
    assert page.locator(".notice").inner_text() == f"Quota of {namespace}: {usage} B of 10.0 MiB."
    assert page.locator("#namespace-usage").inner_text() == f"{usage} B of 10.0 MiB"
    assert api_ok(gateway, *Gateway.ADMIN, "GET", f"/namespaces/{namespace}")["quota"] == 10 * 2**20

    page.fill("#namespace-quota", "lots<b>")
    with page.expect_response(lambda r: r.url.endswith("/quota")) as answer:
        page.click(".quota-form button[type=submit]")
    assert answer.value.status == 400
    assert "'lots<b>' is not a size" in page.locator("main").inner_text()
    assert api_ok(gateway, *Gateway.ADMIN, "GET", f"/namespaces/{namespace}")["quota"] == 10 * 2**20

    owner = page.context.browser.new_context()
    try:
        alice = owner.new_page()
        sign_in(alice, gateway, "alice", USERS["alice"])
        alice.goto(f"{gateway.url}/ui/namespaces/{namespace}")
        assert alice.locator("#namespace-usage").inner_text() == f"{usage} B of 10.0 MiB"
        assert alice.locator(".quota-form").count() == 0
        csrf = alice.evaluate("() => document.querySelector('input[name=csrf]')?.value || ''")
        forged = alice.request.post(
            f"{gateway.url}/ui/namespaces/{namespace}/quota", form={"csrf": csrf, "quota": "none"},
            headers={"Origin": gateway.url},
        )
        assert forged.status == 403, forged.text()
    finally:
        owner.close()
    assert api_ok(gateway, *Gateway.ADMIN, "GET", f"/namespaces/{namespace}")["quota"] == 10 * 2**20

    page.goto(f"{gateway.url}/ui/namespaces/{namespace}")
    page.fill("#namespace-quota", "none")
    page.click(".quota-form button[type=submit]")
    assert page.locator("#namespace-usage").inner_text() == f"{usage} B (no quota)"
