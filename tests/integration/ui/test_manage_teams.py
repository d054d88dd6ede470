"""Teams in the browser: founding one, its owner adding, re-roling and removing members,
creating a namespace and changing its visibility; a viewer sees it all without the forms and
may leave; after that the team is theirs no more; an admin sees every team."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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
    assert row.locator("select").input_value() == "private"
    row.locator("select").select_option("public")
    row.locator("button", has_text="Change").click()
    assert alice.locator(".notice").inner_text() == f"Namespace {namespace} is now public."
    row = alice.locator(".namespace-row", has=alice.locator(".namespace-name", has_text=namespace))
    assert row.locator("select").input_value() == "public"
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
    response = bob.goto(f"{gateway.url}/ui/teams/{team}")
    assert response is not None and response.status == 403
    assert f"only members of team '{team}'" in bob.locator(".error-message").inner_text()
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
