"""Whatever the input, the API answers JSON `{"error": {"code", "message"}}` with a 4xx, never a 500.

(Api.call itself asserts the error shape on every 4xx/5xx answer.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import aiohttp
import pytest

from tests.integration.api.conftest import PASSWORD, Api, no_traceback_since, unique
from tests.support.processes import Gateway


async def test_no_credentials_is_401_with_a_basic_challenge(admin: Api) -> None:
    for path in ("/users", "/teams", "/namespaces", "/repositories", "/users/alice/tokens"):
        reply = await admin.anonymous().get(path)
        assert reply.status == 401 and reply.error_code == "unauthorized", (path, reply)
        assert reply.headers["WWW-Authenticate"] == 'Basic realm="portus-gateway"'


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc.def.ghi",
        "Basic not-base64!!",
        "Basic " + "QQ==",  # "A": no colon
        "Basic OnNlY3JldA==",  # ":secret": no user name
        "Basic /w==",  # not UTF-8
        aiohttp.encode_basic_auth("x" * 5000, "y"),
    ],
)
async def test_malformed_credentials_are_401(admin: Api, authorization: str) -> None:
    reply = await admin.anonymous().call("GET", "/teams", headers={"Authorization": authorization})
    assert reply.status == 401 and reply.headers["WWW-Authenticate"] == 'Basic realm="portus-gateway"'


async def test_wrong_password_is_401_and_repeated_failures_are_throttled_with_429(admin: Api) -> None:
    name = await admin.new_user()
    wrong = admin.as_(name, "not-the-password")
    statuses = [(await wrong.get(f"/users/{name}")).status for _ in range(5)]
    assert statuses == [401] * 5
    throttled = await wrong.get(f"/users/{name}")
    assert throttled.status == 429 and throttled.error_code == "too_many_requests"
    assert int(throttled.headers["Retry-After"]) >= 1
    # others are not locked out
    assert (await admin.get(f"/users/{name}")).status == 200


async def test_malformed_json_and_wrong_bodies_are_400(admin: Api) -> None:
    path = "/teams"
    deep_inside = b'{"name": ' + b"[" * 20000 + b"]" * 20000 + b"}"
    for raw in (b"{", b"not json", b"", b"   ", b"\xff\xfe{}", b"[" * 50000, deep_inside, b'{"name": "a"} trailing', b"null", b"42", b'"text"'):
        reply = await admin.call("POST", path, raw=raw, headers={"Content-Type": "application/json"})
        assert reply.status == 400 and reply.error_code == "bad_request", (raw[:20], reply)
    reply = await admin.call("POST", path, raw=b'{"name": 1e999999}', headers={"Content-Type": "application/json"})
    assert reply.status == 400


async def test_duplicate_keys_and_huge_numbers_do_not_break_anything(admin: Api) -> None:
    user = await admin.new_user()
    raw = '{"password": "first-password", "password": "second-password"}'
    assert (await admin.call("PATCH", f"/users/{user}", raw=raw)).status == 200
    raw = '{"admin": ' + "9" * 5000 + "}"
    assert (await admin.call("PATCH", f"/users/{user}", raw=raw)).status == 400


async def test_oversize_body_is_413(admin: Api) -> None:
    reply = await admin.call("POST", "/teams", raw=b'{"name": "' + b"a" * 200_000 + b'"}')
    assert reply.status == 413 and reply.error_code == "too_large"
    reply = await admin.call("POST", "/teams", raw=b"[" * (3 * 1024 * 1024))
    assert reply.status == 413 and reply.error_code == "too_large"


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=-1", "limit=abc", "limit=1.5", "limit=", "limit=99999999999", "after=" + "a" * 256])
async def test_bad_paging_parameters_are_400(admin: Api, query: str) -> None:
    for path in ("/users", "/teams", "/namespaces", "/repositories", "/users/alice/tokens", "/teams/nosuch/members"):
        reply = await admin.get(f"{path}?{query}")
        assert reply.status == 400 and ("limit" in reply.message or "after" in reply.message), (path, query, reply)


async def test_limit_bounds_are_inclusive(admin: Api) -> None:
    assert len((await admin.ok("GET", "/users?limit=1"))["items"]) == 1
    assert (await admin.get("/users?limit=1000")).status == 200


async def test_unknown_paths_and_methods_are_json(admin: Api) -> None:
    missing = await admin.get("/nothing/here")
    assert missing.status == 404 and missing.error_code == "not_found"
    wrong_method = await admin.call("PUT", "/users")
    assert wrong_method.status == 405 and wrong_method.error_code == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"] and "POST" in wrong_method.headers["Allow"]


async def test_odd_names_in_paths_are_400_or_404_never_500(admin: Api) -> None:
    for path in (
        "/users/%2e%2e", "/users/a%2Fb", "/users/%00", "/users/%F0%9F%92%A9", "/users/" + "a" * 300,
        "/teams/%20", "/namespaces/..", "/namespaces/" + "b" * 300, "/repositories/%2F/tags",
        "/users/alice/tokens/%2e", "/teams/x/members/" + "Y" * 70,
    ):
        reply = await admin.get(path)
        assert reply.status in (400, 404, 405), (path, reply)


async def test_store_failure_is_a_json_503(make_gateway: Callable[..., Gateway], session: aiohttp.ClientSession) -> None:
    gateway = make_gateway()
    api = Api(session, gateway, Gateway.ADMIN)
    assert (await api.get("/users/alice")).status == 200
    database = gateway.workdir / "data" / "gateway.db"
    with sqlite3.connect(database) as connection:
        connection.execute("ALTER TABLE users RENAME TO users_gone")
    reply = await api.get("/users/alice")
    assert reply.status == 503 and reply.error_code == "unavailable", reply
    reply = await api.post("/teams", {"name": unique("t")})
    assert reply.status == 503
    no_traceback_since(gateway, 0, allow_5xx=True)


async def test_every_error_body_has_the_one_shape(admin: Api) -> None:
    """A sample across kinds; Api.call checks the exact `{"error": {"code", "message"}}` shape."""
    user = await admin.new_user()
    replies = [
        await admin.anonymous().get("/users"),
        await admin.as_(user, "wrong-password").get(f"/users/{user}"),
        await admin.as_(user).get("/users"),
        await admin.get(f"/users/{unique('nobody')}"),
        await admin.post("/users", {"name": "bob", "password": PASSWORD}),
        await admin.post("/users", {"name": 1}),
    ]
    assert [r.status for r in replies] == [401, 401, 403, 404, 409, 400]
    assert all(isinstance(r.message, str) and r.message for r in replies)


async def test_a_name_with_a_trailing_newline_is_400(admin: Api) -> None:
    """`$` in Python also matches before a final newline: `"web\\n"` used to pass for a name."""
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    refused = [
        ("POST", "/users", {"name": "web\n", "password": "long-enough-password"}),
        ("POST", "/teams", {"name": "web\n"}),
        ("POST", "/namespaces", {"name": "web\n", "team": team}),
        ("POST", "/namespaces", {"name": "web", "team": f"{team}\n"}),
        ("POST", f"/users/{owner}/tokens", {"name": "web\n"}),
        ("POST", f"/users/{owner}/tokens", {"name": "ci", "namespaces": ["web\n"]}),
        ("PUT", f"/teams/{team}/members/web%0A", {"role": "viewer"}),
        ("GET", "/users/web%0A", None),
        ("GET", "/namespaces/web%0A", None),
        ("POST", "/webhooks", {"name": "web\n", "url": "http://127.0.0.1:9/hook", "secret": "a-secret-value"}),
    ]
    for method, path, body in refused:
        reply = await admin.call(method, path, body) if body is not None else await admin.call(method, path)
        assert reply.status == 400, (method, path, body, reply)
    assert (await admin.get("/teams")).status == 200
    assert "web\n" not in [t["name"] for t in (await admin.ok("GET", "/teams"))["items"]]
