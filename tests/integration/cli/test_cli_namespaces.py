"""`team` and `namespace` commands as an operator runs them: they call the same services as the
API, so the same rules hold (a personal namespace never joins a team), and each refusal is one
line and exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli.test_cli_commands import (
    PASSWORD,
    _offline,
    _one_line_failure,
)
from tests.support.processes import Gateway


def _ready(tmp_path: Path, env: dict[str, str] | None = None) -> Gateway:
    """A migrated offline gateway with user alice and team ops (which has no owner)."""
    offline = _offline(tmp_path, env)
    offline.cli("migrate")
    offline.add_user("alice", PASSWORD)
    offline.cli("team", "add", "ops")
    return offline


def test_moving_a_personal_namespace_into_a_team_fails_and_leaves_it_personal(tmp_path: Path, database_url: str) -> None:
    offline = _ready(tmp_path, {"GATEWAY_DATABASE_URL": database_url})
    assert offline.cli("namespace", "update", "alice", "--visibility", "public").stdout == "namespace alice updated\n"
    line = _one_line_failure(offline.cli("namespace", "update", "alice", "--team", "ops", check=False), 1)
    assert line == "portus-gateway: 'alice' is the personal namespace of user 'alice'; it cannot belong to a team"
    assert offline.cli("namespace", "list").stdout == "alice team=- visibility=public usage=0 quota=none\n", "alice's namespace moved"


def test_team_add_list_and_members(tmp_path: Path) -> None:
    offline = _ready(tmp_path)
    assert offline.cli("team", "add", "web__tools").stdout == "team web__tools created\n"
    assert offline.cli("team", "list").stdout == "ops\nweb__tools\n"
    member = ("team", "member", "add", "ops", "alice", "--role")
    assert offline.cli(*member, "viewer").stdout == "alice added to ops as viewer\n"
    assert offline.cli(*member, "owner").stdout == "alice now ops as owner\n"
    assert offline.cli("team", "member", "remove", "ops", "alice").stdout == "alice removed from ops\n"
    again = offline.cli("team", "member", "remove", "ops", "alice", check=False)
    assert _one_line_failure(again, 1) == "portus-gateway: 'alice' is not a member of team 'ops'"


def test_namespace_add_update_list(tmp_path: Path) -> None:
    offline = _ready(tmp_path)
    added = offline.cli("namespace", "add", "a__b", "--team", "ops", "--visibility", "protected").stdout
    assert added == "namespace a__b created (team ops, protected)\n", "a__b is a valid namespace name"
    assert offline.cli("namespace", "add", "ops-space", "--team", "ops").stdout == "namespace ops-space created (team ops, private)\n"
    assert offline.cli("namespace", "update", "ops-space", "--visibility", "public").stdout == "namespace ops-space updated\n"
    listed = offline.cli("namespace", "list").stdout
    assert listed == "a__b team=ops visibility=protected usage=0 quota=none\nops-space team=ops visibility=public usage=0 quota=none\n"
    assert offline.cli("namespace", "delete", "a__b").stdout == "namespace a__b deleted\n"
    quota = offline.cli("namespace", "update", "ops-space", "--quota", "1.5GiB", "--visibility", "private").stdout
    assert quota == "namespace ops-space quota set: 0 B of 1.5 GiB\nnamespace ops-space updated\n"
    shown = offline.cli("namespace", "show", "ops-space").stdout
    assert shown == f"ops-space team=ops visibility=private usage=0 quota={3 * 2**29}\nstorage: 0 B of 1.5 GiB\n"
    assert offline.cli("namespace", "update", "ops-space", "--quota", "none").stdout == "namespace ops-space quota lifted: 0 B (no quota)\n"
    bad = _one_line_failure(offline.cli("namespace", "update", "ops-space", "--quota", "10 gallons", check=False), 1)
    assert bad == "portus-gateway: '10 gallons' is not a size: write it like 10GiB, 500MB or 1048576 (bytes), or none for no quota"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("namespace", "add", "ops-space", "--team", "nope"), "no such team 'nope'"),
        (("namespace", "add", "UPPER", "--team", "ops"), "'UPPER' is not a valid namespace name: one repository name component"),
        (("namespace", "add", "a/b", "--team", "ops"), "'a/b' is not a valid namespace name"),
        (("namespace", "add", "alice", "--team", "ops"), "'alice' is the personal namespace of user 'alice'"),
        (("namespace", "update", "nowhere", "--visibility", "public"), "no such namespace 'nowhere'"),
        (("namespace", "update", "alice"), "nothing to change"),
        (("namespace", "delete", "Bad"), "'Bad' is not a valid namespace name"),
        (("namespace", "release", "a/b"), "'a/b' is not a valid namespace name"),
        (("team", "add", "ops"), "team 'ops' already exists"),
        (("team", "add", "a/b"), "'a/b' is not a valid team name"),
        (("team", "member", "add", "ops", "ghost", "--role", "viewer"), "no such user 'ghost'"),
        (("team", "member", "remove", "nope", "alice"), "no such team 'nope'"),
    ],
    ids=["unknown-team", "bad-name", "two-components", "a-users-name", "unknown-namespace", "nothing-to-change",
         "delete-bad-name", "release-bad-name", "team-exists", "bad-team-name", "unknown-user", "remove-unknown-team"],
)
def test_a_refused_team_or_namespace_command_is_one_line_and_exit_1(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    offline = _ready(tmp_path)
    line = _one_line_failure(offline.cli(*args, check=False), 1)
    assert line.startswith(f"portus-gateway: {expected}"), line
    assert offline.cli("namespace", "list").stdout == "", "the refusal changed nothing"
    assert offline.cli("team", "list").stdout == "ops\n"


@pytest.mark.parametrize("command", [("namespace", "purge", "gone"), ("namespace", "recount"), ("tag", "delete", "alice/app:v1")])
def test_a_command_that_would_reach_a_registry_verifying_tokens_needs_the_service_in_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """The registry checks the gateway's tokens, and without `service` the command line cannot
    sign one: every command that deletes or reads there says so in one line, exit 1."""
    offline = _ready(tmp_path, {"GATEWAY_UPSTREAM_FORWARD_TOKEN": "true", "GATEWAY_SERVICE": ""})
    line = _one_line_failure(offline.cli(*command, check=False), 1)
    assert line == (
        "portus-gateway: the registry verifies the gateway's tokens: set service (GATEWAY_SERVICE) to delete in it"
        " from the command line, or do it through the API"
    )
