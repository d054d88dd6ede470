"""The web UI in a real browser: Debian's chromium driven by Playwright (one browser for the
session, a fresh context per test), axe-core from .cache/node (scripts/install-deps), and
gateways with or without a configured admin."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from gateway.ui.app import create_ui_app
from tests.support.processes import REPO_ROOT, Gateway, in_ci

CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO_ROOT / ".cache" / "node" / "node_modules" / "axe-core" / "axe.min.js"
# A gateway on its first run: no admin in the store, none configured.
NO_ADMIN = {"GATEWAY_ADMIN_USERNAME": "", "GATEWAY_ADMIN_PASSWORD": ""}
_SETUP_URL = re.compile(r"first run: .* create one at (http://\S+/ui/setup\?code=\S+)")


def ui_routes() -> list[tuple[str, frozenset[str]]]:
    """Each resource of the UI's router: its path template (relative to /ui, parameters in
    braces) and its methods. The sweeps take their routes from here, so a new page or form is
    swept without being listed."""
    routes = []
    for resource in create_ui_app().router.resources():
        info = resource.get_info()
        template = str(info.get("formatter") or info.get("path") or info.get("prefix"))
        routes.append((template, frozenset(route.method for route in resource)))
    return routes


def missing(what: str) -> NoReturn:
    """A component the browser tests need is absent: a failure in CI, a skip elsewhere."""
    message = f"{what} is missing (scripts/install-deps installs it)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One browser a module. Not longer: Playwright's sync API leaves its event loop marked as
    running in this thread while it is open, and the async tests of other modules need none."""
    if not CHROMIUM.exists():
        missing(f"Debian's chromium ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright Python package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    """Pages in fresh browser contexts (each its own cookies), closed after the test. The
    pages' own policy forbids inline script; the contexts bypass it only so axe can be injected."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(bypass_csp=True)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    return new_page()


def assert_accessible(page: Any) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    if not AXE.is_file():
        missing(f"axe-core ({AXE})")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{page.url}: {bad}"


def setup_urls(gateway: Gateway) -> list[str]:
    return _SETUP_URL.findall(gateway.log_text())


def setup_url(gateway: Gateway, timeout: float = 5.0) -> str:
    """The one setup URL the gateway logged at start (its log lines are written in batches)."""
    deadline = time.monotonic() + timeout
    while not (found := setup_urls(gateway)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(found) == 1, found
    return found[0]


def sign_in(page: Any, gateway: Gateway, user: str, password: str) -> None:
    page.goto(f"{gateway.url}/ui/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")


def session_cookie(page: Any) -> dict[str, Any] | None:
    return next((c for c in page.context.cookies() if c["name"] == "portus_session"), None)
