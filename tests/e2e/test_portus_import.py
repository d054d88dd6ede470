"""Moving from Portus with real clients: the gateway runs with the Portus container's own
environment (MariaDB store, machine FQDN, delete setting, Rails leftovers; loopback addresses),
a Portus database built in MariaDB is imported with the command line into its store; then the
Portus password pushes with skopeo (and is rehashed), the Portus application token passes
`docker login` and pushes, roles and a protected namespace decide grants at the token endpoint
as they did in Portus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from yarl import URL

from gateway.store import open_store
from tests.e2e.clients import Skopeo
from tests.e2e.test_docker_login import DockerCLI
from tests.integration.ui.test_cross_site import _form, _post
from tests.support.oci_layout import build_layout
from tests.support.portus import CONTRIBUTOR, OWNER, PROTECTED, VIEWER, PortusDatabase, portus_database
from tests.support.processes import Gateway, Registry, free_port, mariadb_database
from tests.support.waiting import eventually_async


@pytest.fixture
def portus() -> Iterator[PortusDatabase]:
    url, drop = mariadb_database("portus_e2e")
    with portus_database(url) as db:
        alice = db.user("alice", "alice-Portus-pw1", cost=10)  # as Portus stored it in production
        bob = db.user("bob", "bob-Portus-pw1")
        victor = db.user("victor", "victor-Portus-pw1")
        db.user("eve", "eve-Portus-pw1")
        team = db.team("web", {alice: OWNER, bob: CONTRIBUTOR, victor: VIEWER})
        db.namespace("web", team)
        db.namespace("shared", team, PROTECTED)
        db.token(alice, "alice", "ci")
        db.activity("team.add_member", ("Team", team), alice, ("User", bob))
        yield db
    drop()


async def ui_page(gateway: Gateway, user: str, password: str, path: str) -> str:
    """A web UI page as `user` sees it, signed in through the login form."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        token, jar = await _form(session, f"{gateway.url}/ui/login")
        form = {"csrf": token, "username": user, "password": password}
        status, _, cookies = await _post(session, f"{gateway.url}/ui/login", form, jar, gateway.url)
        assert status == 303, status
        async with session.get(f"{gateway.url}{path}", headers={"Cookie": f"portus_session={cookies['portus_session']}"}) as page:
            assert page.status == 200
            return await page.text()


async def token_shown_as_imported(gateway: Gateway, user: str, password: str) -> None:
    """The API and the web UI's token list say where the token came from."""
    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        async with session.get(f"{gateway.url}/api/v1/users/{user}/tokens", headers=auth) as response:
            body = await response.json()
    assert [(t["name"], t["imported_from"]) for t in body["items"]] == [("ci", "portus")], body
    assert 'ci <span class="meta">(imported from Portus)</span>' in await ui_page(gateway, user, password, "/ui/tokens")


async def granted(gateway: Gateway, user: str | None, password: str | None, scope: str) -> set[str]:
    """The actions the token endpoint grants on the scope's repository."""
    params = {"scope": scope}
    headers = {"Authorization": aiohttp.encode_basic_auth(user, password or "")} if user is not None else {}
    url = f"{gateway.url}/v2/token"
    async with aiohttp.ClientSession() as session, session.get(url, params=params, headers=headers) as response:
        body: dict[str, Any] = await response.json()
        assert response.status == 200, body
    access = jwt.decode(body["token"], options={"verify_signature": False})["access"]
    return {action for entry in access for action in entry["actions"]}


@pytest.fixture
def portus_gateway(registry: Registry, tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    """A gateway started with Portus's variables for its store, name and delete setting: (gateway, store URL)."""
    store_url, drop = mariadb_database("portus_gateway_store")
    store = URL(store_url)
    port = free_port()
    env = {
        "MARIADB_HOST": store.host or "127.0.0.1", "MARIADB_PORT": str(store.port or 3306), "MARIADB_USER": store.user or "root",
        "MARIADB_PASSWORD": store.password or "", "MARIADB_DATABASE": store.path.strip("/"),
        "PORTUS_MACHINE_FQDN_VALUE": f"127.0.0.1:{port}", "PORTUS_DELETE_ENABLED": "false", "PUMA_WORKERS": "1",
        "PORTUS_SECRET_KEY_BASE": "b" * 64, "RACK_ENV": "production", "RAILS_SERVE_STATIC_FILES": "true",
    }
    gateway = Gateway(tmp_path / "gateway", registry.url, env, port=port)
    try:
        yield gateway.start(), store_url
    finally:
        gateway.stop()
        drop()


async def test_a_portus_installation_moves_over_with_its_passwords_tokens_and_roles(
    portus: PortusDatabase, portus_gateway: tuple[Gateway, str], tmp_path: Path
) -> None:
    gateway, store_url = portus_gateway
    log = gateway.log_text()
    assert "MARIADB_HOST/PORT/USER/PASSWORD/DATABASE (Portus's) is read as GATEWAY_DATABASE_URL" in log
    assert "ignored, Portus settings that mean nothing to the gateway: PORTUS_SECRET_KEY_BASE, RACK_ENV" in log
    imported = gateway.cli("import", "portus", "--from", portus.url)
    assert "user:" in imported.stdout and "4 imported" in imported.stdout, imported.stdout + imported.stderr
    again = gateway.cli("import", "portus", "--from", portus.url)
    assert "nothing to change" in again.stdout, again.stdout

    # The Portus password pushes with skopeo into the team namespace alice owns...
    layout = build_layout(tmp_path / "layout", layers=1, seed="portus-import", tag="v1")
    skopeo = Skopeo.create(gateway, tmp_path / "skopeo")
    pushed = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref("web/app", "v1"), dest_creds="alice:" + portus.passwords["alice"])
    assert pushed.ok, pushed.describe()

    # ...and is rehashed with the gateway's KDF after that first login.
    async def alice_hash() -> str:
        store = await open_store(store_url)
        try:
            user = await store.get_user("alice")
            assert user is not None
            return user.password_hash
        finally:
            await store.close()

    assert (await eventually_async(alice_hash, lambda h: h.startswith("scrypt$"))).startswith("scrypt$")

    # The Portus application token passes docker login and pushes, as CI used it.
    token = portus.tokens[("alice", "ci")]
    docker = DockerCLI(tmp_path / "docker-config")
    login = docker.login(gateway.host, "alice", token)
    assert login.ok and "Login Succeeded" in login.stdout, login.describe()
    with_token = skopeo.copy(f"oci:{layout.path}:v1", skopeo.ref("web/app", "ci"), dest_creds=f"alice:{token}")
    assert with_token.ok, with_token.describe()
    listed = gateway.cli("token", "list", "alice")
    assert "ci id=" in listed.stdout and "imported=portus" in listed.stdout
    await token_shown_as_imported(gateway, "alice", portus.passwords["alice"])
    assert "portus team.add_member" in await ui_page(gateway, *Gateway.ADMIN, "/ui/audit?action=portus")

    # Roles as in Portus: a contributor pushes, a viewer only pulls; a protected namespace is
    # pulled by any signed-in user, not by anonymous callers or into a private one.
    scope = "repository:web/app:pull,push"
    assert await granted(gateway, "bob", portus.passwords["bob"], scope) == {"pull", "push"}
    assert await granted(gateway, "victor", portus.passwords["victor"], scope) == {"pull"}
    assert await granted(gateway, "eve", portus.passwords["eve"], scope) == set()
    assert await granted(gateway, "eve", portus.passwords["eve"], "repository:shared/app:pull") == {"pull"}
    assert await granted(gateway, None, None, "repository:shared/app:pull") == set()
    # PORTUS_DELETE_ENABLED=false: not even the owner deletes.
    assert await granted(gateway, "alice", portus.passwords["alice"], "repository:web/app:delete") == set()
