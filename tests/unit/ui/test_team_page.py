"""The team page's move form, rendered alone: a select of the teams one manages when they fit on
the page, a text field when there are more, and a note when there is none to move into."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import jinja2

from gateway.services.teams import TeamRights
from gateway.store import Namespace, User


def _render(targets: list[str], more_targets: bool) -> str:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("gateway.ui", "templates"), autoescape=True, undefined=jinja2.StrictUndefined)
    context: dict[str, Any] = {
        "title": "Team web", "nav": "teams", "team": "web", "rights": TeamRights("owner", manages=True), "roles": ("owner",),
        "visibilities": ("private",), "members": [], "members_next": None, "namespaces": [Namespace("web__app", "web", "private", 0)],
        "namespaces_next": None, "flash": None, "error": None, "team_path": "/ui/teams/web", "targets": targets,
        "more_targets": more_targets, "csrf": "token", "ui": "/ui",
        "signed_in": SimpleNamespace(user=User("alice", "hash", admin=False, disabled=False, created_at=0, updated_at=0)),
    }
    return environment.get_template("manage_team.html").render(context)


def test_the_teams_one_manages_are_offered_in_a_select() -> None:
    page = _render(["data", "ops"], more_targets=False)
    assert '<select id="move-1" name="team">' in page
    assert '<option value="data">data</option><option value="ops">ops</option>' in page


def test_more_teams_than_a_page_holds_are_typed_in_a_text_field() -> None:
    page = _render(["data"], more_targets=True)
    assert '<input id="move-1" name="team"' in page and '<select id="move-1"' not in page


def test_with_no_other_team_to_move_into_there_is_no_move_form() -> None:
    page = _render([], more_targets=False)
    assert "move-form" not in page and "no other team of yours" in page
