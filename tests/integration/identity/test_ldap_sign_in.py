"""LDAP sign-in through the whole application, in-process, against the session's real slapd and
registry: the token endpoint, the API and the web UI's sign-in take directory passwords; the
first sign-in creates the user, the admin group makes admins and mapped groups team members;
a sync takes access away with the tokens issued before it; a directory that does not answer is
a clear 503 for its users while local accounts and application tokens keep working."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.app import create_app
from gateway.auth.credentials import hash_password
from gateway.config import load_settings
from gateway.identity.group_sync import GroupPlan
from gateway.identity.ldap import DirectoryEntry, LdapDirectory
from gateway.identity.ldap_login import LdapSignIn
from gateway.services import directory
from gateway.services.context import Services
from gateway.store import AppToken
from tests.support.processes import Registry
from tests.support.slapd import Slapd, gateway_env, password, person_dn

ADMIN, ADMIN_PW = "root", "root-local-password"
TEAM = "web"
REPO = f"{TEAM}/app"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def ldap_env(slapd: Slapd, data_dir: Path, upstream: str) -> dict[str, str]:
    return {
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_UPSTREAM_URL": upstream,
        "GATEWAY_AUTH_PASSWORD_COST": "10",
        "GATEWAY_ADMIN_USERNAME": ADMIN,
        "GATEWAY_ADMIN_PASSWORD": ADMIN_PW,
        **gateway_env(slapd, TEAM),
        "GATEWAY_LDAP_SYNC_INTERVAL": "3600",  # the tests sync when they want to
    }


@pytest.fixture
async def client(slapd: Slapd, registry: Registry, tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    """The gateway in-process with the LDAP settings, the team `web` and its private namespace."""
    app = create_app(load_settings(ldap_env(slapd, tmp_path / "data", registry.url)), announce_setup=False)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        store = app[keys.STORE]
        await store.create_team(TEAM)
        await store.create_namespace(TEAM, TEAM, "private")
        yield test_client


def _services(client: TestClient[Any, Any]) -> Services:
    app = client.app
    return Services(app[keys.STORE], app[keys.HASHER], app[keys.REVOCATIONS], app[keys.POLICY_RULES])


def _basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(user, secret)}


async def token(client: TestClient[Any, Any], user: str, secret: str, *scopes: str) -> tuple[int, dict[str, Any]]:
    response = await client.get("/v2/token", params=[("scope", s) for s in scopes], headers=_basic(user, secret))
    return response.status, await response.json()


async def granted(client: TestClient[Any, Any], user: str, secret: str = "", scope: str = f"repository:{REPO}:pull,push") -> str:
    status, body = await token(client, user, secret or password(user), scope)
    assert status == 200, body
    return str(body["scope"])


async def web_sign_in(client: TestClient[Any, Any], user: str, secret: str) -> tuple[int, str]:
    page = await client.get("/ui/login")
    found = _CSRF.search(await page.text())
    assert found is not None
    origin = str(client.make_url("/").origin())
    response = await client.post(
        "/ui/login", data={"csrf": found.group(1), "username": user, "password": secret}, headers={"Origin": origin},
        allow_redirects=False,
    )
    return response.status, await response.text()


async def test_a_directory_password_works_at_the_token_endpoint_the_api_and_the_web_ui(client: TestClient[Any, Any]) -> None:
    store = client.app[keys.STORE]
    assert await store.get_user("lara") is None
    assert await granted(client, "lara") == f"repository:{REPO}:pull,push", "web-devs are contributors of web"
    user = await store.get_user("lara")
    assert user is not None and (user.source, user.password_hash, user.admin) == ("ldap", "", False)
    assert user.email == "lara@example.org", "from the directory's email_attribute"
    members = [(m.team, m.role, m.managed_by) for m in await store.user_memberships("lara")]
    assert members == [(TEAM, "contributor", "ldap")]

    posted = await client.post(
        "/v2/token", data={"grant_type": "password", "username": "lara", "password": password("lara"), "scope": ""}
    )
    assert posted.status == 200, await posted.text()
    me = await client.get("/api/v1/users/lara", headers=_basic("lara", password("lara")))
    assert me.status == 200 and (await me.json())["source"] == "ldap"
    status, _ = await web_sign_in(client, "lara", password("lara"))
    assert status == 303
    account = await (await client.get("/ui/account")).text()
    assert "password of the LDAP directory; change it there" in account and "new_password" not in account


async def test_the_directory_s_email_is_shown_to_admins_and_the_user_only(client: TestClient[Any, Any]) -> None:
    await granted(client, "lara")
    await granted(client, "lisa")
    for reader in ("lara", "lucy"):  # herself; lucy is an admin (cn=admins)
        reply = await client.get("/api/v1/users/lara", headers=_basic(reader, password(reader)))
        assert reply.status == 200 and (await reply.json())["email"] == "lara@example.org", reader
    assert (await client.get("/api/v1/users/lara", headers=_basic("lisa", password("lisa")))).status == 403

    store = client.app[keys.STORE]
    await store.set_user_email("lisa", '"<b>lisa</b>"@example.org')  # a quoted local part may hold markup
    assert (await web_sign_in(client, ADMIN, ADMIN_PW))[0] == 303
    page = await (await client.get("/ui/users")).text()
    assert '<td class="user-email">lara@example.org</td>' in page
    assert "&#34;&lt;b&gt;lisa&lt;/b&gt;&#34;@example.org" in page and "<b>lisa</b>" not in page


async def test_a_sync_brings_a_changed_email(client: TestClient[Any, Any], slapd: Slapd) -> None:
    await granted(client, "lou")
    change = "dn: {dn}\nchangetype: modify\nreplace: mail\nmail: {mail}\n"
    slapd.modify(change.format(dn=person_dn("lou"), mail="lou.new@example.org"))
    try:
        await client.app[keys.LDAP].sync_all()
    finally:
        slapd.modify(change.format(dn=person_dn("lou"), mail="lou@example.org"))
    user = await client.app[keys.STORE].get_user("lou")
    assert user is not None and user.email == "lou.new@example.org"


def _member_rows(page: str) -> dict[str, str]:
    """The team page's members: name -> what manages the membership."""
    rows = re.findall(r'<tr class="member-row">.*?</tr>', page, re.DOTALL)
    found = [re.search(r'class="member-name">([^<]*)<.*class="member-managed">([^<]*)<', row, re.DOTALL) for row in rows]
    return {match.group(1): match.group(2) for match in found if match is not None}


async def test_the_team_page_shows_the_memberships_a_sync_manages_until_an_owner_sets_one_by_hand(
    client: TestClient[Any, Any]
) -> None:
    store = client.app[keys.STORE]
    await granted(client, "lara")  # web-devs: contributor of web, managed by the directory
    await store.create_user("hank", hash_password("hank-local-password", cost=10))
    await store.set_member(TEAM, "hank", "viewer")
    assert (await web_sign_in(client, ADMIN, ADMIN_PW))[0] == 303
    page = await (await client.get(f"/ui/teams/{TEAM}")).text()
    assert _member_rows(page) == {"lara": "the LDAP directory", "hank": "by hand"}
    assert 'id="managed-note"' in page and "a sync, or the member's next sign-in," in page

    found = _CSRF.search(page)
    assert found is not None
    changed = await client.post(
        f"/ui/teams/{TEAM}/members/lara/role", data={"csrf": found.group(1), "role": "viewer"},
        headers={"Origin": str(client.make_url("/").origin())}, allow_redirects=False,
    )
    assert changed.status == 303, await changed.text()
    page = await (await client.get(f"/ui/teams/{TEAM}")).text()
    assert _member_rows(page) == {"lara": "by hand", "hank": "by hand"} and 'id="managed-note"' not in page
    await client.app[keys.LDAP].sync_all()
    assert [(m.role, m.managed_by) for m in await store.user_memberships("lara")] == [("viewer", None)], "the sync leaves it"


async def test_an_imported_portus_token_of_a_directory_user_works_as_their_password(client: TestClient[Any, Any]) -> None:
    """Portus's LDAP users had application tokens for CI; imported, the directory's bind refuses
    them, and the login goes on to the user's imported tokens."""
    assert await granted(client, "lara") == f"repository:{REPO}:pull,push"
    secret = "AbCdEfGhIjKlMnOpQrSt"  # a Portus token: 20 URL-safe characters
    store = client.app[keys.STORE]
    await store.create_app_token(AppToken(
        id="imp1", username="lara", name="ci", secret_hash="", namespaces=(), actions=("pull", "push", "delete"),
        expires_at=None, created_at=0, last_used_at=None, origin="portus",
        legacy_hash=bcrypt.hashpw(secret.encode(), bcrypt.gensalt(4)).decode(),
    ))
    assert await granted(client, "lara", secret) == f"repository:{REPO}:pull,push"
    status, _ = await token(client, "lara", "AbCdEfGhIjKlMnOpQrSx", f"repository:{REPO}:pull")
    assert status == 401, "another 20-character secret is neither the directory password nor the token"


async def test_the_admin_group_makes_an_admin_and_others_are_not(client: TestClient[Any, Any]) -> None:
    listing = await client.get("/api/v1/users", headers=_basic("lucy", password("lucy")))
    assert listing.status == 200, "lucy is in cn=admins"
    listing = await client.get("/api/v1/users", headers=_basic("lisa", password("lisa")))
    assert listing.status == 403
    assert await granted(client, "lisa") == "", "in no mapped group: nothing in web's private namespace"


@pytest.mark.parametrize(
    ("user", "secret"),
    [("lara", "not-laras-password"), ("lara", ""), ("nobody", "whatever-password"), ("*)(uid=*", "lara-ldap-pw"), ("Lara", "lara-ldap-pw")],
)
async def test_wrong_unknown_and_injected_credentials_are_refused(client: TestClient[Any, Any], user: str, secret: str) -> None:
    status, body = await token(client, user, secret)
    assert (status, body["error"]) == (401, "invalid_grant")
    assert await client.app[keys.STORE].list_users_from("ldap") == []


@pytest.mark.parametrize(
    "user", ["la\\ra", "la(ra", "lara\x00", "l\u00e4ra", "\uff4c\uff41\uff52\uff41"],
    ids=["backslash", "parenthesis", "nul", "non-ascii", "fullwidth"],
)
async def test_hostile_names_at_the_token_endpoint_are_refused_before_the_directory(
    client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch, user: str
) -> None:
    asked: list[str] = []
    directory_client = client.app[keys.LDAP].directory
    real = directory_client.authenticate

    async def counted(username: str, secret: str) -> DirectoryEntry | None:
        asked.append(username)
        return await real(username, secret)

    monkeypatch.setattr(directory_client, "authenticate", counted)
    basic = base64.b64encode(f"{user}:{password('lara')}".encode()).decode()  # UTF-8, as clients send it
    response = await client.get("/v2/token", headers={"Authorization": f"Basic {basic}"})
    assert (response.status, (await response.json())["error"]) == (401, "invalid_grant")
    assert asked == [], "no valid user name: the directory is not asked (test_ldap_directory escapes them anyway)"
    assert await client.app[keys.STORE].list_users_from("ldap") == []
    assert await granted(client, "lara") == f"repository:{REPO}:pull,push" and asked == ["lara"]


async def test_a_burst_of_the_same_sign_in_binds_once(client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    directory_client = client.app[keys.LDAP].directory
    binds: list[str] = []
    real = directory_client.authenticate

    async def counted(username: str, secret: str) -> DirectoryEntry | None:
        binds.append(username)
        return await real(username, secret)

    monkeypatch.setattr(directory_client, "authenticate", counted)
    answers = await asyncio.gather(*(token(client, "lara", password("lara"), f"repository:{REPO}:pull") for _ in range(8)))
    assert [status for status, _ in answers] == [200] * 8
    assert binds == ["lara"]
    wrong = await asyncio.gather(*(token(client, "lara", "not-her-password") for _ in range(3)))
    assert [status for status, _ in wrong] == [401] * 3
    assert binds == ["lara", "lara"], "a burst of the same wrong password is one bind too"


async def test_leaving_a_group_takes_push_away_at_the_next_sync_with_the_tokens_issued_before(
    client: TestClient[Any, Any], slapd: Slapd
) -> None:
    status, body = await token(client, "lena", password("lena"), f"repository:{REPO}:pull,push")
    assert status == 200 and body["scope"] == f"repository:{REPO}:pull,push"
    old = {"Authorization": f"Bearer {body['token']}"}
    assert (await client.get(f"/v2/{REPO}/tags/list", headers=old)).status != 401

    slapd.leave_group("lena", "web-devs")
    assert await granted(client, "lena") == f"repository:{REPO}:pull,push", "until the next sync (the login is cached)"
    done = await client.app[keys.LDAP].sync_all()
    assert (done.checked, done.changed, done.disabled) == (1, 1, 0)
    assert await client.app[keys.STORE].user_memberships("lena") == []
    refused = await client.get(f"/v2/{REPO}/tags/list", headers=old)
    assert refused.status == 401, "the token issued before the sync is void"
    assert await granted(client, "lena") == ""


async def test_a_sign_in_syncs_at_once_and_its_own_token_works(client: TestClient[Any, Any], slapd: Slapd) -> None:
    services = _services(client)
    await directory.provision_user(services, "lily", "ldap")  # synced before, never signed in here (nothing cached)
    await directory.apply_group_plan(services, "lily", "ldap", GroupPlan({TEAM: "contributor"}))
    slapd.leave_group("lily", "web-devs")
    status, body = await token(client, "lily", password("lily"), f"repository:{REPO}:pull,push", "repository:lily/own:pull,push")
    assert status == 200 and body["scope"] == "repository:lily/own:pull,push"
    assert await client.app[keys.STORE].user_memberships("lily") == []
    own = await client.get("/v2/lily/own/tags/list", headers={"Authorization": f"Bearer {body['token']}"})
    assert own.status != 401, "the sign-in's own token is issued after its sync, not voided by it"


async def test_a_user_gone_from_the_directory_is_disabled_at_the_next_sync(client: TestClient[Any, Any], slapd: Slapd) -> None:
    login = await client.get(  # as `docker login` does: it keeps the refresh token
        "/v2/token", params={"offline_token": "true", "client_id": "docker"}, headers=_basic("liam", password("liam"))
    )
    refresh_token = (await login.json())["refresh_token"]

    async def refresh() -> int:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": f"repository:{REPO}:pull"}
        return (await client.post("/v2/token", data=form)).status

    assert await refresh() == 200
    slapd.remove_person("liam")
    done = await client.app[keys.LDAP].sync_all()
    assert done.disabled == 1
    user = await client.app[keys.STORE].get_user("liam")
    assert user is not None and user.disabled
    status, _ = await token(client, "liam", password("liam"))
    assert status == 401
    assert await refresh() == 400, "docker's stored login ends with the account"


async def test_a_sync_that_finds_none_of_the_users_disables_nobody(client: TestClient[Any, Any], slapd: Slapd) -> None:
    for name in ("lara", "lisa"):
        await granted(client, name)
    app = client.app
    config = replace(app[keys.LDAP].directory.config, user_filter="(uid=renamed-{username})")  # a mistake in the settings
    blind = LdapDirectory(config)
    try:
        done = await LdapSignIn(blind, _services(client)).sync_all()
    finally:
        blind.close()
    assert (done.checked, done.disabled) == (2, 0)
    assert not any(user.disabled for user in await app[keys.STORE].list_users_from("ldap"))


async def test_a_directory_user_changes_their_password_in_the_directory_not_here(client: TestClient[Any, Any]) -> None:
    await granted(client, "lara")
    reply = await client.patch(
        "/api/v1/users/lara", json={"password": "a-new-local-password"}, headers=_basic("lara", password("lara"))
    )
    assert reply.status == 400 and "change the password there" in (await reply.json())["error"]["message"]


async def test_a_local_account_is_never_the_directory_s(client: TestClient[Any, Any]) -> None:
    await client.app[keys.STORE].create_user("leo", hash_password("leo-local-password", cost=10))
    assert (await token(client, "leo", password("leo")))[0] == 401, "leo's directory password is not his local one"
    assert (await token(client, "leo", "leo-local-password"))[0] == 200


async def test_directory_down_is_a_clear_503_for_its_users_while_local_users_and_app_tokens_work(
    client: TestClient[Any, Any], slapd: Slapd
) -> None:
    await granted(client, "lara")  # signs lara in (cached for a minute) and makes her account
    created = await client.post(
        "/api/v1/users/lara/tokens", json={"name": "ci", "namespaces": [TEAM], "actions": ["pull"]},
        headers=_basic("lara", password("lara")),
    )
    assert created.status == 201, await created.text()
    app_token = (await created.json())["secret"]

    with slapd.stopped():
        status, body = await token(client, "lisa", password("lisa"))
        assert status == 503 and body["errors"][0]["code"] == "UNAVAILABLE"
        assert "directory is unavailable" in body["error_description"]
        posted = await client.post(
            "/v2/token", data={"grant_type": "password", "username": "lisa", "password": password("lisa")}
        )
        assert posted.status == 503 and (await posted.json())["error"] == "temporarily_unavailable"
        api = await client.get("/api/v1/users/lisa", headers=_basic("lisa", password("lisa")))
        assert api.status == 503 and (await api.json())["error"]["code"] == "unavailable"
        status_ui, page = await web_sign_in(client, "lisa", password("lisa"))
        assert status_ui == 503 and "The user directory (LDAP) is unavailable" in page and "Traceback" not in page

        assert (await token(client, ADMIN, ADMIN_PW))[0] == 200, "the local (break-glass) admin"
        assert (await token(client, "lara", app_token, f"repository:{REPO}:pull"))[1]["scope"] == f"repository:{REPO}:pull"
        assert (await token(client, "lara", password("lara"), "repository:lara/x:pull"))[0] == 200, "cached for a minute"

        ready = await client.get("/readyz")
        checks = (await ready.json())["checks"]
        assert ready.status == 200 and checks["directory"]["status"] == "down"
    ready = await client.get("/readyz")
    assert (await ready.json())["checks"]["directory"]["status"] == "up"
    assert (await token(client, "lisa", password("lisa")))[0] == 200
