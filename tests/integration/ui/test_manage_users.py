"""Admins' user pages in the browser: adding a user, disabling them (which signs out their open
session in another browser), enabling, making and unmaking admin, resetting the password,
deleting them after a confirmation (their application token then fails at /v2/token, their name
stays reserved while their namespace holds repositories); a non-admin, and an admin deleting
themself, get the service's refusal as a 403 page."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tests.integration.ui.api_calls import api_as, api_ok
from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.integration.ui.pushing import push_images
from tests.integration.ui.test_manage_tokens import token_endpoint_status
from tests.support.client import USERS
from tests.support.processes import Gateway


def _row(page: Any, name: str) -> Any:
    return page.locator(".user-row", has=page.locator(".account-name", has_text=name))


def _press(page: Any, name: str, label: str) -> str:
    _row(page, name).locator("button", has_text=label).click()
    return str(page.locator(".notice").inner_text())


def test_an_admin_adds_disables_enables_promotes_and_resets_a_user(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    name, password = f"dev{time.time_ns() % 10**9}", "first-password-1"
    admin = new_page()
    sign_in(admin, gateway, *Gateway.ADMIN)
    admin.goto(f"{gateway.url}/ui/users")
    assert_accessible(admin)
    admin.fill("#new-user-name", name)
    admin.fill("#new-user-password", password)
    admin.fill("#new-user-password-again", password)
    admin.click("form[method=post][action$='/ui/users'] button[type=submit]")
    assert admin.locator(".notice").inner_text() == f"User {name} added."
    assert _row(admin, name).locator(".user-state").inner_text() == "active"

    user = new_page()
    sign_in(user, gateway, name, password)
    assert user.url == f"{gateway.url}/ui/"
    assert _press(admin, name, "Disable") == f"{name} is disabled; their sessions and logins have ended."
    assert _row(admin, name).locator(".user-state").inner_text() == "disabled"
    user.goto(f"{gateway.url}/ui/tokens")
    assert user.url == f"{gateway.url}/ui/login?ended=1"

    assert _press(admin, name, "Enable").startswith(f"{name} is enabled again. refresh tokens revoked by the disable stay revoked")
    assert _press(admin, name, "Make admin") == f"{name} is now an admin."
    assert _row(admin, name).locator(".user-state").inner_text() == "active · admin"
    assert _press(admin, name, "Unmake admin") == f"{name} is no longer an admin."
    assert _row(admin, name).locator(".user-state").inner_text() == "active"
    assert_accessible(admin)

    sign_in(user, gateway, name, password)
    assert user.url == f"{gateway.url}/ui/"
    admin.fill("#reset-name", name)
    admin.fill("#reset-password", "second-password-2")
    admin.fill("#reset-password-again", "second-password-2")
    admin.click("form[action$='/password-reset'] button[type=submit]")
    assert admin.locator(".notice").inner_text() == f"The password of {name} is reset; their sessions and logins have ended."
    user.goto(f"{gateway.url}/ui/")
    assert user.url == f"{gateway.url}/ui/login?ended=1"
    sign_in(user, gateway, name, password)
    assert user.locator(".error").inner_text() == "Wrong user name or password."
    sign_in(user, gateway, name, "second-password-2")
    assert user.url == f"{gateway.url}/ui/"


def test_wrong_forms_say_why(gateway: Gateway, page: Any) -> None:
    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/users")
    page.fill("#new-user-name", "alice")
    page.fill("#new-user-password", "some-password-3")
    page.fill("#new-user-password-again", "some-password-3")
    page.click("form[method=post][action$='/ui/users'] button[type=submit]")
    assert page.locator(".error").inner_text() == "user 'alice' already exists"
    page.fill("#reset-name", "alice")
    page.fill("#reset-password", "some-password-3")
    page.fill("#reset-password-again", "another-password")
    page.click("form[action$='/password-reset'] button[type=submit]")
    assert page.locator(".error").inner_text() == "The two passwords differ. Type the same password twice."
    assert _row(page, Gateway.ADMIN[0]).locator("button").count() == 0  # no buttons against oneself
    assert_accessible(page)


def test_a_non_admin_is_refused_the_user_pages(gateway: Gateway, page: Any) -> None:
    sign_in(page, gateway, "bob", USERS["bob"])
    assert page.locator("nav a", has_text="Users").count() == 0
    response = page.goto(f"{gateway.url}/ui/users")
    assert response is not None and response.status == 403
    assert page.locator(".error-message").inner_text() == "only admins may list users"
    assert_accessible(page)


def _refused_without_a_form(page: Any, response: Any, message: str) -> None:
    assert response is not None and response.status == 403
    assert page.locator(".error-message").inner_text() == message
    assert page.locator("main form").count() == 0
    assert_accessible(page)


def test_an_admin_deletes_a_user_after_confirming_and_their_token_stops_working(
    gateway: Gateway, new_page: Callable[[], Any],
) -> None:
    name, password = f"leaver{time.time_ns() % 10**9}", "leaver-password-1"
    api_ok(gateway, *Gateway.ADMIN, "POST", "/users", {"name": name, "password": password})
    secret = api_ok(gateway, name, password, "POST", f"/users/{name}/tokens", {"name": "ci"})["secret"]
    push_images(gateway, [(name, f"{name}/app", "v1")], {name: password})
    assert token_endpoint_status(gateway, name, secret) == 200
    user = new_page()
    sign_in(user, gateway, name, password)
    assert user.url == f"{gateway.url}/ui/"

    admin = new_page()
    sign_in(admin, gateway, *Gateway.ADMIN)
    admin.goto(f"{gateway.url}/ui/users")
    _row(admin, name).locator("a", has_text="Delete").click()
    assert admin.url == f"{gateway.url}/ui/users/{name}/delete"
    assert admin.locator("h1").inner_text() == f"Delete user {name}"
    text = admin.locator("main").inner_text()
    assert "Their 1 application token is revoked" in text
    assert admin.locator(".reservation").inner_text() == (
        f"Their personal namespace {name} holds 1 repository. It stays, and the name stays reserved: nobody pushes"
        " there and no new user or namespace takes the name until an admin releases or purges it."
    )
    assert_accessible(admin)
    assert token_endpoint_status(gateway, name, secret) == 200, "the confirmation page deletes nothing"

    admin.click("button.danger")
    assert admin.url.startswith(f"{gateway.url}/ui/users?")
    assert admin.locator(".notice").inner_text() == (
        f"User {name} deleted; their application tokens are revoked and their sessions and logins have ended."
        f" Their namespace {name} holds 1 repository, so the name stays reserved until an admin releases or purges it."
    )
    assert _row(admin, name).count() == 0
    assert token_endpoint_status(gateway, name, secret) == 401
    assert token_endpoint_status(gateway, name, password) == 401
    assert api_as(gateway, *Gateway.ADMIN, "GET", f"/tombstones/{name}")[0] == 200
    user.goto(f"{gateway.url}/ui/tokens")
    assert user.url == f"{gateway.url}/ui/login?ended=1"


def test_a_user_without_repositories_leaves_a_free_name(gateway: Gateway, page: Any) -> None:
    name = f"brief{time.time_ns() % 10**9}"
    api_ok(gateway, *Gateway.ADMIN, "POST", "/users", {"name": name, "password": "brief-password-1"})
    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/users/{name}/delete")
    assert "They have no application tokens." in page.locator("main").inner_text()
    assert "holds no repositories; its settings are deleted and the name is free again" in page.locator(".reservation").inner_text()
    page.click("button.danger")
    assert page.locator(".notice").inner_text() == (
        f"User {name} deleted; their application tokens are revoked and their sessions and logins have ended."
    )
    assert api_as(gateway, *Gateway.ADMIN, "GET", f"/users/{name}")[0] == 404
    assert api_as(gateway, *Gateway.ADMIN, "GET", f"/tombstones/{name}")[0] == 404


def test_an_admin_may_not_delete_themself_nor_a_user_anyone_else(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    admin = new_page()
    sign_in(admin, gateway, *Gateway.ADMIN)
    admin.goto(f"{gateway.url}/ui/users")
    assert _row(admin, Gateway.ADMIN[0]).locator("a", has_text="Delete").count() == 0
    response = admin.goto(f"{gateway.url}/ui/users/{Gateway.ADMIN[0]}/delete")
    _refused_without_a_form(admin, response, "admins may not delete themselves; ask another admin")

    bob = new_page()
    sign_in(bob, gateway, "bob", USERS["bob"])
    response = bob.goto(f"{gateway.url}/ui/users/alice/delete")
    _refused_without_a_form(bob, response, "only 'alice' themself or an admin may delete this user")
    assert api_as(gateway, *Gateway.ADMIN, "GET", "/users/alice")[0] == 200

    hostile = '<b id="injected">x</b>'
    response = admin.goto(f"{gateway.url}/ui/users/{quote(hostile, safe='')}/delete")
    assert response is not None and response.status == 400
    assert hostile in admin.locator(".error-message").inner_text()
    assert admin.locator("#injected").count() == 0 and admin.locator("main form").count() == 0


def test_an_admin_finds_users_by_name_and_pages_through_the_matches(gateway: Gateway, page: Any) -> None:
    prefix = f"find{time.time_ns() % 10**9}"
    names = [f"{prefix}-{n:02d}" for n in range(52)]  # one page (50) and two more
    for name in names:
        api_ok(gateway, *Gateway.ADMIN, "POST", "/users", {"name": name, "password": "a-long-password"})
    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/users")
    page.fill("#user-q", prefix.upper())
    page.click("form.search button[type=submit]")
    assert page.locator(".account-name").all_inner_texts() == names[:50]
    assert page.input_value("#user-q") == prefix.upper()
    assert_accessible(page)
    page.click("a[rel=next]")
    assert page.locator(".account-name").all_inner_texts() == names[50:]  # the next page kept the search
    assert page.locator("a[rel=next]").count() == 0
    page.fill("#user-q", f"{prefix}_")
    page.click("form.search button[type=submit]")
    assert page.locator(".user-row").count() == 0
    assert page.locator(".no-match").inner_text() == f"No user name contains “{prefix}_”."
