"""Signing in with OpenID Connect in the browser, against a real provider (oidc-provider on
node): the first sign-in creates the user, who then makes an application token for the
command line, and joins the teams its groups map to (or is an admin); a callback with a `state` this browser did not begin, a replayed one, an ID
token naming another issuer and one signed by a key the provider never published are all
refused with a readable page, and a provider name that is a local user's takes nothing over."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.identity.oidc import REFUSED
from gateway.ui.oidc import NOT_STARTED_HERE
from tests.integration.ui.api_calls import api_as
from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.integration.ui.pushing import push_images
from tests.support.oidc_provider import OidcProvider, provider_sign_in
from tests.support.processes import Gateway, Registry, free_port


@pytest.fixture(scope="module")
def oidc_gateway(registry: Registry, oidc_provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    instance = Gateway(
        tmp_path_factory.mktemp("oidc-gateway"), registry.url,
        oidc_provider.gateway_env(
            GATEWAY_OIDC_BUTTON_TEXT="Sign in with Example SSO", GATEWAY_OIDC_GROUPS_CLAIM="groups",
            GATEWAY_OIDC_TEAM_GROUPS=json.dumps({"web": "web-devs", "ops": {"group": "ops", "role": "contributor"}}),
            GATEWAY_OIDC_ADMIN_GROUP="gateway-admins",
        ),
    ).start()
    assert api_as(instance, *Gateway.ADMIN, "POST", "/teams", {"name": "web"})[0] == 201  # "ops" is left missing
    yield instance
    instance.stop()


def _admin_api(gateway: Gateway, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """An /api/v1 call as the admin: a GET, or a POST of `body`."""
    return api_as(gateway, *Gateway.ADMIN, "GET" if body is None else "POST", path, body)


def _start(page: Any, gateway: Gateway) -> None:
    page.goto(f"{gateway.url}/ui/login")
    page.click("#oidc-sign-in")
    page.wait_for_selector("input[name=login]")


def _sign_in_with_provider(page: Any, gateway: Gateway, login: str) -> Any:
    """The whole flow; the answer to the gateway's callback."""
    _start(page, gateway)
    with page.expect_response(lambda r: "/ui/oidc/callback" in r.url) as answer:
        provider_sign_in(page, login)
    page.wait_for_load_state()
    return answer.value


def _held_callback(page: Any, gateway: Gateway) -> str:
    """The flow up to the provider's redirect back, which it holds for this account: its URL."""
    _start(page, gateway)
    provider_sign_in(page, "sub-held")
    url = str(page.get_attribute("#callback", "href"))
    assert url.startswith(f"{gateway.url}/ui/oidc/callback?")
    return url


def _signed_in_as(page: Any) -> str | None:
    names = page.locator("header .user-name")
    return names.inner_text() if names.count() == 1 else None


def test_the_first_sign_in_creates_the_user_with_the_teams_of_their_groups(
    oidc_gateway: Gateway, new_page: Callable[[], Any]
) -> None:
    page = new_page()
    page.goto(f"{oidc_gateway.url}/ui/login")
    assert page.locator("#oidc-sign-in").inner_text() == "Sign in with Example SSO"
    assert_accessible(page)
    assert _admin_api(oidc_gateway, "/users/ann")[0] == 404

    answer = _sign_in_with_provider(page, oidc_gateway, "sub-ann")
    assert answer.status == 303
    assert page.url == f"{oidc_gateway.url}/ui/"
    assert _signed_in_as(page) == "ann"  # the provider's "Ann", lowercased
    status, user = _admin_api(oidc_gateway, "/users/ann")
    assert status == 200 and user["admin"] is False and user["email"] == "ann@example.org"
    status, members = _admin_api(oidc_gateway, "/teams/web/members")
    assert status == 200 and ("ann", "viewer") in [(m["user"], m["role"]) for m in members["items"]]
    flow_cookies = [c for c in page.context.cookies() if c["name"] == "portus_oidc"]
    assert flow_cookies == []

    again = new_page()
    _sign_in_with_provider(again, oidc_gateway, "sub-ann")
    assert _signed_in_as(again) == "ann"
    assert _admin_api(oidc_gateway, "/users/ann")[1]["created_at"] == user["created_at"]


def test_a_provider_user_makes_an_app_token_that_pushes(oidc_gateway: Gateway, page: Any) -> None:
    _sign_in_with_provider(page, oidc_gateway, "sub-bob")
    assert _signed_in_as(page) == "bob.builder"
    assert _admin_api(oidc_gateway, "/users/bob.builder")[1]["email"] is None, "the provider says it is not verified"
    page.goto(f"{oidc_gateway.url}/ui/tokens")
    note = page.locator("#no-password-note")
    assert note.count() == 1 and "bob.builder" in note.inner_text()
    assert_accessible(page)
    page.fill("#token-name", "ci")
    page.check("input[name=actions][value=push]")
    page.click("form[action$='/ui/tokens'] button[type=submit]")
    secret = page.input_value("#token-secret")
    push_images(oidc_gateway, [("bob.builder", "bob.builder/app", "v1")], {"bob.builder": secret})


def test_a_provider_users_account_page_offers_tokens_and_a_forged_password_change_is_refused(
    oidc_gateway: Gateway, page: Any
) -> None:
    _sign_in_with_provider(page, oidc_gateway, "sub-bob")
    page.goto(f"{oidc_gateway.url}/ui/account")
    assert "sign-in service (OpenID Connect)" in page.locator(".account-source").inner_text()
    assert page.locator("#current-password").count() == 0 and page.locator(".own-namespace").inner_text() == "bob.builder"
    assert_accessible(page)
    page.click("#account-tokens-link")
    assert page.url == f"{oidc_gateway.url}/ui/tokens"

    token = page.input_value("form[action$='/ui/tokens'] input[name=csrf]")
    new = "a-password-of-ours-1"
    form = {"csrf": token, "current_password": "any password", "new_password": new, "new_password_again": new}
    response = page.request.post(
        f"{oidc_gateway.url}/ui/account/password", form=form, headers={"Origin": oidc_gateway.url}, max_redirects=0
    )
    assert response.status == 400
    assert "signs in with the OpenID provider and has no password here to change" in response.text()
    assert api_as(oidc_gateway, "bob.builder", new, "GET", "/users/bob.builder")[0] == 401


def test_claims_missing_from_the_id_token_come_from_userinfo(oidc_gateway: Gateway, page: Any) -> None:
    _sign_in_with_provider(page, oidc_gateway, "sub-quiet")  # name and groups only at the userinfo endpoint
    assert _signed_in_as(page) == "quiet"
    status, members = _admin_api(oidc_gateway, "/teams/web/members")
    assert status == 200 and ("quiet", "viewer") in [(m["user"], m["role"]) for m in members["items"]]


def test_a_member_of_the_admin_group_signs_in_as_an_admin(oidc_gateway: Gateway, page: Any) -> None:
    _sign_in_with_provider(page, oidc_gateway, "sub-boss")
    assert _signed_in_as(page) == "boss"
    assert page.locator("header .badge").inner_text() == "admin"
    page.goto(f"{oidc_gateway.url}/ui/users")
    assert page.locator("h1").inner_text() == "Users"


def test_a_local_users_name_is_not_taken_over(oidc_gateway: Gateway, page: Any) -> None:
    answer = _sign_in_with_provider(page, oidc_gateway, "sub-takeover")
    assert answer.status == 409
    assert "already exists" in page.locator(".error-message").inner_text()
    assert _signed_in_as(page) is None
    sign_in(page, oidc_gateway, *Gateway.ADMIN)
    assert _signed_in_as(page) == "admin"
    page.goto(f"{oidc_gateway.url}/ui/tokens")
    assert page.locator("#no-password-note").count() == 0


def test_a_state_this_browser_did_not_begin_is_refused_and_a_state_works_once(
    oidc_gateway: Gateway, new_page: Callable[[], Any]
) -> None:
    page = new_page()
    callback = _held_callback(page, oidc_gateway)
    flow = [c for c in page.context.cookies() if c["name"] == "portus_oidc"]
    assert len(flow) == 1
    answer = page.goto(callback.replace("state=", "state=x", 1))
    assert answer is not None and answer.status == 400
    assert page.locator(".error-message").inner_text() == NOT_STARTED_HERE
    assert _signed_in_as(page) is None

    stranger = new_page()  # the right state, in a browser that did not begin it
    answer = stranger.goto(callback)
    assert answer is not None and answer.status == 400 and _signed_in_as(stranger) is None

    page.context.add_cookies(flow)  # the refusals dropped it
    page.goto(callback)
    assert _signed_in_as(page) == "held"
    page.context.add_cookies(flow)
    answer = page.goto(callback)
    assert answer is not None and answer.status == 400  # used up

    other = new_page()  # the right state with a code the provider never gave
    callback = _held_callback(other, oidc_gateway)
    answer = other.goto(re.sub(r"code=[^&]+", "code=forged", callback))
    assert answer is not None and answer.status == 401
    assert other.locator(".error-message").inner_text() == REFUSED and _signed_in_as(other) is None
    assert "the token endpoint answered 400 without an ID token (error 'invalid_grant')" in oidc_gateway.log_text()


@pytest.mark.parametrize(("login", "reason"), [("sub-mallory-iss", "Invalid issuer"), ("sub-mallory-key", "Signature verification failed")])
def test_an_id_token_from_another_issuer_or_key_is_refused(oidc_gateway: Gateway, page: Any, login: str, reason: str) -> None:
    answer = _sign_in_with_provider(page, oidc_gateway, login)
    assert answer.status == 401
    assert page.locator(".error-message").inner_text() == REFUSED
    assert _signed_in_as(page) is None
    assert _admin_api(oidc_gateway, f"/users/{ACCOUNT_NAMES[login]}")[0] == 404
    assert reason in oidc_gateway.log_text()


ACCOUNT_NAMES = {"sub-mallory-iss": "mallory-iss", "sub-mallory-key": "mallory-key"}


def _get(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a plain GET, no cookies."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_odd_callbacks_and_an_absent_provider_get_readable_pages(
    oidc_gateway: Gateway, gateway: Gateway, make_gateway: Callable[..., Gateway], oidc_provider: OidcProvider
) -> None:
    for query in ("", "?state=s&code=c", "?error=access_denied&state=s", "?state=" + "s" * 10000, "?code=%00&state=%ff"):
        status, kind, body = _get(f"{oidc_gateway.url}/ui/oidc/callback{query}")
        assert (status, kind.split(";")[0]) == (400, "text/html"), query
        assert "This sign-in was not started in this browser" in body
    assert _get(f"{gateway.url}/ui/oidc/start")[0] == 404  # not configured there
    assert "Sign in with" not in _get(f"{gateway.url}/ui/login")[2]

    nobody = f"http://127.0.0.1:{free_port()}"
    down = make_gateway(oidc_provider.gateway_env(GATEWAY_OIDC_ISSUER=nobody), add_users=False)
    status, kind, body = _get(f"{down.url}/ui/oidc/start")
    assert (status, kind.split(";")[0]) == (503, "text/html")
    assert "does not answer right now" in body
    assert "Sign in with OpenID Connect" in _get(f"{down.url}/ui/login")[2]  # the password form still works

    status, _, body = _get(f"{down.url}/readyz")
    assert status == 200, "a provider that does not answer is reported, and the gateway still takes traffic"
    assert json.loads(body)["checks"]["oidc_provider"]["status"] == "down"
    assert "discovery document does not answer" in json.loads(body)["checks"]["oidc_provider"]["reason"]
    assert "oidc: the provider's discovery document is unusable" in down.log_text()
    status, _, body = _get(f"{oidc_gateway.url}/readyz")
    assert status == 200 and json.loads(body)["checks"]["oidc_provider"]["status"] == "up"
    assert "oidc_provider" not in json.loads(_get(f"{gateway.url}/readyz")[2])["checks"]
