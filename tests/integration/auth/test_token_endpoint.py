"""GET /v2/token (docker token protocol) and POST /v2/token (OAuth2) against the real gateway."""

from __future__ import annotations

import asyncio
import base64
import datetime
import secrets
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import jwt
import pytest

from tests.support.client import USERS
from tests.support.processes import Gateway

ALICE = ("alice", USERS["alice"])
EMPTY_REPOSITORY = 404  # what an authorized token is answered for a repository nobody pushed to


def basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {raw}"}


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def get_token(
    session: aiohttp.ClientSession, gateway: Gateway, params: list[tuple[str, str]], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers or {}) as response:
        return response.status, dict(await response.json())


async def post_token(
    session: aiohttp.ClientSession, gateway: Gateway, form: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    async with session.post(f"{gateway.url}/v2/token", data=form, headers=headers or {}) as response:
        return response.status, dict(await response.json())


async def tags_status(session: aiohttp.ClientSession, gateway: Gateway, repository: str, token: str) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{gateway.url}/v2/{repository}/tags/list", headers=headers) as response:
        return response.status, response.headers.get("WWW-Authenticate", "")


@pytest.fixture
def fresh_user(gateway: Gateway) -> Iterator[tuple[str, str]]:
    """A user of its own, so disabling it cannot disturb other tests; re-enabled afterwards."""
    name, password = f"u{secrets.token_hex(5)}", secrets.token_urlsafe(12)
    gateway.add_user(name, password)
    yield name, password
    gateway.cli("user", "enable", name, check=False)


# --- GET -----------------------------------------------------------------------------------------


async def test_get_answers_token_and_access_token_with_sane_timing(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    before = datetime.datetime.now(datetime.UTC)
    status, body = await get_token(session, gateway, [("service", gateway.host), ("scope", "repository:alice/app:pull")], basic(*ALICE))
    assert status == 200, body
    assert body["token"] == body["access_token"]
    assert isinstance(body["expires_in"], int) and body["expires_in"] >= 60
    issued_at = datetime.datetime.fromisoformat(body["issued_at"])
    assert issued_at.tzinfo is not None
    assert abs((issued_at - before).total_seconds()) < 10
    claims = claims_of(body["token"])
    assert claims["exp"] - claims["iat"] == body["expires_in"]


async def test_get_answer_is_not_cacheable(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    async with session.get(f"{gateway.url}/v2/token", params={"service": gateway.host}, headers=basic(*ALICE)) as response:
        assert response.status == 200
        assert "no-store" in response.headers["Cache-Control"]


async def test_subject_is_the_authenticated_user_not_the_account_parameter(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    params = [("service", gateway.host), ("account", "bob"), ("scope", "repository:bob/x:pull")]
    status, body = await get_token(session, gateway, params, basic(*ALICE))
    assert status == 200
    claims = claims_of(body["token"])
    assert claims["sub"] == "alice"
    assert claims["access"] == []


async def test_grant_is_requested_intersected_with_allowed(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    params = [
        ("service", gateway.host),
        ("scope", "repository:alice/app:pull,push,delete"),
        ("scope", "repository:bob/x:pull"),
    ]
    status, body = await get_token(session, gateway, params, basic(*ALICE))
    assert status == 200
    assert claims_of(body["token"])["access"] == [
        {"type": "repository", "name": "alice/app", "actions": ["pull", "push", "delete"]}
    ]
    assert body["scope"] == "repository:alice/app:pull,push,delete"


async def test_space_separated_scopes_in_one_parameter_are_all_considered(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    params = [("service", gateway.host), ("scope", "repository:alice/app:pull repository:alice/base:pull,push")]
    status, body = await get_token(session, gateway, params, basic(*ALICE))
    assert status == 200
    assert claims_of(body["token"])["access"] == [
        {"type": "repository", "name": "alice/app", "actions": ["pull"]},
        {"type": "repository", "name": "alice/base", "actions": ["pull", "push"]},
    ]


async def test_unparseable_scopes_are_dropped_not_fatal(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    params = [("service", gateway.host), ("scope", "garbage"), ("scope", "repository:alice/app:fly,pull")]
    status, body = await get_token(session, gateway, params, basic(*ALICE))
    assert status == 200
    assert claims_of(body["token"])["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull"]}]


@pytest.mark.parametrize(
    "headers",
    [{}, basic("", ""), basic("", "some-password")],
    ids=["no-authorization", "basic-empty-user", "basic-empty-user-with-password"],
)
async def test_anonymous_request_gets_an_empty_grant(
    session: aiohttp.ClientSession, gateway: Gateway, headers: dict[str, str]
) -> None:
    params = [("service", gateway.host), ("scope", "repository:alice/app:pull")]
    status, body = await get_token(session, gateway, params, headers)
    assert status == 200, body
    claims = claims_of(body["token"])
    assert claims["sub"] == ""
    assert claims["access"] == []


async def test_anonymous_request_gets_no_refresh_token(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    params = [("service", gateway.host), ("offline_token", "true"), ("client_id", "docker")]
    status, body = await get_token(session, gateway, params)
    assert status == 200
    assert "refresh_token" not in body


async def test_wrong_password_is_401(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    async with session.get(
        f"{gateway.url}/v2/token", params={"service": gateway.host}, headers=basic("alice", "wrong-password")
    ) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        body = await response.json()
        assert "token" not in body


async def test_unknown_user_is_401(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    status, body = await get_token(session, gateway, [("service", gateway.host)], basic("nobody", "x"))
    assert status == 401
    assert "token" not in body


@pytest.mark.parametrize(
    "value",
    ["Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic é", "Basic \u00ff\u00fe"],
    ids=["bearer", "bad-base64", "no-colon", "non-ascii", "latin1"],
)
async def test_malformed_authorization_on_the_token_endpoint_is_401(
    session: aiohttp.ClientSession, gateway: Gateway, value: str
) -> None:
    async with session.get(f"{gateway.url}/v2/token", params={"service": gateway.host}, headers={"Authorization": value}) as response:
        assert response.status == 401


async def test_unknown_service_is_400(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    status, body = await get_token(session, gateway, [("service", "registry.example.com")], basic(*ALICE))
    assert status == 400
    assert body["error"] == "invalid_request"
    assert "token" not in body


async def test_offline_token_request_returns_a_refresh_token(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    params = [("service", gateway.host), ("offline_token", "true"), ("client_id", "docker")]
    status, body = await get_token(session, gateway, params, basic(*ALICE))
    assert status == 200
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 32
    assert body["refresh_token"] != body["token"]


async def test_no_refresh_token_unless_asked(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    status, body = await get_token(session, gateway, [("service", gateway.host)], basic(*ALICE))
    assert status == 200
    assert "refresh_token" not in body


# --- POST ----------------------------------------------------------------------------------------


async def _refresh_token(session: aiohttp.ClientSession, gateway: Gateway, user: str, password: str) -> str:
    params = [("service", gateway.host), ("offline_token", "true"), ("client_id", "docker")]
    status, body = await get_token(session, gateway, params, basic(user, password))
    assert status == 200, body
    return str(body["refresh_token"])


async def test_refresh_grant_issues_a_token_for_the_refresh_tokens_user(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    refresh = await _refresh_token(session, gateway, *ALICE)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh,
        "service": gateway.host,
        "client_id": "docker",
        "scope": "repository:alice/app:pull,push repository:bob/x:pull",
    }
    status, body = await post_token(session, gateway, form)
    assert status == 200, body
    claims = claims_of(body["access_token"])
    assert claims["sub"] == "alice"
    assert claims["aud"] == gateway.host
    assert claims["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}]
    assert body["scope"] == "repository:alice/app:pull,push"
    assert body["expires_in"] >= 60
    datetime.datetime.fromisoformat(body["issued_at"])
    status, _ = await tags_status(session, gateway, "alice/app", body["access_token"])
    assert status == EMPTY_REPOSITORY, "authorized: the registry answers that the repository is empty"


async def test_refresh_token_is_not_a_registry_token(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    refresh = await _refresh_token(session, gateway, *ALICE)
    status, challenge = await tags_status(session, gateway, "alice/app", refresh)
    assert status == 401
    assert 'error="invalid_token"' in challenge


async def test_password_grant_with_offline_access_returns_a_refresh_token(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    form = {
        "grant_type": "password",
        "username": "alice",
        "password": USERS["alice"],
        "service": gateway.host,
        "client_id": "docker",
        "access_type": "offline",
        "scope": "repository:alice/app:pull",
    }
    status, body = await post_token(session, gateway, form)
    assert status == 200, body
    assert claims_of(body["access_token"])["sub"] == "alice"
    refresh = body["refresh_token"]
    again = {"grant_type": "refresh_token", "refresh_token": refresh, "service": gateway.host, "client_id": "docker"}
    status, body = await post_token(session, gateway, again)
    assert status == 200, body
    assert claims_of(body["access_token"])["sub"] == "alice"


async def test_password_grant_without_offline_access_has_no_refresh_token(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    form = {"grant_type": "password", "username": "alice", "password": USERS["alice"], "service": gateway.host}
    status, body = await post_token(session, gateway, form)
    assert status == 200, body
    assert "refresh_token" not in body


async def test_password_grant_with_a_wrong_password_is_401(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    form = {"grant_type": "password", "username": "alice", "password": "wrong", "service": gateway.host}
    status, body = await post_token(session, gateway, form)
    assert status == 401
    assert body["error"] == "invalid_grant"


async def test_refresh_token_for_another_service_is_400(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    """Without a configured service the service is the Host; a token for one is refused for the other."""
    refresh = await _refresh_token(session, gateway, *ALICE)
    other = f"localhost:{gateway.port}"
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": other, "client_id": "docker"}
    status, body = await post_token(session, gateway, form, headers={"Host": other})
    assert status == 400
    assert body["error"] == "invalid_grant"
    assert "access_token" not in body


@pytest.mark.parametrize("garbage", ["", "pgr_not-a-real-token", "x" * 5000])
async def test_garbage_refresh_token_is_400(session: aiohttp.ClientSession, gateway: Gateway, garbage: str) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": garbage, "service": gateway.host}
    status, body = await post_token(session, gateway, form)
    assert status == 400
    assert body["error"] == "invalid_grant"
    assert "access_token" not in body


async def test_unknown_grant_type_is_400(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    status, body = await post_token(session, gateway, {"grant_type": "client_credentials", "service": gateway.host})
    assert status == 400
    assert body["error"] == "unsupported_grant_type"


async def test_post_that_is_not_a_form_is_400(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    async with session.post(f"{gateway.url}/v2/token", json={"grant_type": "password"}) as response:
        assert response.status == 400


async def test_a_form_in_a_charset_python_does_not_know_is_400(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    form = f"grant_type=password&username=alice&password=x&service={gateway.host}"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=no-such-charset"}
    async with session.post(f"{gateway.url}/v2/token", data=form, headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_request"
    assert "Traceback" not in gateway.log_text()


# --- answers reused within their second ------------------------------------------------------------


async def test_the_same_request_within_a_second_gets_the_very_same_token(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    params = [("service", gateway.host), ("scope", "repository:alice/reused:pull")]
    for _ in range(5):
        await _start_of_a_second()
        _, first = await get_token(session, gateway, params, basic(*ALICE))
        _, second = await get_token(session, gateway, params, basic(*ALICE))
        if claims_of(first["token"])["iat"] == claims_of(second["token"])["iat"]:
            assert first["token"] == second["token"], "two answers within one second differ"
            return
    pytest.fail("no two requests fell into the same second in five tries")


async def _start_of_a_second() -> None:
    """Wait for the next second to begin, so that two quick requests have most of it to share."""
    await asyncio.sleep(int(time.time()) + 1 - time.time())


async def test_a_commit_to_the_store_ends_the_reuse_within_the_second(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    params = [("service", gateway.host), ("scope", "repository:alice/recommitted:pull")]
    admin = basic(*Gateway.ADMIN)
    for _ in range(5):
        await _start_of_a_second()
        _, first = await get_token(session, gateway, params, basic(*ALICE))
        async with session.post(f"{gateway.url}/api/v1/teams", json={"name": f"t{secrets.token_hex(5)}"}, headers=admin) as response:
            assert response.status == 201, await response.text()
        _, second = await get_token(session, gateway, params, basic(*ALICE))
        if claims_of(first["token"])["iat"] == claims_of(second["token"])["iat"]:
            assert first["token"] != second["token"], "an answer made before the commit was given after it"
            return
    pytest.fail("no two requests fell into the same second in five tries")


async def test_offline_requests_each_get_their_own_token_and_refresh_token(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    params = [("service", gateway.host), ("scope", "repository:alice/offline:pull"), ("offline_token", "true")]
    answers = [(await get_token(session, gateway, params, basic(*ALICE)))[1] for _ in range(3)]
    assert len({a["refresh_token"] for a in answers}) == 3
    assert len({a["token"] for a in answers}) == 3


# --- disabling users -----------------------------------------------------------------------------


async def test_disabled_user_can_neither_refresh_nor_log_in(
    session: aiohttp.ClientSession, gateway: Gateway, fresh_user: tuple[str, str]
) -> None:
    name, password = fresh_user
    refresh = await _refresh_token(session, gateway, name, password)
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": gateway.host}
    status, _ = await post_token(session, gateway, form)
    assert status == 200

    gateway.cli("user", "disable", name)
    status, body = await post_token(session, gateway, form)
    assert status == 400
    assert "access_token" not in body
    status, _ = await get_token(session, gateway, [("service", gateway.host)], basic(name, password))
    assert status == 401

    gateway.cli("user", "enable", name)
    status, _ = await get_token(session, gateway, [("service", gateway.host)], basic(name, password))
    assert status == 200
    status, _ = await post_token(session, gateway, form)
    assert status == 400, "refresh tokens revoked by disabling stay revoked"


# The gateway re-reads who is disabled when the store changes (within a poll); this deadline
# only keeps a broken gateway from hanging the test, it is no promise of speed.
REVOCATION_DEADLINE = 30.0


async def _wait_until(session: aiohttp.ClientSession, gateway: Gateway, repository: str, token: str, want_refused: bool) -> None:
    """Poll until the token is refused (401 invalid_token) or accepted again (404: the repository is empty)."""
    deadline = time.monotonic() + REVOCATION_DEADLINE
    while time.monotonic() < deadline:
        status, challenge = await tags_status(session, gateway, repository, token)
        if want_refused and status == 401:
            assert 'error="invalid_token"' in challenge
            return
        if not want_refused and status != 401:
            assert status == EMPTY_REPOSITORY, status
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"token still {'accepted' if want_refused else 'refused'} after {REVOCATION_DEADLINE:.0f} s")


async def test_disabling_a_user_stops_their_issued_tokens_and_enabling_restores_them(
    session: aiohttp.ClientSession, gateway: Gateway, fresh_user: tuple[str, str]
) -> None:
    name, password = fresh_user
    repository = f"{name}/app"
    params = [("service", gateway.host), ("scope", f"repository:{repository}:pull")]
    status, body = await get_token(session, gateway, params, basic(name, password))
    assert status == 200
    token = body["token"]
    status, _ = await tags_status(session, gateway, repository, token)
    assert status == EMPTY_REPOSITORY, "authorized: the registry answers that the repository is empty"

    gateway.cli("user", "disable", name)
    await _wait_until(session, gateway, repository, token, want_refused=True)

    gateway.cli("user", "enable", name)
    await _wait_until(session, gateway, repository, token, want_refused=False)
