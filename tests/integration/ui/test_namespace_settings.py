"""A user's own namespace in the browser: its settings page (from the account page) changes who
may pull from it, through the namespaces service (the change is the one /api/v1 shows); another
user sees a public one read-only, is refused a forged change, and finds a private one exactly as
one that does not exist. A team namespace's owners are sent to the team page."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.integration.ui.api_calls import api_ok
from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.support.client import USERS
from tests.support.processes import Gateway

# Posts a form to this page, as a forger with a valid session and form token would.
FORGED_POST = """visibility => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = location.pathname;
  for (const [name, value] of [["csrf", document.querySelector("input[name=csrf]").value], ["visibility", visibility]]) {
    const input = document.createElement("input");
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""


def _set_visibility(page: Any, visibility: str) -> None:
    page.select_option("#namespace-visibility", visibility)
    page.click("#namespace-settings button[type=submit]")


def test_a_user_changes_their_namespace_and_nobody_else_may(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    user, password = f"own{time.time_ns()}", "own-namespace-pw"
    api_ok(gateway, *Gateway.ADMIN, "POST", "/users", {"name": user, "password": password})
    settings = f"{gateway.url}/ui/namespaces/{user}/settings"
    owner = new_page()
    sign_in(owner, gateway, user, password)
    owner.goto(f"{gateway.url}/ui/account")
    assert owner.locator(".own-visibility").inner_text() == "private"
    owner.click("#namespace-settings-link")
    assert owner.url == settings
    assert owner.locator(".namespace-kind").inner_text() == "your personal namespace"
    assert_accessible(owner)
    _set_visibility(owner, "public")
    assert owner.locator(".notice").inner_text() == f"Namespace {user} is now public."
    assert owner.locator(".namespace-visibility").inner_text() == "public"
    assert api_ok(gateway, user, password, "GET", f"/namespaces/{user}")["visibility"] == "public"
    assert_accessible(owner)
    owner.goto(f"{gateway.url}/ui/namespaces/{user}")
    assert owner.locator(".settings-link").get_attribute("href") == f"/ui/namespaces/{user}/settings"

    other = new_page()
    sign_in(other, gateway, "bob", USERS["bob"])
    other.goto(f"{gateway.url}/ui/namespaces/{user}")
    assert other.locator(".settings-link").count() == 0
    other.goto(settings)
    assert other.locator("#namespace-settings").count() == 0
    assert other.locator(".read-only-note").inner_text() == f"Only {user} and admins change these settings."
    assert_accessible(other)
    with other.expect_navigation() as forged:
        other.evaluate(FORGED_POST, "protected")
    assert forged.value is not None and forged.value.status == 403
    assert other.locator(".error-message").inner_text() == f"only {user!r} themself or an admin may change this namespace"
    assert api_ok(gateway, user, password, "GET", f"/namespaces/{user}")["visibility"] == "public"

    owner.goto(settings)
    _set_visibility(owner, "private")
    nobody = f"nobody{time.time_ns()}"
    hidden = other.goto(settings)
    hidden_text = other.locator(".error-message").inner_text()
    missing = other.goto(f"{gateway.url}/ui/namespaces/{nobody}/settings")
    assert hidden is not None and missing is not None and hidden.status == missing.status == 404
    assert hidden_text.replace(user, "X") == other.locator(".error-message").inner_text().replace(nobody, "X")


def test_a_bad_visibility_or_name_is_a_readable_refusal(gateway: Gateway, page: Any) -> None:
    sign_in(page, gateway, "alice", USERS["alice"])
    page.goto(f"{gateway.url}/ui/namespaces/alice/settings")
    with page.expect_navigation() as refused:
        page.evaluate(FORGED_POST, "secret")
    assert refused.value is not None and refused.value.status == 400
    assert page.locator(".error-message").inner_text() == "visibility must be one of public, protected, private"
    wrong_case = page.goto(f"{gateway.url}/ui/namespaces/Alice/settings")
    assert wrong_case is not None and wrong_case.status == 400


def test_a_team_namespace_sends_its_owners_to_the_team_page_and_shows_others_who_manages_it(
    gateway: Gateway, new_page: Callable[[], Any],
) -> None:
    team = f"settings{time.time_ns() % 10**9}"
    namespace = f"{team}__app"
    api_ok(gateway, "alice", USERS["alice"], "POST", "/teams", {"name": team})
    api_ok(gateway, "alice", USERS["alice"], "POST", "/namespaces", {"name": namespace, "team": team, "visibility": "protected"})
    owner = new_page()
    sign_in(owner, gateway, "alice", USERS["alice"])
    owner.goto(f"{gateway.url}/ui/namespaces/{namespace}/settings")
    assert owner.url == f"{gateway.url}/ui/teams/{team}"
    other = new_page()
    sign_in(other, gateway, "bob", USERS["bob"])
    other.goto(f"{gateway.url}/ui/namespaces/{namespace}/settings")
    assert other.locator(".namespace-kind").inner_text() == f"a namespace of team {team}"
    assert other.locator(".read-only-note").inner_text() == f"Only owners of team {team} and admins change these settings."
    assert other.locator("#namespace-settings").count() == 0
