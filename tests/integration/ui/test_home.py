"""The home page lists the namespaces its user may see, and no other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.ui.conftest import assert_accessible, sign_in
from tests.support.client import USERS
from tests.support.processes import Gateway


def test_home_lists_what_the_user_may_see_and_hides_other_teams_private_namespaces(
    make_gateway: Callable[..., Gateway], page: Any,
) -> None:
    own = make_gateway()
    for team in ("web", "ops"):
        own.cli("team", "add", team)
    own.cli("team", "member", "add", "web", "alice", "--role", "viewer")
    own.cli("namespace", "add", "web-private", "--team", "web", "--visibility", "private")
    own.cli("namespace", "add", "ops-private", "--team", "ops", "--visibility", "private")
    own.cli("namespace", "add", "ops-open", "--team", "ops", "--visibility", "protected")

    sign_in(page, own, "alice", USERS["alice"])
    names = page.locator(".namespace-name").all_inner_texts()
    assert names == ["alice", "ops-open", "web-private"]
    assert "ops-private" not in page.content()
    assert_accessible(page)

    admin = page.context.browser.new_context().new_page()
    sign_in(admin, own, *Gateway.ADMIN)
    assert "ops-private" in admin.locator(".namespace-name").all_inner_texts()
    admin.context.close()
