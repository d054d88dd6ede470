"""The README's screenshots (docs/screenshots/*.png), taken from a real gateway in Debian's
chromium: registry 2.8 and a gateway in a temporary directory, a little realistic data, then one
full-page PNG per page (sign-in, home as a visitor and as a user, browsing with sizes and
platforms, the confirmations, account, namespace settings, tokens, teams, the admins' pages).
Run by scripts/screenshots, so the pictures follow the UI."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.client import USERS, bearer
from tests.support.images import push_image, push_index
from tests.support.processes import REPO_ROOT, Gateway, Registry, free_port

CHROMIUM = Path("/usr/bin/chromium")
OUT = REPO_ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
# (repository, tags, pushed by): alice's personal namespace and her team's.
IMAGES = [
    ("web__tools/nginx", ["1.25", "1.25.3", "latest"], "alice"),
    ("web__tools/builder", ["2024.06", "latest"], "bob"),
    ("alice/notes", ["0.3.1"], "alice"),
]


# Webhook deliveries fail fast (the endpoint is down), so the webhook page has failures to show.
ENV = {
    "GATEWAY_UI_ANONYMOUS_BROWSING": "true",
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL": "0.1",
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_MAX": "0.2",
    "GATEWAY_WEBHOOK_DELIVERY_MAX_ATTEMPTS": "2",
    "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT": "1",
}
PLATFORMS = [{"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "arm64", "variant": "v8"}]
WAIT_FOR_FAILURES = 30.0
WAIT_FOR_PULL = 10.0


def populate(gateway: Gateway) -> None:
    """Users, a team with a public and a protected namespace, application tokens, a webhook
    whose endpoint is down: what a small installation has."""
    for user, password in USERS.items():
        gateway.add_user(user, password)
    gateway.add_user("carol", "carol-secret-pw")
    gateway.cli("team", "add", "web")
    gateway.cli("team", "member", "add", "--role", "owner", "web", "alice")
    gateway.cli("team", "member", "add", "--role", "contributor", "web", "bob")
    gateway.cli("team", "member", "add", "--role", "viewer", "web", "carol")
    gateway.cli("namespace", "add", "--team", "web", "--visibility", "protected", "web__tools")
    gateway.cli("namespace", "add", "--team", "web", "--visibility", "public", "web__public")
    gateway.cli("token", "create", "--name", "ci-deploy", "--namespace", "web__tools", "--actions", "pull,push", "bob")
    hook = {"name": "ci-notify", "url": f"http://127.0.0.1:{free_port()}/hooks/registry", "secret": "a-secret-value",
            "actions": ["push", "delete"]}
    request = urllib.request.Request(
        f"{gateway.url}/api/v1/webhooks", data=json.dumps(hook).encode(), method="POST",
        headers={"Authorization": "Basic " + base64.b64encode(":".join(Gateway.ADMIN).encode()).decode(),
                 "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


async def push_images(gateway: Gateway) -> None:
    """Each image pushed over /v2 by its user, so tags show who pushed them and the audit log fills."""
    async with aiohttp.ClientSession() as session:
        for seed, (repository, tags, user) in enumerate(IMAGES):
            headers = await bearer(session, gateway.url, gateway.host, user, f"repository:{repository}:pull,push")
            for tag in tags:
                await push_image(session, gateway.url, repository, tag, headers, seed=f"{seed}-{tag}")
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:web__public/base:pull,push")
        await push_image(session, gateway.url, "web__public/base", "slim", headers, seed="base-slim")
        await push_index(session, gateway.url, "web__public/base", "multiarch", headers, PLATFORMS)
        await pull_once(session, gateway, "web__tools/nginx", "1.25")


async def pull_once(session: aiohttp.ClientSession, gateway: Gateway, repository: str, tag: str) -> None:
    """Pull a tag by name, and wait (at most WAIT_FOR_PULL) for its pull time to be written (in a
    batch, about a second later), so the tags page shows a "last pulled"."""
    headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repository}:pull")
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    async with session.get(f"{gateway.url}/v2/{repository}/manifests/{tag}", headers={**headers, **accept}) as response:
        assert response.status == 200, await response.text()
    auth = {"Authorization": "Basic " + base64.b64encode(f"alice:{USERS['alice']}".encode()).decode()}
    deadline = time.monotonic() + WAIT_FOR_PULL
    while time.monotonic() < deadline:
        async with session.get(f"{gateway.url}/api/v1/repositories/{repository}/tags", headers=auth) as response:
            if any(t["name"] == tag and t["last_pull_at"] for t in (await response.json())["items"]):
                return
        await asyncio.sleep(0.2)


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


def wait_for_failures(page: Any, url: str) -> None:
    """Reload the webhook's page until its failed deliveries show (they follow the pushes)."""
    deadline = time.monotonic() + WAIT_FOR_FAILURES
    page.goto(url)
    while page.locator(".failure-row").count() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        page.goto(url)


def take(gateway: Gateway) -> None:
    from playwright.sync_api import sync_playwright

    ui = f"{gateway.url}/ui"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        visitor = browser.new_context(viewport=VIEWPORT).new_page()
        shoot(visitor, f"{ui}/login", "sign-in")
        shoot(visitor, f"{ui}/", "visitor-home")
        alice = sign_in(browser.new_context(viewport=VIEWPORT), gateway, "alice", USERS["alice"])
        shoot(alice, f"{ui}/", "home")
        shoot(alice, f"{ui}/namespaces", "namespaces")
        shoot(alice, f"{ui}/repositories/web__tools/nginx", "tags")
        shoot(alice, f"{ui}/repositories/web__public/base", "tags-platforms")
        alice.goto(f"{ui}/repositories/web__tools/nginx")
        alice.click(".danger-link >> nth=0")
        shoot(alice, "", "delete-manifest")
        shoot(alice, f"{ui}/teams/web", "team")
        shoot(alice, f"{ui}/teams/web/delete", "delete-team")
        shoot(alice, f"{ui}/account", "account")
        shoot(alice, f"{ui}/namespaces/alice/settings", "namespace-settings")
        alice.goto(f"{ui}/tokens")
        alice.fill("#token-name", "laptop")
        alice.fill("#token-namespaces", "alice")
        alice.click("form[action$='/tokens'] button[type=submit]")
        shoot(alice, "", "token-created")
        admin = sign_in(browser.new_context(viewport=VIEWPORT), gateway, *Gateway.ADMIN)
        shoot(admin, f"{ui}/audit", "audit")
        shoot(admin, f"{ui}/users", "users")
        shoot(admin, f"{ui}/users/carol/delete", "delete-user")
        shoot(admin, f"{ui}/webhooks", "webhooks")
        wait_for_failures(admin, f"{ui}/webhooks/ci-notify")
        shoot(admin, "", "webhook")
        browser.close()


def main() -> int:
    if not CHROMIUM.exists():
        print(f"screenshots: {CHROMIUM} is missing (scripts/install-deps installs it)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="portus-screenshots-") as tmp:
        registry = Registry(Path(tmp) / "registry").start()
        gateway = Gateway(Path(tmp) / "gateway", registry.url, ENV)
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
