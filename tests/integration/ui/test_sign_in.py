"""Sign in and out in the browser, and the sessions that end on their own: idle too long, or
their user disabled. Application tokens open no web session."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.ui.conftest import assert_accessible, session_cookie, sign_in
from tests.support.client import USERS
from tests.support.processes import Gateway

pytestmark = pytest.mark.slow  # several gateways or databases per test: run first (tests/conftest.py)

ADMIN, ADMIN_PASSWORD = Gateway.ADMIN


def _at_home(page: Any, gateway: Gateway) -> bool:
    return bool(page.url == f"{gateway.url}/ui/" and page.locator("header .user-name").count() == 1)


def test_a_wrong_password_is_refused_and_the_right_one_reaches_home(gateway: Gateway, page: Any) -> None:
    sign_in(page, gateway, "alice", "not-her-password")
    assert page.locator(".error").inner_text() == "Wrong user name or password."
    assert session_cookie(page) is None and not _at_home(page, gateway)
    assert page.input_value("#username") == "alice"
    assert_accessible(page)

    sign_in(page, gateway, "alice", USERS["alice"])
    assert _at_home(page, gateway)
    assert page.locator("header .user-name").inner_text() == "alice"
    assert page.locator("header .badge").count() == 0  # not an admin
    assert "alice" in page.locator(".namespaces").inner_text()
    assert_accessible(page)


def test_an_admin_sees_the_badge(gateway: Gateway, page: Any) -> None:
    sign_in(page, gateway, ADMIN, ADMIN_PASSWORD)
    assert _at_home(page, gateway)
    assert page.locator("header .badge").inner_text() == "admin"


def test_too_many_failures_show_the_wait(make_gateway: Callable[..., Gateway], page: Any) -> None:
    throttled = make_gateway({"GATEWAY_LOGINS_MAX_FAILURES": "2"})
    for _ in range(2):
        sign_in(page, throttled, "alice", "wrong-password")
        assert page.locator(".error").inner_text() == "Wrong user name or password."
    sign_in(page, throttled, "alice", USERS["alice"])  # even the right password waits
    error = page.locator(".error").inner_text()
    assert error.startswith("Too many failed attempts: try again in ") and error.endswith(" s.")
    assert session_cookie(page) is None
    assert_accessible(page)


def test_sign_out_ends_the_session_for_good(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    page = new_page()
    sign_in(page, gateway, "bob", USERS["bob"])
    assert _at_home(page, gateway)
    cookie = session_cookie(page)
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/ui"
    assert not cookie["secure"]  # plain HTTP here: Secure only behind TLS

    replay = new_page()
    replay.context.add_cookies([cookie])
    replay.goto(f"{gateway.url}/ui/")
    assert _at_home(replay, gateway)  # the copied cookie works while the session lives

    page.click("text=Sign out")
    assert page.url == f"{gateway.url}/ui/login" and session_cookie(page) is None
    replay.goto(f"{gateway.url}/ui/")
    assert replay.url.startswith(f"{gateway.url}/ui/login") and not _at_home(replay, gateway)


def test_an_idle_session_is_signed_out(make_gateway: Callable[..., Gateway], page: Any) -> None:
    short = make_gateway({"GATEWAY_UI_SESSION_IDLE": "2"})
    sign_in(page, short, "alice", USERS["alice"])
    assert _at_home(page, short)
    time.sleep(1)
    page.goto(f"{short.url}/ui/")  # a use within the idle time keeps it
    assert _at_home(page, short)
    time.sleep(3.5)
    page.goto(f"{short.url}/ui/")
    assert page.url == f"{short.url}/ui/login?ended=1"
    assert page.locator(".notice").inner_text() == "Your session has ended. Sign in again."
    assert session_cookie(page) is None
    assert_accessible(page)


def test_a_session_ends_at_its_maximum_age_however_busy(make_gateway: Callable[..., Gateway], page: Any) -> None:
    short = make_gateway({"GATEWAY_UI_SESSION_MAX": "3"})
    sign_in(page, short, "alice", USERS["alice"])
    for _ in range(2):
        time.sleep(1)
        page.goto(f"{short.url}/ui/")
        assert _at_home(page, short)
    time.sleep(2.5)
    page.goto(f"{short.url}/ui/")
    assert page.url == f"{short.url}/ui/login?ended=1"


def test_a_disabled_users_session_is_signed_out_and_stays_ended(make_gateway: Callable[..., Gateway], page: Any) -> None:
    own = make_gateway()
    sign_in(page, own, "alice", USERS["alice"])
    assert _at_home(page, own)
    own.cli("user", "disable", "alice")
    page.goto(f"{own.url}/ui/")
    assert page.url == f"{own.url}/ui/login?ended=1"
    own.cli("user", "enable", "alice")
    page.goto(f"{own.url}/ui/")
    assert not _at_home(page, own)  # enabling again does not bring the session back


def _app_token(gateway: Gateway, user: str) -> str:
    auth = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()
    request = urllib.request.Request(
        f"{gateway.url}/api/v1/users/{user}/tokens", data=json.dumps({"name": f"ui-{time.time_ns()}"}).encode(),
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["secret"])


def test_an_application_token_cannot_sign_in(gateway: Gateway, page: Any) -> None:
    sign_in(page, gateway, "alice", _app_token(gateway, "alice"))
    assert page.locator(".error").inner_text() == "An application token cannot sign in to the web UI. Sign in with your password."
    assert session_cookie(page) is None and not _at_home(page, gateway)


def test_html_in_a_typed_user_name_is_shown_as_text(gateway: Gateway, page: Any) -> None:
    hostile = '"><img id="injected" src="x"><script id="script">window.hit = 1</script>'
    sign_in(page, gateway, hostile, "whatever-password")
    assert page.locator("#injected").count() == 0 and page.locator("#script").count() == 0
    assert page.input_value("#username") == hostile
    assert page.evaluate("window.hit === undefined")


def test_unknown_pages_and_wrong_methods_are_readable_pages(gateway: Gateway, page: Any) -> None:
    response = page.goto(f"{gateway.url}/ui/no-such-page")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert page.locator("h1").inner_text() == "Not found"
    assert_accessible(page)
    response = page.goto(f"{gateway.url}/ui/logout")
    assert response is not None and response.status == 405 and page.locator("h1").inner_text() == "Not allowed here"


def test_the_root_sends_browsers_to_the_ui(gateway: Gateway, page: Any) -> None:
    page.goto(f"{gateway.url}/")
    assert page.url == f"{gateway.url}/ui/login"
    assert page.title() == "Sign in · Portus gateway"
