"""Every failure under the UI's error middleware is a readable HTML page with the status of its
kind, never JSON or a traceback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp_jinja2
import jinja2
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.config import Settings
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unavailable
from gateway.store import StoreUnavailable
from gateway.ui.errors import ui_errors

FAILURES: dict[str, tuple[Exception, int, str]] = {
    "invalid": (Invalid("that name <b>breaks</b> the rules"), 400, "that name &lt;b&gt;breaks&lt;/b&gt; the rules"),
    "forbidden": (Forbidden("only admins may do this"), 403, "only admins may do this"),
    "missing": (NotFound("no such namespace 'x'"), 404, "no such namespace &#39;x&#39;"),
    "conflict": (Conflict("team 'x' exists"), 409, "team &#39;x&#39; exists"),
    "unavailable": (Unavailable("the registry does not answer"), 503, "the registry does not answer"),
    "store": (StoreUnavailable("connection refused: secret-host:3306"), 503, "database does not answer"),
    "bug": (ZeroDivisionError("division by zero"), 500, "could not answer this page"),
}


async def _fail(request: web.Request) -> web.Response:
    raise FAILURES[request.match_info["what"]][0]


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application(middlewares=[ui_errors])
    app[keys.SETTINGS] = Settings()
    aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("gateway.ui", "templates"), autoescape=True, undefined=jinja2.StrictUndefined)
    app.router.add_get("/fail/{what}", _fail)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.mark.parametrize("what", sorted(FAILURES))
async def test_a_failure_is_a_page_with_the_status_of_its_kind(client: TestClient[web.Request, web.Application], what: str) -> None:
    _, status, shown = FAILURES[what]
    response = await client.get(f"/fail/{what}")
    body = await response.text()
    assert response.status == status
    assert response.content_type == "text/html"
    assert shown in body and "<h1>" in body
    assert "Traceback" not in body and "secret-host" not in body and "ZeroDivisionError" not in body


async def test_an_unknown_page_and_a_wrong_method_are_pages_too(client: TestClient[web.Request, web.Application]) -> None:
    for method, path, status in (("GET", "/nowhere", 404), ("POST", "/fail/bug", 405)):
        response = await client.request(method, path)
        assert response.status == status and response.content_type == "text/html"


def test_every_kind_of_refusal_has_its_own_status() -> None:
    kinds = {type(error) for error, _, _ in FAILURES.values() if isinstance(error, ServiceError)}
    assert kinds == set(ServiceError.__subclasses__())
