"""Maintenance in the browser: an admin starts a garbage collection (a dry run) from the health
page and sees its result; a namespace's owner sets a retention policy on its
page and sees what it would delete, a bad pattern comes back with its reason; the admin applies
retention from the health page and the tag goes; a visitor who does not manage the namespace
sees no retention section at all."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.integration.ui.pushing import push_images
from tests.support.client import USERS
from tests.support.processes import Gateway, Registry, require_tool


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[Registry]:
    """A registry of this test's own: a collection rewrites its storage."""
    instance = Registry(tmp_path / "registry").start()
    yield instance
    instance.stop()


def _state_after_refreshes(page: Any, url: str, wanted: str, timeout: float = 30.0, shown: str = ".gc-state") -> str:
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        state = str(page.locator(shown).inner_text())
        if wanted in state or time.monotonic() > deadline:
            return state
        time.sleep(0.3)


def test_an_admin_collects_garbage_and_an_owner_sets_a_retention_policy(
    make_gateway: Callable[..., Gateway], own_registry: Registry, new_page: Callable[[], Any]
) -> None:
    collector = f"{require_tool('docker-registry')} garbage-collect --delete-untagged {own_registry.config_path}"
    own = make_gateway({"GATEWAY_GC_COMMAND": collector}, upstream_url=own_registry.url)
    push_images(own, [("alice", "alice/kept", "v1"), ("alice", "alice/kept", "v2"), ("alice", "alice/kept", "v3")])
    admin = new_page()
    sign_in(admin, own, *Gateway.ADMIN)
    admin.goto(f"{own.url}/ui/health")
    assert admin.locator(".gc-state").inner_text() == "Never run."
    assert_accessible(admin)
    admin.click("button:text('Dry run')")
    assert admin.locator(".notice").inner_text() == "Garbage collection (dry run) started."
    state = _state_after_refreshes(admin, f"{own.url}/ui/health", "done")
    assert state.startswith("Last run (dry run) by admin") and "dry run: 0 blobs" in state, state
    assert admin.locator("button:text('Collect garbage now')").count() == 1  # a real run: tests/e2e/test_gc.py

    alice = new_page()
    sign_in(alice, own, "alice", USERS["alice"])
    alice.goto(f"{own.url}/ui/namespaces/alice")
    assert alice.locator("#retention").inner_text().count("No policy: every tag stays.") == 1
    alice.fill("#retention-keep-last", "1")
    alice.fill("#retention-match", "(v+)+")
    alice.click("#retention-form button[type=submit]")
    assert "--match: a quantifier may only follow one character" in alice.locator("#retention .error").inner_text()
    assert alice.input_value("#retention-match") == "(v+)+"
    alice.fill("#retention-match", r"v1")
    alice.click("#retention-form button[type=submit]")
    assert alice.locator(".notice").inner_text() == "Retention policy for the namespace saved."
    assert alice.locator(".retention-policy").count() == 1
    assert alice.locator(".doomed-tag").all_inner_texts() == ["v2"]  # v3 is the newest, v1 matches the pattern kept
    assert_accessible(alice)

    admin.goto(f"{own.url}/ui/health")
    assert admin.locator(".retention-state").inner_text() == "Never run."
    admin.click("button:text('Apply retention now')")
    assert admin.locator(".notice").inner_text() == "Retention run started."
    state = _state_after_refreshes(admin, f"{own.url}/ui/health", "done", shown=".retention-state")
    assert "done, retention deleted 1 tags and kept 2 in 1 repositories" in state, state
    alice.goto(f"{own.url}/ui/repositories/alice/kept")
    assert sorted(alice.locator(".tag-name").all_inner_texts()) == ["v1", "v3"]

    bob = new_page()
    sign_in(bob, own, "bob", USERS["bob"])
    response = bob.goto(f"{own.url}/ui/namespaces/alice")
    assert response is not None and (response.status == 404 or bob.locator("#retention").count() == 0)
