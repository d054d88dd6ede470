"""The same request gets the same answer from the API, the CLI and a page handler, because all
three call the same service: a real gateway, its CLI on the same store, and a small UI-style
handler (HTML, in-process) that renders the service's refusal as a page would."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.auth.credentials import MIN_COST, PasswordHasher
from gateway.auth.permissions import Actor
from gateway.auth.policy import Rules
from gateway.auth.revocation import RevocationView
from gateway.services import errors, namespaces, teams, tokens, users
from gateway.services.context import Services
from gateway.store import Store, open_store
from tests.support.client import USERS
from tests.support.processes import Gateway, Registry

ServiceCall = Callable[[Services, Actor], Awaitable[Any]]
STATUS = {errors.Invalid: 400, errors.Forbidden: 403, errors.NotFound: 404, errors.Conflict: 409, errors.Unavailable: 503}


@dataclass(frozen=True)
class Case:
    """One request, as the API, the CLI and the service take it."""

    id: str
    method: str
    path: str
    body: dict[str, Any] | None
    cli: tuple[str, ...]
    call: ServiceCall
    status: int
    stdin: str | None = None


CASES = [
    Case(
        "bad-user-name", "POST", "/users", {"name": "Bad.Name", "password": "long-enough-pw"},
        ("user", "add", "Bad.Name", "--password-stdin"),
        lambda s, a: users.create_user(s, a, "Bad.Name", "long-enough-pw"), 400, "long-enough-pw\n",
    ),
    Case(
        "existing-user", "POST", "/users", {"name": "alice", "password": "long-enough-pw"},
        ("user", "add", "alice", "--password-stdin"),
        lambda s, a: users.create_user(s, a, "alice", "long-enough-pw"), 409, "long-enough-pw\n",
    ),
    Case(
        "token-expiry", "POST", "/users/alice/tokens", {"name": "ci", "expires_in": "1y"},
        ("token", "create", "alice", "--name", "ci", "--expires", "1y"),
        lambda s, a: tokens.create_token(s, a, "alice", "ci", expires="1y"), 400,
    ),
    Case(
        "unknown-token", "DELETE", "/users/alice/tokens/nothing", None, ("token", "revoke", "alice", "nothing"),
        lambda s, a: tokens.revoke_token(s, a, "alice", "nothing"), 404,
    ),
    Case(
        "bad-team-name", "POST", "/teams", {"name": "Web"}, ("team", "add", "Web"),
        lambda s, a: teams.create_team(s, a, "Web"), 400,
    ),
    Case(
        "personal-namespace-into-a-team", "PATCH", "/namespaces/alice", {"team": "ops"},
        ("namespace", "update", "alice", "--team", "ops"),
        lambda s, a: namespaces.update_namespace(s, a, "alice", team="ops"), 409,
    ),
]


@pytest.fixture(scope="module")
def gateway(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    instance = Gateway(tmp_path_factory.mktemp("one-answer"), registry.url)
    for name, password in USERS.items():
        instance.add_user(name, password)
    instance.cli("team", "add", "ops")
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
async def store(gateway: Gateway) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{gateway.workdir / 'data' / 'gateway.db'}")
    yield opened
    await opened.close()


async def _page_client(store: Store, call: ServiceCall) -> TestClient[web.Request, web.Application]:
    """A page handler as the web UI writes one: call the service as the admin, render HTML."""

    async def page(request: web.Request) -> web.Response:
        services = Services(store, PasswordHasher(cost=MIN_COST), RevocationView(), Rules())
        try:
            await call(services, Actor(Gateway.ADMIN[0], admin=True))
        except errors.ServiceError as exc:
            body = f"<main><p class=error>{html.escape(exc.message)}</p></main>"
            return web.Response(status=STATUS[type(exc)], text=body, content_type="text/html")
        return web.Response(text="<main>done</main>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/page", page)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_the_api_the_cli_and_a_page_refuse_alike(gateway: Gateway, store: Store, case: Case) -> None:
    headers = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
    async with aiohttp.ClientSession() as session, session.request(
        case.method, f"{gateway.url}/api/v1{case.path}", json=case.body, headers=headers
    ) as response:
        api_status, api_message = response.status, (await response.json())["error"]["message"]
    cli = gateway.cli(*case.cli, stdin=case.stdin, check=False)
    assert cli.returncode == 1 and cli.stdout == "", (cli.returncode, cli.stdout, cli.stderr)
    cli_message = cli.stderr.strip().removeprefix("portus-gateway: ")
    client = await _page_client(store, case.call)
    try:
        page = await client.post("/page")
        page_status, page_text = page.status, await page.text()
    finally:
        await client.close()
    shown = re.search(r"<p class=error>(.*)</p>", page_text)
    assert shown is not None, page_text
    page_message = html.unescape(shown.group(1))
    assert api_status == page_status == case.status
    assert api_message == cli_message == page_message
