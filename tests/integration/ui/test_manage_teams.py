"""Teams in the browser: founding one, its owner adding, re-roling and removing members,
creating a namespace and changing its visibility; a viewer sees it all without the forms and
may leave; after that the team is theirs no more; an admin sees every team. An owner deletes a
team after a confirmation (its namespaces then belong to no team) and moves a namespace into
another team they own; a contributor gets neither form and is refused the confirmation."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tests.integration.ui.api_calls import api_as, api_ok
from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.support.client import USERS
from tests.support.processes import Gateway


def _members(page: Any) -> dict[str, str]:
    """The member rows as user -> role, whether shown as a select (owners) or text."""
    found = {}
    for row in page.locator(".member-row").all():
        select = row.locator("select")
        role = select.input_value() if select.count() else row.locator(".member-role").inner_text()
        found[row.locator(".member-name").inner_text()] = role
    return found


def _submit(page: Any, form: str) -> None:
    page.click(f"{form} button[type=submit]")


def test_an_owner_manages_members_and_namespaces_and_a_viewer_leaves(
    gateway: Gateway, new_page: Callable[[], Any],
) -> None:
    team = f"crew{time.time_ns() % 10**9}"
    namespace = f"{team}__images"
    alice = new_page()
    sign_in(alice, gateway, "alice", USERS["alice"])
    alice.goto(f"{gateway.url}/ui/teams")
    assert_accessible(alice)
    alice.fill("#team-name", team)
    _submit(alice, "form[action$='/ui/teams']")
    assert alice.url.startswith(f"{gateway.url}/ui/teams/{team}?")
    assert alice.locator(".notice").inner_text() == f"Team {team} created; you are its owner."
    assert _members(alice) == {"alice": "owner"}

    alice.fill("#member-name", "bob")
    alice.select_option("#member-role", "viewer")
    _submit(alice, "form[action$='/members']")
    assert _members(alice) == {"alice": "owner", "bob": "viewer"}
    bob_row = alice.locator(".member-row", has=alice.locator(".member-name", has_text="bob"))
    bob_row.locator("select").select_option("contributor")
    bob_row.locator("button", has_text="Change").click()
    assert alice.locator(".notice").inner_text() == "bob is now contributor."
    assert _members(alice) == {"alice": "owner", "bob": "contributor"}

    alice.fill("#namespace-name", namespace)
    alice.select_option("#namespace-visibility", "private")
    _submit(alice, "form[action$='/namespaces']")
    row = alice.locator(".namespace-row", has=alice.locator(".namespace-name", has_text=namespace))
    assert row.locator("select[name='visibility']").input_value() == "private"
    row.locator("select[name='visibility']").select_option("public")
    row.locator("button", has_text="Change").click()
    assert alice.locator(".notice").inner_text() == f"Namespace {namespace} is now public."
    row = alice.locator(".namespace-row", has=alice.locator(".namespace-name", has_text=namespace))
    assert row.locator("select[name='visibility']").input_value() == "public"
    assert_accessible(alice)

    bob = new_page()
    sign_in(bob, gateway, "bob", USERS["bob"])
    bob.goto(f"{gateway.url}/ui/teams")
    assert team in bob.locator(".team-name").all_inner_texts()
    bob.click(f"a.team-name:text-is('{team}')")
    assert _members(bob) == {"alice": "owner", "bob": "contributor"}
    assert bob.locator("#member-name").count() == 0 and bob.locator("#namespace-name").count() == 0
    assert bob.locator(".namespace-visibility").all_inner_texts() == ["public"]
    assert_accessible(bob)
    bob.click("#leave-team")
    assert bob.url.startswith(f"{gateway.url}/ui/teams?")
    assert bob.locator(".notice").inner_text() == f"You left team {team}."
    assert team not in bob.locator(".team-name").all_inner_texts()
    response = bob.goto(f"{gateway.url}/ui/teams/{team}")  # no member now: as if it were not there
    assert response is not None and response.status == 404
    assert bob.locator(".error-message").inner_text() == f"no such team '{team}'"
    assert_accessible(bob)

    alice.reload()
    assert _members(alice) == {"alice": "owner"}
    alice.fill("#member-name", "bob")
    _submit(alice, "form[action$='/members']")
    alice.locator(".member-row", has=alice.locator(".member-name", has_text="bob")).locator("button", has_text="Remove").click()
    assert alice.locator(".notice").inner_text() == "bob removed from the team."
    assert _members(alice) == {"alice": "owner"}

    alice.fill("#member-name", "nobody-at-all")
    _submit(alice, "form[action$='/members']")
    assert alice.locator(".error-message").inner_text() == "no such user 'nobody-at-all'"

    admin = new_page()
    sign_in(admin, gateway, *Gateway.ADMIN)
    admin.goto(f"{gateway.url}/ui/teams")
    assert team in admin.locator(".team-name").all_inner_texts()


def test_a_taken_team_name_is_shown_next_to_the_form(gateway: Gateway, page: Any) -> None:
    team = f"dup{time.time_ns() % 10**9}"
    gateway.cli("team", "add", team)
    sign_in(page, gateway, "bob", USERS["bob"])
    page.goto(f"{gateway.url}/ui/teams")
    page.fill("#team-name", team)
    page.click("form[action$='/ui/teams'] button[type=submit]")
    assert page.locator(".error").inner_text() == f"team '{team}' already exists"
    assert page.input_value("#team-name") == team
    assert_accessible(page)


def _as(gateway: Gateway, user: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    password = Gateway.ADMIN[1] if user == Gateway.ADMIN[0] else USERS[user]
    return api_as(gateway, user, password, method, path, body)


def _alices_team(gateway: Gateway, prefix: str, *, namespace: str = "", bob: str = "") -> str:
    """A team alice founds through the API, with a private namespace and bob as `bob` if told."""
    team = f"{prefix}{time.time_ns() % 10**9}"
    api_ok(gateway, "alice", USERS["alice"], "POST", "/teams", {"name": team})
    if namespace:
        api_ok(gateway, "alice", USERS["alice"], "POST", "/namespaces", {"name": f"{team}__{namespace}", "team": team, "visibility": "private"})
    if bob:
        api_ok(gateway, "alice", USERS["alice"], "PUT", f"/teams/{team}/members/bob", {"role": bob})
    return team


def _refused_without_a_form(page: Any, response: Any, message: str) -> None:
    assert response is not None and response.status == 403
    assert page.locator(".error-message").inner_text() == message
    assert page.locator("main form").count() == 0
    assert_accessible(page)


def test_an_owner_deletes_a_team_after_confirming_and_its_namespace_belongs_to_no_team(
    gateway: Gateway, new_page: Callable[[], Any],
) -> None:
    team = _alices_team(gateway, "gone", namespace="app", bob="contributor")
    namespace = f"{team}__app"
    bob = new_page()
    sign_in(bob, gateway, "bob", USERS["bob"])
    bob.goto(f"{gateway.url}/ui/teams/{team}")
    assert bob.locator("#delete-team").count() == 0 and bob.locator(".move-form").count() == 0
    response = bob.goto(f"{gateway.url}/ui/teams/{team}/delete")
    _refused_without_a_form(bob, response, f"only owners of team '{team}' and admins may delete this team")
    assert _as(gateway, "bob", "GET", f"/namespaces/{namespace}")[0] == 200

    alice = new_page()
    sign_in(alice, gateway, "alice", USERS["alice"])
    alice.goto(f"{gateway.url}/ui/teams/{team}")
    alice.click("#delete-team")
    assert alice.url == f"{gateway.url}/ui/teams/{team}/delete"
    assert alice.locator("h1").inner_text() == f"Delete team {team}"
    assert alice.locator(".namespace-name").all_inner_texts() == [namespace]
    assert "belong to no team. Only admins manage them" in alice.locator("main").inner_text()
    assert_accessible(alice)
    assert _as(gateway, "alice", "GET", f"/teams/{team}")[0] == 200, "the confirmation page deletes nothing"

    alice.click("button.danger")
    assert alice.url.startswith(f"{gateway.url}/ui/teams?")
    assert alice.locator(".notice").inner_text() == (
        f"Team {team} deleted. Any namespaces it had now belong to no team; admins manage them."
    )
    assert team not in alice.locator(".team-name").all_inner_texts()
    assert _as(gateway, Gateway.ADMIN[0], "GET", f"/teams/{team}")[0] == 404
    status, shown = _as(gateway, Gateway.ADMIN[0], "GET", f"/namespaces/{namespace}")
    assert status == 200 and (shown["team"], shown["visibility"]) == (None, "private")
    assert _as(gateway, "bob", "GET", f"/namespaces/{namespace}")[0] == 404, "a private namespace of no team: admins only"
    response = alice.goto(f"{gateway.url}/ui/teams/{team}")
    assert response is not None and response.status == 404


def test_an_admin_is_offered_the_deletion_of_any_team(gateway: Gateway, page: Any) -> None:
    team = _alices_team(gateway, "adm")
    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/teams/{team}/delete")
    assert "It has no namespaces." in page.locator("main").inner_text()
    page.click("button.danger")
    assert page.locator(".notice").inner_text().startswith(f"Team {team} deleted.")
    assert _as(gateway, "alice", "GET", f"/teams/{team}")[0] == 404


def test_an_owner_moves_a_namespace_into_another_team_they_own_and_the_old_members_lose_it(
    gateway: Gateway, new_page: Callable[[], Any],
) -> None:
    source = _alices_team(gateway, "from", namespace="app", bob="contributor")
    target = _alices_team(gateway, "into")
    elsewhere = f"bobs{time.time_ns() % 10**9}"  # alice is only a contributor there
    api_ok(gateway, "bob", USERS["bob"], "POST", "/teams", {"name": elsewhere})
    api_ok(gateway, "bob", USERS["bob"], "PUT", f"/teams/{elsewhere}/members/alice", {"role": "contributor"})
    namespace = f"{source}__app"
    assert _as(gateway, "bob", "GET", f"/namespaces/{namespace}")[0] == 200

    bob = new_page()
    sign_in(bob, gateway, "bob", USERS["bob"])
    bob.goto(f"{gateway.url}/ui/teams/{source}")
    assert bob.locator(".namespace-name").all_inner_texts() == [namespace]
    assert bob.locator(".move-form").count() == 0

    alice = new_page()
    sign_in(alice, gateway, "alice", USERS["alice"])
    alice.goto(f"{gateway.url}/ui/teams/{source}")
    row = alice.locator(".namespace-row", has=alice.locator(".namespace-name", has_text=namespace))
    offered = row.locator(".move-form option").all_inner_texts()
    assert target in offered and source not in offered and elsewhere not in offered
    assert_accessible(alice)
    row.locator(".move-form select").select_option(target)
    row.locator(".move-form button").click()
    assert alice.url.startswith(f"{gateway.url}/ui/teams/{target}?")
    assert alice.locator(".notice").inner_text() == f"Namespace {namespace} moved to team {target}."
    assert alice.locator(".namespace-name").all_inner_texts() == [namespace]
    assert_accessible(alice)
    alice.goto(f"{gateway.url}/ui/teams/{source}")
    assert alice.locator(".namespace-name").count() == 0

    status, shown = _as(gateway, "alice", "GET", f"/namespaces/{namespace}")
    assert status == 200 and shown["team"] == target
    assert _as(gateway, "bob", "GET", f"/namespaces/{namespace}")[0] == 404, "bob is no member of the new team"
    bob.goto(f"{gateway.url}/ui/teams/{source}")
    assert bob.locator(".namespace-name").count() == 0


def test_html_in_a_team_name_in_the_address_is_shown_as_text(gateway: Gateway, page: Any) -> None:
    sign_in(page, gateway, "alice", USERS["alice"])
    hostile = '<b id="injected">x</b>'
    response = page.goto(f"{gateway.url}/ui/teams/{quote(hostile, safe='')}/delete")
    assert response is not None and response.status == 400
    assert hostile in page.locator(".error-message").inner_text()
    assert page.locator("#injected").count() == 0 and page.locator("main form").count() == 0
    assert_accessible(page)
