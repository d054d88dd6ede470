"""A user's own account page in the browser: changing their password proves the current one
(a wrong one counts as a failed login), keeps this browser signed in and signs out every other
session; the new password works at the token endpoint and the old one does not; the form
refuses what a hostile page would send."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.integration.ui.conftest import assert_accessible, session_cookie, sign_in
from tests.support.processes import Gateway

PASSWORD, NEW_PASSWORD = "first-password-1", "second-password-2"
CHANGED = "Your password is changed. Your other sessions have ended; this one stays signed in."
FOREIGN = "http://evil.example"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _call(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


def _api(gateway: Gateway, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """An /api/v1 call as the admin."""
    request = urllib.request.Request(
        f"{gateway.url}/api/v1{path}", data=json.dumps(body).encode(), method=method,
        headers={"Authorization": _basic(*Gateway.ADMIN), "Content-Type": "application/json"},
    )
    return _call(request)


def _new_user(gateway: Gateway) -> str:
    name = f"acct{time.time_ns() % 10**9}"
    status, body = _api(gateway, "POST", "/users", {"name": name, "password": PASSWORD})
    assert status == 201, body
    return name


def _token_status(gateway: Gateway, user: str, password: str) -> int:
    """GET /v2/token with Basic, as `docker login` does."""
    request = urllib.request.Request(f"{gateway.url}/v2/token?service={gateway.host}", headers={"Authorization": _basic(user, password)})
    return _call(request)[0]


def _change(page: Any, current: str, new: str, again: str) -> None:
    page.fill("#current-password", current)
    page.fill("#new-password", new)
    page.fill("#new-password-again", again)
    page.click("form[action$='/account/password'] button[type=submit]")


def _signed_in_as(page: Any, user: str) -> bool:
    return bool(page.locator("header .user-name").count() == 1 and page.locator("header .user-name").inner_text() == user)


def test_a_user_changes_their_password_and_their_other_sessions_end(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    user = _new_user(gateway)
    other = new_page()
    sign_in(other, gateway, user, PASSWORD)
    assert other.url == f"{gateway.url}/ui/"
    page = new_page()
    sign_in(page, gateway, user, PASSWORD)
    before = session_cookie(page)
    page.click("nav a:text-is('Account')")
    assert page.url == f"{gateway.url}/ui/account"
    assert page.locator("nav a[aria-current=page]").inner_text() == "Account"
    assert page.locator(".account-name").inner_text() == user
    assert_accessible(page)

    _change(page, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert page.locator(".notice").inner_text() == CHANGED
    assert page.url.startswith(f"{gateway.url}/ui/account?") and _signed_in_as(page, user)
    after = session_cookie(page)
    assert before is not None and after is not None and after["value"] != before["value"], "the session is re-issued"
    assert_accessible(page)
    page.goto(f"{gateway.url}/ui/tokens")
    assert page.url == f"{gateway.url}/ui/tokens" and _signed_in_as(page, user)

    other.goto(f"{gateway.url}/ui/tokens")
    assert other.url == f"{gateway.url}/ui/login?ended=1"
    assert _token_status(gateway, user, NEW_PASSWORD) == 200
    assert _token_status(gateway, user, PASSWORD) == 401


def test_wrong_forms_say_why_and_change_nothing(gateway: Gateway, page: Any) -> None:
    user = _new_user(gateway)
    sign_in(page, gateway, user, PASSWORD)
    page.goto(f"{gateway.url}/ui/account")
    status, body = _api(gateway, "PATCH", f"/users/{user}", {"password": "short"})
    assert status == 400
    too_short = body["error"]["message"]

    for (current, new, again), error in (
        (("not-my-password", NEW_PASSWORD, NEW_PASSWORD), "the current password is wrong"),
        ((PASSWORD, NEW_PASSWORD, "second-password-3"), "the two copies of the new password differ; type the same new password twice"),
        ((PASSWORD, "short", "short"), too_short),
    ):
        _change(page, current, new, again)
        assert page.locator(".error").inner_text() == error
        assert page.url == f"{gateway.url}/ui/account/password" and _signed_in_as(page, user)
        assert [page.input_value(f"#{field}") for field in ("current-password", "new-password", "new-password-again")] == ["", "", ""]
        assert page.locator(".notice").count() == 0
    assert_accessible(page)
    assert too_short == "a password has 8 to 1024 characters"

    assert _token_status(gateway, user, PASSWORD) == 200
    assert _token_status(gateway, user, "short") == 401
    page.goto(f"{gateway.url}/ui/")
    assert _signed_in_as(page, user), "a refused change ends no session"


def test_a_wrong_current_password_counts_as_a_failed_sign_in(make_gateway: Callable[..., Gateway], new_page: Callable[[], Any]) -> None:
    throttled = make_gateway({"GATEWAY_LOGINS_MAX_FAILURES": "2"})
    user = _new_user(throttled)
    page = new_page()
    sign_in(page, throttled, user, PASSWORD)
    page.goto(f"{throttled.url}/ui/account")
    for _ in range(2):
        _change(page, "not-my-password", NEW_PASSWORD, NEW_PASSWORD)
        assert page.locator(".error").inner_text() == "the current password is wrong"
    _change(page, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)  # even the right one waits
    error = page.locator(".error").inner_text()
    assert error.startswith("Too many failed attempts: try again in ") and error.endswith(" s.")
    assert_accessible(page)

    elsewhere = new_page()
    sign_in(elsewhere, throttled, user, PASSWORD)
    assert elsewhere.locator(".error").inner_text().startswith("Too many failed attempts: try again in ")
    assert session_cookie(elsewhere) is None


def test_the_form_refuses_a_cross_site_post(gateway: Gateway, page: Any) -> None:
    user = _new_user(gateway)
    sign_in(page, gateway, user, PASSWORD)
    page.goto(f"{gateway.url}/ui/account")
    token = page.input_value("form[action$='/account/password'] input[name=csrf]")
    url, form = f"{gateway.url}/ui/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}

    for data, headers in (
        ({**form, "csrf": token}, {}),  # no Origin, no Referer
        ({**form, "csrf": token}, {"Origin": FOREIGN}),
        (form, {"Origin": gateway.url}),  # no form token
        ({**form, "csrf": "x" * len(token)}, {"Origin": gateway.url}),
    ):
        response = page.request.post(url, form=data, headers=headers, max_redirects=0)
        assert response.status == 403 and "refused" in response.text()
    assert _token_status(gateway, user, PASSWORD) == 200
    assert _token_status(gateway, user, NEW_PASSWORD) == 401

    response = page.request.post(url, form={**form, "csrf": token}, headers={"Origin": gateway.url}, max_redirects=0)
    assert response.status == 303 and response.headers["location"].startswith("/ui/account?")
    assert _token_status(gateway, user, NEW_PASSWORD) == 200
