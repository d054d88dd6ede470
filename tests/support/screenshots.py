"""The README's screenshots (docs/screenshots/*.png), taken from a real gateway in Debian's
chromium: registry 2.8 and a gateway in a temporary directory, a little realistic data, then one
full-page PNG per main page. Run by scripts/screenshots, so the pictures follow the UI."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.client import USERS, bearer
from tests.support.images import push_image
from tests.support.processes import REPO_ROOT, Gateway, Registry

CHROMIUM = Path("/usr/bin/chromium")
OUT = REPO_ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
# (repository, tags, pushed by): alice's personal namespace and her team's.
IMAGES = [
    ("web__tools/nginx", ["1.25", "1.25.3", "latest"], "alice"),
    ("web__tools/builder", ["2024.06", "latest"], "bob"),
    ("alice/notes", ["0.3.1"], "alice"),
]


def populate(gateway: Gateway) -> None:
    """Users, a team with a namespace, application tokens: what a small installation has."""
    for user, password in USERS.items():
        gateway.add_user(user, password)
    gateway.add_user("carol", "carol-secret-pw")
    gateway.cli("team", "add", "web")
    gateway.cli("team", "member", "add", "--role", "owner", "web", "alice")
    gateway.cli("team", "member", "add", "--role", "contributor", "web", "bob")
    gateway.cli("team", "member", "add", "--role", "viewer", "web", "carol")
    gateway.cli("namespace", "add", "--team", "web", "--visibility", "protected", "web__tools")
    gateway.cli("token", "create", "--name", "ci-deploy", "--namespace", "web__tools", "--actions", "pull,push", "bob")


async def push_images(gateway: Gateway) -> None:
    """Each image pushed over /v2 by its user, so tags show who pushed them and the audit log fills."""
    async with aiohttp.ClientSession() as session:
        for seed, (repository, tags, user) in enumerate(IMAGES):
            headers = await bearer(session, gateway.url, gateway.host, user, f"repository:{repository}:pull,push")
            for tag in tags:
                await push_image(session, gateway.url, repository, tag, headers, seed=f"{seed}-{tag}")


def sign_in(context: Any, gateway: Gateway, user: str, password: str) -> Any:
    page = context.new_page()
    page.goto(f"{gateway.url}/ui/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def shoot(page: Any, url: str, name: str) -> None:
    if url:
        page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"screenshots: {name}.png ({page.title()})")


def take(gateway: Gateway) -> None:
    from playwright.sync_api import sync_playwright

    ui = f"{gateway.url}/ui"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        visitor = browser.new_context(viewport=VIEWPORT)
        shoot(visitor.new_page(), f"{ui}/login", "sign-in")
        alice = sign_in(browser.new_context(viewport=VIEWPORT), gateway, "alice", USERS["alice"])
        shoot(alice, f"{ui}/", "home")
        shoot(alice, f"{ui}/namespaces", "namespaces")
        shoot(alice, f"{ui}/repositories/web__tools/nginx", "tags")
        shoot(alice, f"{ui}/teams/web", "team")
        alice.goto(f"{ui}/tokens")
        alice.fill("#token-name", "laptop")
        alice.fill("#token-namespaces", "alice")
        alice.click("form[action$='/tokens'] button[type=submit]")
        shoot(alice, "", "token-created")
        admin = sign_in(browser.new_context(viewport=VIEWPORT), gateway, *Gateway.ADMIN)
        shoot(admin, f"{ui}/audit", "audit")
        shoot(admin, f"{ui}/users", "users")
        browser.close()


def main() -> int:
    if not CHROMIUM.exists():
        print(f"screenshots: {CHROMIUM} is missing (scripts/install-deps installs it)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="portus-screenshots-") as tmp:
        registry = Registry(Path(tmp) / "registry").start()
        gateway = Gateway(Path(tmp) / "gateway", registry.url)
        try:
            gateway.start()
            populate(gateway)
            asyncio.run(push_images(gateway))
            take(gateway)
        finally:
            gateway.stop()
            registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
