"""The issue's flow in one piece, in the browser, from a gateway that has never run: the setup
code from the log makes the admin, who adds a user, a team with that user in it and the team's
private namespace; the user makes an application token in the UI, logs skopeo in with it and
pushes; the push shows on the repository page with its size and pusher; the admin deletes the
manifest from the UI and the audit log shows who did. Each step is tested in depth elsewhere
(test_first_run, test_manage_*, test_browse): this proves they join up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.clients import client_env, run
from tests.integration.ui.conftest import NO_ADMIN, setup_url, sign_in
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway, require_tool

ADMIN, ADMIN_PASSWORD = "chief", "chief-long-password"
USER, USER_PASSWORD = "dana", "dana-long-password"
TEAM, NAMESPACE = "builders", "builders__apps"
REPOSITORY = f"{NAMESPACE}/app"


def _submit(page: Any, form: str) -> None:
    page.click(f"form[method=post][action$='{form}'] button[type=submit]")


def test_from_the_setup_code_to_a_deleted_manifest_in_the_audit_log(
    make_gateway: Callable[..., Gateway], new_page: Callable[[], Any], tmp_path: Path,
) -> None:
    skopeo = require_tool("skopeo")
    fresh = make_gateway(NO_ADMIN, add_users=False)
    admin = new_page()
    admin.goto(setup_url(fresh))
    admin.fill("#username", ADMIN)
    admin.fill("#password", ADMIN_PASSWORD)
    admin.fill("#password_again", ADMIN_PASSWORD)
    admin.click("button[type=submit]")
    assert admin.url == f"{fresh.url}/ui/" and admin.locator("header .badge").inner_text() == "admin"

    admin.goto(f"{fresh.url}/ui/users")
    admin.fill("#new-user-name", USER)
    admin.fill("#new-user-password", USER_PASSWORD)
    admin.fill("#new-user-password-again", USER_PASSWORD)
    _submit(admin, "/ui/users")
    assert admin.locator(".notice").inner_text() == f"User {USER} added."
    admin.goto(f"{fresh.url}/ui/teams")
    admin.fill("#team-name", TEAM)
    _submit(admin, "/ui/teams")
    admin.fill("#member-name", USER)
    admin.select_option("#member-role", "contributor")
    _submit(admin, f"/ui/teams/{TEAM}/members")
    admin.fill("#namespace-name", NAMESPACE)
    admin.select_option("#namespace-visibility", "private")
    _submit(admin, f"/ui/teams/{TEAM}/namespaces")
    assert NAMESPACE in admin.locator(".notice").inner_text()

    user = new_page()
    sign_in(user, fresh, USER, USER_PASSWORD)
    user.goto(f"{fresh.url}/ui/tokens")
    user.fill("#token-name", "ci")
    user.fill("#token-namespaces", NAMESPACE)
    user.check("input[name=actions][value=push]")
    _submit(user, "/ui/tokens")
    secret = user.input_value("#token-secret")
    env = client_env(tmp_path / "skopeo")
    login = run([skopeo, "login", "--tls-verify=false", "-u", USER, "--password-stdin", fresh.host], env, stdin=secret + "\n")
    assert login.ok and "Login Succeeded" in login.stdout, login.describe()
    layout = build_layout(tmp_path / "image", layers=1, layer_size=4096, seed=REPOSITORY)
    pushed = run([skopeo, "copy", "--retry-times", "0", "--dest-tls-verify=false", f"oci:{layout.path}:latest",
                  f"docker://{fresh.host}/{REPOSITORY}:v1"], env)
    assert pushed.ok, pushed.describe()

    user.goto(f"{fresh.url}/ui/repositories/{REPOSITORY}")
    tag = user.locator("article.tag")
    assert tag.locator(".tag-name").all_inner_texts() == ["v1"]
    assert tag.locator("code.digest").get_attribute("title") == layout.manifest_digest
    assert tag.locator(".size").inner_text().endswith("KiB") and tag.locator(".pushed-by").inner_text() == USER

    admin.goto(f"{fresh.url}/ui/repositories/{REPOSITORY}")
    admin.click(".delete-manifest")
    admin.click("button.danger")
    assert admin.locator(".tag-name").count() == 0
    admin.goto(f"{fresh.url}/ui/audit?repository={REPOSITORY}&action=delete")
    rows = admin.locator(".event-row")
    assert rows.count() == 1 and ADMIN in rows.first.inner_text() and layout.manifest_digest[:19] in rows.first.inner_text()
