"""My application tokens in the browser: one created in the UI shows its secret once (in the
answer to the POST, never cached nor in a URL), works as a password at the token endpoint and
for `skopeo login` (and skopeo's push with it shows on the repository page, with its size and
pusher), and stops working once revoked there; the list shows a page at a time."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.e2e.clients import client_env, run
from tests.integration.ui.api_calls import api_ok
from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.support.client import USERS
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway, require_tool


def token_endpoint_status(gateway: Gateway, user: str, password: str) -> int:
    """The status of `GET /v2/token` with Basic auth, as `docker login` sends it."""
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(f"{gateway.url}/v2/token?service={gateway.host}", headers={"Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _create(page: Any, gateway: Gateway, name: str, *, push: bool = False) -> Any:
    page.goto(f"{gateway.url}/ui/tokens")
    page.fill("#token-name", name)
    page.fill("#token-namespaces", "alice")
    if push:
        page.check("input[name=actions][value=push]")
    page.select_option("#token-expires", "7d")
    with page.expect_navigation() as answer:
        page.click("form[action$='/ui/tokens'] button[type=submit]")
    return answer.value


def test_a_token_made_in_the_ui_logs_in_until_it_is_revoked(gateway: Gateway, page: Any, tmp_path: Path) -> None:
    name = f"ci-{time.time_ns()}"
    sign_in(page, gateway, "alice", USERS["alice"])
    page.goto(f"{gateway.url}/ui/tokens")
    assert_accessible(page)

    response = _create(page, gateway, name, push=True)
    assert response.status == 200 and response.headers["cache-control"] == "no-store"
    secret = page.input_value("#token-secret")
    assert page.locator("#token-secret + .copy-button").count() == 1
    assert secret.startswith("pgat_")
    assert secret not in page.url
    assert page.locator("h1").inner_text() == f"Token {name} created"
    assert_accessible(page)
    assert token_endpoint_status(gateway, "alice", secret) == 200
    skopeo, env = require_tool("skopeo"), client_env(tmp_path)
    login = run([skopeo, "login", "--tls-verify=false", "-u", "alice", "--password-stdin", gateway.host], env, stdin=secret + "\n")
    assert login.ok and "Login Succeeded" in login.stdout, login.describe()
    layout = build_layout(tmp_path / "image", layers=1, layer_size=4096, seed=name)
    repository = f"alice/{name}"
    pushed = run([skopeo, "copy", "--retry-times", "0", "--dest-tls-verify=false", f"oci:{layout.path}:latest",
                  f"docker://{gateway.host}/{repository}:v1"], env)  # with the login's stored token
    assert pushed.ok, pushed.describe()
    page.goto(f"{gateway.url}/ui/repositories/{repository}")
    tag = page.locator("article.tag")
    assert tag.locator(".tag-name").all_inner_texts() == ["v1"]
    assert tag.locator("code.digest").get_attribute("title") == layout.manifest_digest
    assert tag.locator(".size").inner_text().endswith("KiB") and tag.locator(".pushed-by").inner_text() == "alice"

    page.goto(f"{gateway.url}/ui/tokens")
    row = page.locator(".token-row", has=page.locator(".token-name", has_text=name))
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[1:3] == ["alice", "pull, push"] and cells[5] == "never"
    assert secret not in page.content()  # shown once only

    row.locator("button", has_text="Revoke").click()
    assert page.locator(".notice").inner_text() == f"Token {name} revoked."
    assert page.locator(".token-name", has_text=name).count() == 0
    assert token_endpoint_status(gateway, "alice", secret) == 401
    assert_accessible(page)


def test_a_bad_token_form_says_why_and_keeps_what_was_typed(gateway: Gateway, page: Any) -> None:
    sign_in(page, gateway, "bob", USERS["bob"])
    page.goto(f"{gateway.url}/ui/tokens")
    page.fill("#token-name", "fine-name")
    page.uncheck("input[name=actions][value=pull]")
    page.click("form[action$='/ui/tokens'] button[type=submit]")
    assert "actions must be among pull, push, delete" in page.locator(".error").inner_text()
    assert page.input_value("#token-name") == "fine-name"
    assert page.locator("#token-secret").count() == 0
    assert_accessible(page)


def test_the_token_list_shows_a_page_at_a_time(gateway: Gateway, page: Any) -> None:
    user, password = f"paging{time.time_ns()}", "paging-secret-pw"
    api_ok(gateway, *Gateway.ADMIN, "POST", "/users", {"name": user, "password": password})
    for name in ("c-token", "a-token", "b-token"):
        api_ok(gateway, user, password, "POST", f"/users/{user}/tokens", {"name": name})
    sign_in(page, gateway, user, password)
    page.goto(f"{gateway.url}/ui/tokens?limit=2")
    assert page.locator(".token-name").all_inner_texts() == ["a-token", "b-token"]
    page.click("a[rel=next]")
    assert page.locator(".token-name").all_inner_texts() == ["c-token"]
    assert page.locator("a[rel=next]").count() == 0
    listed = api_ok(gateway, user, password, "GET", f"/users/{user}/tokens?limit=2")
    assert [t["name"] for t in listed["items"]] == ["a-token", "b-token"] and listed["next"] == "b-token"
