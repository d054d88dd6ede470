"""Browsing in the browser: namespaces → repositories → tags with their digest, size, pusher and
pull line (each with a copy button); search; the home page's recent pushes; paging; anonymous visitors (only with the
setting on, the home page included); deleting a manifest. Nobody sees a private repository of others on any of these pages."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp
import pytest

from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.support.client import USERS, fetch_token
from tests.support.images import OCI_MANIFEST, push_image, push_index
from tests.support.processes import Gateway, Registry

T = TypeVar("T")
IMAGES = (("web-open/app", "v1"), ("web-open/app", "v2"), ("web-open/app", "v3"), ("web-open/tool", "v1"),
          ("web-secret/hidden-thing", "v1"), ("ops-inside/app", "v1"))
PRIVATE_NAMES = ("web-secret", "hidden-thing")


def in_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to its end beside Playwright's sync API (which holds this thread's loop)."""
    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def admin_headers(session: aiohttp.ClientSession, gateway: Gateway, repository: str, actions: str) -> dict[str, str]:
    body = await fetch_token(session, gateway.url, gateway.host, *Gateway.ADMIN, f"repository:{repository}:{actions}")
    return {"Authorization": f"Bearer {body['token']}"}


async def push_all(gateway: Gateway) -> dict[tuple[str, str], tuple[str, int]]:
    """The admin pushes IMAGES; their digests and manifest sizes as the registry serves them."""
    pushed: dict[tuple[str, str], tuple[str, int]] = {}
    async with aiohttp.ClientSession() as session:
        for repository, tag in IMAGES:
            headers = await admin_headers(session, gateway, repository, "pull,push")
            digest = await push_image(session, gateway.url, repository, tag, headers, seed=f"{repository}:{tag}")
            async with session.get(
                f"{gateway.url}/v2/{repository}/manifests/{tag}", headers={**headers, "Accept": OCI_MANIFEST}
            ) as response:
                pushed[(repository, tag)] = (digest, len(await response.read()))
    return pushed


@pytest.fixture(scope="module")
def browsing(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, dict[tuple[str, str], tuple[str, int]]]]:
    """A gateway browsable anonymously: team web's public web-open and private web-secret, team
    ops's protected ops-inside, alice in no team, bob in web as a viewer; IMAGES pushed."""
    gateway = Gateway(tmp_path_factory.mktemp("browse"), registry.url, {"GATEWAY_UI_ANONYMOUS_BROWSING": "true"})
    for name, password in USERS.items():
        gateway.add_user(name, password)
    for team in ("web", "ops"):
        gateway.cli("team", "add", team)
    gateway.cli("team", "member", "add", "web", "bob", "--role", "viewer")
    for namespace, team, visibility in (("web-open", "web", "public"), ("web-secret", "web", "private"),
                                        ("ops-inside", "ops", "protected")):
        gateway.cli("namespace", "add", namespace, "--team", team, "--visibility", visibility)
    gateway.start()
    pushed = in_thread(lambda: push_all(gateway))
    yield gateway, pushed
    gateway.stop()


def human(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"


def image_size(repository: str, seed: str) -> int:
    """The config and layer bytes of an image `push_image` pushed."""
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "seed": seed}
    return len(json.dumps(config).encode()) + len(f"layer {repository} {seed}".encode())


def assert_no_private_name(page: Any) -> None:
    html = page.content()
    for name in PRIVATE_NAMES:
        assert name not in html, f"{page.url} shows {name}"


def test_admin_browses_to_a_pushed_tag_with_its_digest_size_pusher_and_pull_line(browsing: Any, page: Any) -> None:
    gateway, pushed = browsing
    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/namespaces")
    assert page.locator(".namespace-name").all_inner_texts() == ["admin", "ops-inside", "web-open", "web-secret"]
    assert_accessible(page)
    page.click("a.namespace-name:text-is('web-open')")
    assert page.locator(".repository-name").all_inner_texts() == ["web-open/app", "web-open/tool"]
    assert_accessible(page)
    page.click("a.repository-name:text-is('web-open/app')")
    digest, size = pushed[("web-open/app", "v1")]
    first = page.locator("article.tag").first
    assert first.locator(".tag-name").inner_text() == "v1"
    assert first.locator("code.digest").get_attribute("title") == digest
    assert first.locator("code.digest").inner_text() == digest[:19]
    assert first.locator("input.copy-field").first.input_value() == digest
    assert first.locator(".size").inner_text() == human(image_size("web-open/app", "web-open/app:v1"))
    assert first.locator(".manifest-size").inner_text() == human(size)
    assert first.locator(".platform").count() == 0
    assert first.locator(".media-type").inner_text() == OCI_MANIFEST
    assert first.locator(".pushed-by").inner_text() == "admin"
    assert first.locator(".pull-line").input_value() == f"docker pull {gateway.host}/web-open/app:v1"
    assert f"podman pull {gateway.host}/web-open/app:v1" in page.content()
    pulled = first.locator(".last-pulled time")  # push_all read v1 back by tag: a pull, written within a second
    deadline = time.monotonic() + 5
    while pulled.count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        page.reload()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", pulled.get_attribute("datetime") or "")
    assert_accessible(page)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    assert first.locator(".copy-button").count() == 3  # the digest and both pull lines
    pull_row = first.locator(".copy-row", has=page.locator(".pull-line"))
    pull_row.locator(".copy-button").click()
    page.wait_for_function(  # the status says so once the clipboard took it
        "() => document.querySelector('.pull-line').parentElement.querySelector('.copy-status').textContent === 'Copied'",
        timeout=5000,
    )
    assert page.evaluate("navigator.clipboard.readText()") == f"docker pull {gateway.host}/web-open/app:v1"


def test_the_tags_page_shows_an_indexs_platforms_escaped_and_no_size_for_it(browsing: Any, page: Any) -> None:
    gateway, _ = browsing
    platforms = [{"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "arm64", "variant": "v8"},
                 {"os": "unknown", "architecture": "unknown"}, {"os": "<b>bold", "architecture": "amd64"}]

    async def push() -> None:
        async with aiohttp.ClientSession() as session:
            headers = await admin_headers(session, gateway, "admin/multi", "pull,push")
            await push_index(session, gateway.url, "admin/multi", "both", headers, platforms)

    in_thread(push)
    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/repositories/admin/multi")
    tag = page.locator("article.tag")
    assert tag.locator(".tag-name").all_inner_texts() == ["both"]
    assert tag.locator(".platform").all_inner_texts() == ["linux/amd64", "linux/arm64/v8", "<b>bold/amd64"]
    assert tag.locator(".platform b").count() == 0  # what a pusher wrote is text, never markup
    assert tag.locator(".size").inner_text() == "-"
    assert tag.locator(".manifest-size").inner_text().endswith("B")
    assert tag.locator(".last-pulled").inner_text() == "no pull recorded"
    assert_accessible(page)


def test_another_user_never_sees_a_private_repository_on_any_browse_page(browsing: Any, page: Any) -> None:
    gateway, pushed = browsing
    sign_in(page, gateway, "alice", USERS["alice"])
    for path in ("/ui/", "/ui/namespaces", "/ui/namespaces/web-open", "/ui/search?q=web", "/ui/search?q=hidden",
                 "/ui/search?q=e", "/ui/repositories/web-open/app", "/ui/audit", "/ui/audit?action=push",
                 "/ui/search?q=e&repositories_after=web-open/tool", "/ui/namespaces?after=ops-inside"):
        page.goto(gateway.url + path)
        assert_no_private_name(page)
    page.goto(f"{gateway.url}/ui/audit?repository=web-secret/hidden-thing")
    assert page.locator(".event-row").count() == 0
    secret_digest, _ = pushed[("web-secret/hidden-thing", "v1")]
    secret = page.goto(f"{gateway.url}/ui/manifests/delete?repository=web-secret/hidden-thing&digest={secret_digest}")
    secret_text = page.locator(".error-message").inner_text()
    nothing = page.goto(f"{gateway.url}/ui/manifests/delete?repository=web-secret/nothing-here&digest={secret_digest}")
    assert secret is not None and nothing is not None and secret.status == nothing.status == 404
    assert secret_text.replace("hidden-thing", "X") == page.locator(".error-message").inner_text().replace("nothing-here", "X")
    page.goto(f"{gateway.url}/ui/search?q=app")
    assert page.locator(".repository-name").all_inner_texts() == ["ops-inside/app", "web-open/app"]
    page.goto(f"{gateway.url}/ui/")
    assert set(page.locator(".push-repository").all_inner_texts()) == {"web-open/app", "web-open/tool", "ops-inside/app"}
    assert set(page.locator(".push-pusher").all_inner_texts()) == {"admin"}
    assert_accessible(page)
    hidden = page.goto(f"{gateway.url}/ui/repositories/web-secret/hidden-thing")
    missing_text = page.locator(".error-message").inner_text()
    missing = page.goto(f"{gateway.url}/ui/repositories/web-secret/nothing-here")
    assert hidden is not None and missing is not None and hidden.status == missing.status == 404
    assert missing_text.replace("hidden-thing", "X") == page.locator(".error-message").inner_text().replace("nothing-here", "X")
    page.goto(f"{gateway.url}/ui/namespaces/web-secret")
    assert page.locator("h1").inner_text() == "Not found"
    assert_accessible(page)

    member = page.context.browser.new_context().new_page()
    sign_in(member, gateway, "bob", USERS["bob"])
    member.goto(f"{gateway.url}/ui/search?q=hidden")
    assert member.locator(".repository-name").all_inner_texts() == ["web-secret/hidden-thing"]
    member.goto(f"{gateway.url}/ui/")
    assert "web-secret/hidden-thing" in member.locator(".push-repository").all_inner_texts()
    member.context.close()


@pytest.mark.parametrize("text", ["%", "_", "'", "<script>alert(1)</script>"])
def test_search_takes_special_characters_as_plain_text(browsing: Any, page: Any, text: str) -> None:
    gateway, _ = browsing
    sign_in(page, gateway, "alice", USERS["alice"])
    page.goto(f"{gateway.url}/ui/search")
    page.fill("#search-q", text)
    page.click("form.search button[type=submit]")
    assert page.locator("#search-q").input_value() == text
    assert page.locator(".repository-name").count() == 0
    assert page.locator("main script").count() == 0
    assert_accessible(page)


def test_search_and_tags_page_past_a_full_page(browsing: Any, page: Any) -> None:
    gateway, _ = browsing
    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/repositories/web-open/app?limit=2")
    assert page.locator(".tag-name").all_inner_texts() == ["v1", "v2"]
    page.click("a[rel=next]")
    assert page.locator(".tag-name").all_inner_texts() == ["v3"]
    assert page.locator("a[rel=next]").count() == 0
    page.goto(f"{gateway.url}/ui/search?q=e&limit=2")
    assert page.locator(".repository-name").all_inner_texts() == ["ops-inside/app", "web-open/app"]
    page.click("text=More repositories")
    assert page.locator(".repository-name").all_inner_texts() == ["web-open/tool", "web-secret/hidden-thing"]
    page.goto(f"{gateway.url}/ui/namespaces?limit=2")  # two rows, and the admin's own namespace where it sorts
    assert page.locator(".namespace-name").all_inner_texts() == ["admin", "ops-inside", "web-open"]
    page.click("a[rel=next]")
    assert page.locator(".namespace-name").all_inner_texts() == ["web-secret"]


def test_anonymous_visitors_see_public_namespaces_only_when_allowed(browsing: Any, gateway: Gateway, page: Any) -> None:
    allowing, _ = browsing
    page.goto(f"{allowing.url}/ui/namespaces")
    assert page.locator(".namespace-name").all_inner_texts() == ["web-open"]
    assert "ops-inside" not in page.content()
    assert_accessible(page)
    page.goto(f"{allowing.url}/ui/search?q=app")
    assert page.locator(".repository-name").all_inner_texts() == ["web-open/app"]
    page.goto(f"{allowing.url}/ui/repositories/web-open/app")
    assert page.locator(".tag-name").all_inner_texts() == ["v1", "v2", "v3"]
    assert page.locator(".pushed-by").count() == 0
    assert page.locator(".danger-link").count() == 0
    assert_accessible(page)
    refused = page.goto(f"{allowing.url}/ui/repositories/ops-inside/app")
    assert refused is not None and refused.status == 404
    strict = page.context.browser.new_context().new_page()  # the pages' own CSP, not bypassed: ui.js still runs
    strict.goto(f"{allowing.url}/ui/repositories/web-open/app")
    assert strict.locator(".copy-button").count() == 9
    strict.context.close()

    for path in ("/ui/", "/ui/namespaces", "/ui/search?q=a"):
        page.goto(f"{gateway.url}{path}")
        assert page.url == f"{gateway.url}/ui/login"


def test_the_home_page_shows_visitors_public_namespaces_and_their_pushes_only(browsing: Any, page: Any) -> None:
    allowing, _ = browsing
    page.goto(f"{allowing.url}/")
    assert page.url == f"{allowing.url}/ui/"
    assert page.locator("h1").inner_text() == "Public images"
    assert page.locator(".namespace-name").all_inner_texts() == ["web-open"]
    pushed = page.locator(".push-repository").all_inner_texts()
    assert pushed and set(pushed) <= {"web-open/app", "web-open/tool"}
    assert page.locator(".push-pusher").count() == 0 and "admin" not in page.locator("main").inner_text()
    assert page.locator("#search-q").count() == 1
    for name in ("ops-inside", "web-secret", "hidden-thing", "admin/multi"):
        assert name not in page.content()
    assert_accessible(page)
    page.fill("#search-q", "app")
    page.click("form.search button[type=submit]")
    assert page.locator(".repository-name").all_inner_texts() == ["web-open/app"]


def test_deleting_a_manifest_removes_its_tag_and_the_audit_log_shows_who(browsing: Any, page: Any) -> None:
    gateway, pushed = browsing
    digest, _ = pushed[("web-open/tool", "v1")]
    viewer = page.context.browser.new_context().new_page()
    sign_in(viewer, gateway, "bob", USERS["bob"])
    viewer.goto(f"{gateway.url}/ui/repositories/web-open/tool")
    assert viewer.locator(".danger-link").count() == 0
    refused = viewer.goto(f"{gateway.url}/ui/manifests/delete?repository=web-open/tool&digest={digest}")
    assert refused is not None and refused.status == 403
    viewer.context.close()

    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/repositories/web-open/tool")
    page.click(".delete-manifest")
    assert page.locator("h1").inner_text() == "Delete a manifest"
    assert_accessible(page)
    page.click("button.danger")
    assert re.fullmatch(rf"{re.escape(gateway.url)}/ui/repositories/web-open/tool\?deleted=sha256[^&]*&sig=[0-9a-f]{{64}}", page.url)
    assert page.locator(".notice").inner_text().startswith("Manifest sha256:")
    assert page.locator(".tag-name").count() == 0

    async def after() -> tuple[list[str], list[dict[str, Any]]]:
        async with aiohttp.ClientSession() as session:
            headers = await admin_headers(session, gateway, "web-open/tool", "pull")
            async with session.get(f"{gateway.url}/v2/web-open/tool/tags/list", headers=headers) as response:
                tags = (await response.json()).get("tags") or [] if response.status == 200 else []
            auth = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
            async with session.get(
                f"{gateway.url}/api/v1/events", params={"repository": "web-open/tool", "action": "delete"}, headers=auth
            ) as response:
                assert response.status == 200
                events = (await response.json())["items"]
        return tags, events

    tags, events = in_thread(after)
    assert "v1" not in tags
    assert [(e["actor"]["name"], e["target"]["digest"]) for e in events] == [("admin", digest)]


async def push_twice(gateway: Gateway, repository: str, tags: tuple[str, ...]) -> str:
    """One image under each of `tags`, pushed by the admin; its digest."""
    async with aiohttp.ClientSession() as session:
        headers = await admin_headers(session, gateway, repository, "pull,push")
        digests = {await push_image(session, gateway.url, repository, tag, headers, seed=repository) for tag in tags}
    (digest,) = digests
    return digest


def test_deleting_one_tag_keeps_the_other_and_immutable_tags_are_set_on_the_namespace_page(browsing: Any, page: Any) -> None:
    gateway, _ = browsing
    in_thread(lambda: push_twice(gateway, "web-open/dup", ("a", "b")))
    viewer = page.context.browser.new_context().new_page()
    sign_in(viewer, gateway, "bob", USERS["bob"])
    viewer.goto(f"{gateway.url}/ui/repositories/web-open/dup")
    assert viewer.locator(".delete-tag").count() == 0
    refused = viewer.goto(f"{gateway.url}/ui/tags/delete?repository=web-open/dup&tag=a")
    assert refused is not None and refused.status == 403
    viewer.goto(f"{gateway.url}/ui/namespaces/web-open")
    assert viewer.locator("#immutable-tags").count() == 0
    viewer.context.close()

    sign_in(page, gateway, *Gateway.ADMIN)
    page.goto(f"{gateway.url}/ui/namespaces/web-open")
    page.fill("#immutable-tags", "b*, <script>")
    page.click("text=Save immutable tags")
    assert "is not a tag pattern" in page.locator("main").inner_text()
    page.goto(f"{gateway.url}/ui/namespaces/web-open")
    page.fill("#immutable-tags", "b*")
    page.click("text=Save immutable tags")
    assert page.locator(".notice").inner_text() == "Immutable tags of web-open: b*."
    assert_accessible(page)

    page.goto(f"{gateway.url}/ui/repositories/web-open/dup")
    assert page.locator(".immutable").count() == 1 and page.locator(".delete-tag").count() == 1
    page.click(".delete-tag")
    assert page.locator("h1").inner_text() == "Delete a tag"
    assert_accessible(page)
    page.click("button.danger")
    assert re.fullmatch(rf"{re.escape(gateway.url)}/ui/repositories/web-open/dup\?deleted_tag=a&sig=[0-9a-f]{{64}}", page.url)
    assert page.locator(".notice").inner_text() == "Tag a was deleted."
    signature = page.url.rsplit("sig=", 1)[1]
    for crafted in ("deleted_tag=b", f"deleted_tag=b&sig={signature}", f"deleted=sha256:1&sig={signature}"):
        page.goto(f"{gateway.url}/ui/repositories/web-open/dup?{crafted}")
        assert page.locator(".notice").count() == 0, crafted
    assert page.locator(".tag-name").all_inner_texts() == ["b"]
    refused = page.goto(f"{gateway.url}/ui/tags/delete?repository=web-open/dup&tag=b")
    assert refused is not None and refused.status == 403 and "pattern 'b*'" in page.locator("main").inner_text()

    page.goto(f"{gateway.url}/ui/namespaces/web-open")
    page.fill("#immutable-tags", "")
    page.click("text=Save immutable tags")
    assert page.locator(".notice").inner_text() == "Immutable tags of web-open: none."


def test_the_tags_page_filters_by_a_part_of_the_tag_and_pages_within_the_filter(browsing: Any, page: Any) -> None:
    gateway, _ = browsing
    sign_in(page, gateway, "bob", USERS["bob"])
    page.goto(f"{gateway.url}/ui/repositories/web-open/app")
    page.fill("#tag-q", "3")
    page.click("form.search button[type=submit]")
    assert page.locator(".tag-name").all_inner_texts() == ["v3"]
    assert page.input_value("#tag-q") == "3"
    page.goto(f"{gateway.url}/ui/repositories/web-open/app?q=V&limit=2")  # case ignored
    assert page.locator(".tag-name").all_inner_texts() == ["v1", "v2"]
    page.click("a[rel=next]")  # the next page keeps the filter
    assert page.locator(".tag-name").all_inner_texts() == ["v3"] and page.input_value("#tag-q") == "V"
    page.fill("#tag-q", "<b>x</b>")
    page.click("form.search button[type=submit]")
    assert page.locator(".tag-name").count() == 0
    assert page.locator(".no-match").inner_text() == "No tag contains “<b>x</b>”."
    assert_accessible(page)
