"""Every page of the UI, in the browser: axe-core finds no serious or critical violation on any
of them (a route added without a visit here fails the route check), nothing loads from another
origin, and the core flows work with JavaScript switched off (the pages' forms are plain HTML;
ui.js only adds copy buttons). The tags page, with something on it, also lists a referrer."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import aiohttp
import pytest

from tests.integration.ui.api_calls import api_ok
from tests.integration.ui.conftest import assert_accessible, sign_in, ui_routes
from tests.integration.ui.pushing import push_images
from tests.support.client import USERS, fetch_token
from tests.support.images import OCI_MANIFEST, push_image
from tests.support.processes import Gateway, Registry

ADMIN_PASSWORDS = {"admin": Gateway.ADMIN[1], **USERS}
SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
# GET routes no visit here covers, and why.
ELSEWHERE = {
    "/oidc/start": "needs an OpenID provider: tests/integration/ui/test_oidc_sign_in.py",
    "/oidc/callback": "needs an OpenID provider: tests/integration/ui/test_oidc_sign_in.py",
    "/static": "files, not pages",
}
# The route of each page (as the router names it) and an address that shows it.
SIGNED_OUT = {"/login": "/ui/login", "/setup": "/ui/setup"}
STATUS = {"/ui/setup": 404}  # an admin exists: the first-run page is dead
ADMIN_PAGES = {
    "/": "/ui/",
    "/namespaces": "/ui/namespaces",
    "/namespaces/{namespace}": "/ui/namespaces/web-open",
    "/namespaces/{namespace}/settings": "/ui/namespaces/alice/settings",
    "/repositories/{name}": "/ui/repositories/web-open/app",
    "/search": "/ui/search?q=app",
    "/manifests/delete": "/ui/manifests/delete?repository=web-open/app&digest={digest}",
    "/tags/delete": "/ui/tags/delete?repository=web-open/app&tag=v1",
    "/account": "/ui/account",
    "/tokens": "/ui/tokens",
    "/teams": "/ui/teams",
    "/teams/{team}": "/ui/teams/web",
    "/teams/{team}/delete": "/ui/teams/web/delete",
    "/users": "/ui/users",
    "/users/{name}/delete": "/ui/users/bob/delete",
    "/audit": "/ui/audit?action=push",
    "/webhooks": "/ui/webhooks",
    "/webhooks/{name}": "/ui/webhooks/hook",
    "/webhooks/{name}/delete": "/ui/webhooks/hook/delete",
    "/health": "/ui/health",
}


@pytest.fixture(scope="module")
def site(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    """A gateway with something on every page: team web (alice its owner, bob a viewer) and its
    public namespace web-open with web-open/app:v1, a webhook, an application token; and the
    digest of web-open/app:v1."""
    gateway = Gateway(tmp_path_factory.mktemp("every-page"), registry.url)
    for name, password in USERS.items():
        gateway.add_user(name, password)
    gateway.cli("team", "add", "web")
    gateway.cli("team", "member", "add", "web", "alice", "--role", "owner")
    gateway.cli("team", "member", "add", "web", "bob", "--role", "viewer")
    gateway.cli("namespace", "add", "web-open", "--team", "web", "--visibility", "public")
    gateway.start()
    push_images(gateway, [("admin", "web-open/app", "v1"), ("admin", "web-open/app", "v2")], ADMIN_PASSWORDS)
    api_ok(gateway, *Gateway.ADMIN, "POST", "/webhooks", {"name": "hook", "url": "https://hooks.example/portus", "secret": "a-secret-value"})
    api_ok(gateway, *Gateway.ADMIN, "POST", "/users/admin/tokens", {"name": "ci"})
    tags = api_ok(gateway, *Gateway.ADMIN, "GET", "/repositories/web-open/app/tags")
    items = tags["items"] if isinstance(tags, dict) else tags
    digest = str(items[0]["digest"])
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _sign(gateway, "web-open/app", digest)).result()
    yield gateway, digest
    gateway.stop()


async def _sign(gateway: Gateway, repository: str, digest: str) -> str:
    """Push a signature-like artifact whose subject is `digest` (by digest, no tag); its digest."""
    async with aiohttp.ClientSession() as session:
        body = await fetch_token(session, gateway.url, gateway.host, *Gateway.ADMIN, f"repository:{repository}:pull,push")
        headers = {"Authorization": f"Bearer {body['token']}"}
        async with session.get(f"{gateway.url}/v2/{repository}/manifests/{digest}", headers={**headers, "Accept": OCI_MANIFEST}) as response:
            size = len(await response.read())
        subject = {"mediaType": OCI_MANIFEST, "digest": digest, "size": size}
        return await push_image(
            session, gateway.url, repository, "", headers, seed="signature", extra={"artifactType": SIGNATURE, "subject": subject},
        )


def _get_routes() -> set[str]:
    return {template for template, methods in ui_routes() if "GET" in methods}


def _shows(route: str, path: str) -> bool:
    """`path` (without its query) is an address of `route`."""
    pattern = re.escape("/ui" + route)
    if route.startswith("/repositories/"):
        pattern = pattern.replace(r"\{name\}", ".+")  # a repository name holds slashes
    pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", pattern)
    return re.fullmatch(pattern, path.split("?")[0]) is not None


def test_every_page_is_visited_here_or_said_where_else() -> None:
    pages = {**SIGNED_OUT, **ADMIN_PAGES}
    assert _get_routes() - set(ELSEWHERE) == set(pages)
    assert [route for route, path in pages.items() if not _shows(route, path)] == []


def test_axe_finds_nothing_serious_on_any_page(site: tuple[Gateway, str], page: Any) -> None:
    gateway, digest = site
    for path in SIGNED_OUT.values():
        answer = page.goto(gateway.url + path)
        assert answer is not None and answer.status == STATUS.get(path, 200), path
        assert_headings_in_order(page)
        assert_accessible(page)
    missing = page.goto(f"{gateway.url}/ui/no-such-page")
    assert missing is not None and missing.status == 404
    assert_headings_in_order(page)
    assert_accessible(page)
    sign_in(page, gateway, *Gateway.ADMIN)
    for path in ADMIN_PAGES.values():
        answer = page.goto(gateway.url + path.format(digest=digest))
        assert answer is not None and answer.status == 200, path
        assert page.locator("h1").count() == 1, path
        assert_self_contained(answer, page)
        assert_headings_in_order(page)
        assert_accessible(page)
    page.goto(f"{gateway.url}/ui/tokens")  # the page that answers a new token's form
    page.fill("#token-name", "axe")
    page.click("form[action$='/ui/tokens'] button[type=submit]")
    assert page.locator("#token-secret").count() == 1
    assert_accessible(page)


def assert_headings_in_order(page: Any) -> None:
    """One h1, and no level skipped on the way down (axe counts a skip as moderate only)."""
    levels = page.eval_on_selector_all("h1, h2, h3, h4, h5, h6", "nodes => nodes.map(n => Number(n.tagName[1]))")
    assert levels.count(1) == 1 and levels[0] == 1, (page.url, levels)
    skips = [(a, b) for a, b in pairwise(levels) if b > a + 1]
    assert skips == [], (page.url, levels)


def assert_self_contained(answer: Any, page: Any) -> None:
    """Nothing loads from elsewhere (no CDN, no external font): the policy says so, and no
    script, style sheet or image names another origin."""
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "form-action 'self'" in policy and "frame-ancestors 'none'" in policy
    sources = page.eval_on_selector_all(
        "script[src], link[href], img[src], iframe[src], source[src]", "nodes => nodes.map(n => n.src || n.href)",
    )
    origin = page.url.split("/ui/", 1)[0]
    assert [s for s in sources if not s.startswith(origin + "/")] == [], page.url


def test_the_tags_page_lists_the_referrer_of_a_tag(site: tuple[Gateway, str], page: Any) -> None:
    gateway, digest = site
    sign_in(page, gateway, "bob", USERS["bob"])  # a viewer of the namespace
    page.goto(f"{gateway.url}/ui/repositories/web-open/app")
    named = page.locator(f"code.digest[title='{digest}']")
    signed = page.locator("article.tag", has=named)
    assert signed.count() == 1
    referrers = signed.locator(".referrers li").all_inner_texts()
    assert len(referrers) == 1 and referrers[0].startswith(SIGNATURE + " sha256:"), referrers
    others = page.locator("article.tag", has_not=named)
    assert others.locator(".referrers").count() == 0


@pytest.fixture
def no_script(browser: Any) -> Iterator[Any]:
    """A page with JavaScript off and the pages' own policy in force."""
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_the_core_flows_work_without_javascript(site: tuple[Gateway, str], no_script: Any) -> None:
    gateway, _ = site
    page = no_script
    sign_in(page, gateway, *Gateway.ADMIN)
    assert page.url == f"{gateway.url}/ui/"
    page.fill("#search-q", "app")
    page.click("form.search button[type=submit]")
    assert page.locator(".repository-name").all_inner_texts() == ["web-open/app"]
    page.click("a.repository-name")
    assert page.locator(".tag-name").all_inner_texts() == ["v1", "v2"]
    assert page.locator(".copy-button").count() == 0  # no script ran, and the pull line is still there to select
    assert page.locator(".pull-line").first.input_value().startswith("docker pull ")

    page.goto(f"{gateway.url}/ui/users")
    page.fill("#new-user-name", "carol")
    page.fill("#new-user-password", "carol-secret-pw")
    page.fill("#new-user-password-again", "carol-secret-pw")
    page.click("form[method=post][action$='/ui/users'] button[type=submit]")
    assert page.locator(".notice").inner_text() == "User carol added."

    page.goto(f"{gateway.url}/ui/teams")
    page.fill("#team-name", "nojs")
    page.click("form[action$='/ui/teams'] button[type=submit]")
    assert page.url.startswith(f"{gateway.url}/ui/teams/nojs?")
    page.fill("#member-name", "carol")
    page.click("form[action$='/members'] button[type=submit]")
    assert "carol" in page.locator(".notice").inner_text()
    page.fill("#namespace-name", "nojs__tools")
    page.click("form[action$='/nojs/namespaces'] button[type=submit]")
    assert "nojs__tools" in page.locator(".notice").inner_text()

    page.goto(f"{gateway.url}/ui/tokens")
    page.fill("#token-name", "nojs-token")
    page.click("form[action$='/ui/tokens'] button[type=submit]")
    assert page.input_value("#token-secret").startswith("pgat_")

    page.goto(f"{gateway.url}/ui/repositories/web-open/app")
    page.locator(".delete-tag").first.click()
    assert page.locator("h1").inner_text() == "Delete a tag"
    page.click("button.danger")
    assert page.locator(".notice").inner_text() == "Tag v1 was deleted."
    page.goto(f"{gateway.url}/ui/audit")
    page.fill("#filter-repository", "web-open/app")
    page.click("form[action$='/ui/audit'] button[type=submit]")
    assert "delete" in page.locator("main").inner_text()

    page.click("text=Sign out")
    assert page.url == f"{gateway.url}/ui/login"
    page.goto(f"{gateway.url}/ui/tokens")
    assert page.url == f"{gateway.url}/ui/login"
