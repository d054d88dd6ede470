"""First run in the browser: the one-time setup URL from the log creates the admin and signs
them in; the code then (and a wrong code always) opens nothing."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.integration.ui.conftest import NO_ADMIN, assert_accessible, session_cookie, setup_url, setup_urls
from tests.support.processes import Gateway


def _users(gateway: Gateway, admin: str, password: str) -> list[dict[str, Any]]:
    auth = base64.b64encode(f"{admin}:{password}".encode()).decode()
    request = urllib.request.Request(f"{gateway.url}/api/v1/users", headers={"Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return list(json.load(response)["items"])


def _fill_setup(page: Any, name: str, password: str, again: str | None = None) -> None:
    page.fill("#username", name)
    page.fill("#password", password)
    page.fill("#password_again", password if again is None else again)


def test_the_log_names_one_setup_url_on_a_first_run_only(make_gateway: Callable[..., Gateway], gateway: Gateway) -> None:
    fresh = make_gateway(NO_ADMIN, add_users=False)
    assert setup_url(fresh).startswith(f"{fresh.url}/ui/setup?code=")
    assert fresh.cli("setup-url").stdout.strip() == setup_url(fresh)  # what scripts/run prints
    refused = gateway.cli("setup-url", check=False)
    assert refused.returncode == 1 and "no setup to do" in refused.stderr
    fresh.stop()
    assert len(setup_urls(fresh)) == 1  # one line, also once the log is complete
    assert "first run" not in gateway.log_text()  # GATEWAY_ADMIN_* given: no setup


def test_with_several_workers_one_line_names_the_code_every_worker_accepts(
    make_gateway: Callable[..., Gateway], new_page: Callable[[], Any],
) -> None:
    fresh = make_gateway({**NO_ADMIN, "GATEWAY_SERVER_WORKERS": "2"}, add_users=False)
    url = setup_url(fresh)
    for _ in range(6):  # new connections, spread over the workers by the kernel
        page = new_page()
        page.goto(url)
        assert page.locator("h1").inner_text() == "Create the first admin"
    fresh.stop()
    assert len(setup_urls(fresh)) == 1


def test_the_setup_code_creates_the_admin_and_signs_them_in_once(make_gateway: Callable[..., Gateway], new_page: Callable[[], Any]) -> None:
    fresh = make_gateway(NO_ADMIN, add_users=False)
    url = setup_url(fresh)
    first, second = new_page(), new_page()
    for page in (first, second):
        page.goto(url)
        assert page.locator("h1").inner_text() == "Create the first admin"
    assert_accessible(first)
    _fill_setup(first, "chief", "a-long-password")
    first.click("button[type=submit]")
    assert first.url == f"{fresh.url}/ui/"
    assert first.locator("header .user-name").inner_text() == "chief"
    assert first.locator("header .badge").inner_text() == "admin"
    assert session_cookie(first) is not None
    assert_accessible(first)

    _fill_setup(second, "usurper", "a-long-password")  # the form was open before the code was used
    second.click("button[type=submit]")
    assert second.locator("h1").inner_text() == "Already set up"
    assert session_cookie(second) is None
    assert_accessible(second)
    assert [(u["name"], u["admin"]) for u in _users(fresh, "chief", "a-long-password")] == [("chief", True)]

    response = second.goto(url)
    assert response is not None and response.status == 404
    assert second.locator("h1").inner_text() == "Already set up"


def test_a_wrong_code_opens_nothing_and_the_right_one_still_works(make_gateway: Callable[..., Gateway], page: Any) -> None:
    fresh = make_gateway(NO_ADMIN, add_users=False)
    url = setup_url(fresh)
    response = page.goto(url + "x")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Already set up"
    assert page.locator("form[action='/ui/setup']").count() == 0

    page.goto(url)
    page.evaluate("document.querySelector('input[name=code]').value += 'x'")
    _fill_setup(page, "intruder", "a-long-password")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Already set up"

    page.goto(url)
    _fill_setup(page, "chief", "a-long-password")
    page.click("button[type=submit]")
    assert page.url == f"{fresh.url}/ui/"
    assert [u["name"] for u in _users(fresh, "chief", "a-long-password")] == ["chief"]


def test_the_setup_form_refuses_differing_passwords_and_a_bad_name_and_escapes_it(make_gateway: Callable[..., Gateway], page: Any) -> None:
    fresh = make_gateway(NO_ADMIN, add_users=False)
    url = setup_url(fresh)
    page.goto(url)
    _fill_setup(page, "chief", "a-long-password", again="another-password")
    page.click("button[type=submit]")
    assert "The two passwords differ" in page.locator(".error").inner_text()

    hostile = '<b id="injected">x</b>"\''
    _fill_setup(page, hostile, "a-long-password")
    page.click("button[type=submit]")
    assert "not a valid user name" in page.locator(".error").inner_text()
    assert '<b id="injected">' in page.locator(".error").inner_text()
    assert page.locator("#injected").count() == 0
    assert page.input_value("#username") == hostile
    assert_accessible(page)

    _fill_setup(page, "chief", "a-long-password")  # the code was not used up by the refusals
    page.click("button[type=submit]")
    assert page.url == f"{fresh.url}/ui/"
