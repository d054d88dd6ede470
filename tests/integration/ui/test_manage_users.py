"""Admins' user pages in the browser: adding a user, disabling them (which signs out their open
session in another browser), enabling, making and unmaking admin, resetting the password; a
non-admin gets the service's refusal as a 403 page."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.integration.ui.conftest import assert_accessible, sign_in
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
    admin.click("form[action$='/ui/users'] button[type=submit]")
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
    page.click("form[action$='/ui/users'] button[type=submit]")
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
