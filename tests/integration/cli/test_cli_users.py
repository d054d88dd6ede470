"""`user` and `token` commands on the rules of gateway/services: what they print, and the one
line and exit 1 of each refusal (the store left as it was)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.cli.test_cli_commands import PASSWORD, _offline, _one_line_failure
from tests.support.processes import REPO_ROOT, Gateway


def _migrated(tmp_path: Path) -> Gateway:
    offline = _offline(tmp_path)
    offline.cli("migrate")
    offline.add_user("alice", PASSWORD)
    return offline


def test_user_delete_deletes_once_then_says_no_such_user(tmp_path: Path) -> None:
    offline = _migrated(tmp_path)
    offline.cli("token", "create", "alice", "--name", "ci")
    assert offline.cli("user", "delete", "alice").stdout == "user alice deleted\n"
    assert offline.cli("user", "list").stdout == ""
    line = _one_line_failure(offline.cli("user", "delete", "alice", check=False), 1)
    assert line == "portus-gateway: no such user 'alice'"


def test_user_add_refuses_a_taken_name_and_a_team_namespace_in_one_line(tmp_path: Path) -> None:
    offline = _migrated(tmp_path)
    taken = _one_line_failure(offline.cli("user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n", check=False), 1)
    assert taken == "portus-gateway: user 'alice' already exists"
    offline.cli("team", "add", "web")
    offline.cli("namespace", "add", "webapps", "--team", "web")
    clash = _one_line_failure(offline.cli("user", "add", "webapps", "--password-stdin", stdin=PASSWORD + "\n", check=False), 1)
    assert "a namespace named 'webapps' exists" in clash
    short = _one_line_failure(offline.cli("user", "add", "carol", "--password-stdin", stdin="short\n", check=False), 1)
    assert "8 to 1024 characters" in short
    assert offline.cli("user", "list").stdout == "alice\n"


def test_token_revoke_revokes_once_then_says_there_is_none(tmp_path: Path) -> None:
    offline = _migrated(tmp_path)
    offline.cli("token", "create", "alice", "--name", "ci")
    assert offline.cli("token", "revoke", "alice", "ci").stdout == "token ci of alice revoked\n"
    assert offline.cli("token", "list", "alice").stdout == ""
    line = _one_line_failure(offline.cli("token", "revoke", "alice", "ci", check=False), 1)
    assert line == "portus-gateway: 'alice' has no application token named 'ci'"


def test_token_create_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    offline = _migrated(tmp_path)
    expiry = _one_line_failure(offline.cli("token", "create", "alice", "--name", "ci", "--expires", "1y", check=False), 1)
    assert "not a duration" in expiry
    actions = _one_line_failure(offline.cli("token", "create", "alice", "--name", "ci", "--actions", "pull,own", check=False), 1)
    assert "actions" in actions
    assert offline.cli("token", "list", "alice").stdout == ""


# Run a command in this process's place and print which heavy modules it loaded.
_LOADED_PROBE = (
    "import sys\n"
    "from gateway.cli import run\n"
    "run(sys.argv[1:])\n"
    "print(','.join(m for m in ('aiohttp', 'ldap3', 'gateway.registry.purge', 'gateway.keys') if m in sys.modules))\n"
)


def test_commands_that_reach_no_registry_start_without_aiohttp(tmp_path: Path) -> None:
    """Scripts (and this suite) run `user add` and the like hundreds of times: the registry's
    client, aiohttp and the server's modules are a third of a second each time, loaded only by
    the commands that reach the registry or serve."""
    offline = _migrated(tmp_path)
    for command, stdin in (
        (("user", "add", "bob", "--password-stdin"), PASSWORD + "\n"), (("user", "list"), None),
        (("team", "add", "web"), None), (("namespace", "add", "web", "--team", "web"), None),
        (("namespace", "list"), None), (("token", "create", "alice", "--name", "ci"), None),
    ):
        result = subprocess.run(
            [sys.executable, "-c", _LOADED_PROBE, *command], input=stdin, capture_output=True, text=True,
            env=offline.environment(), cwd=REPO_ROOT, timeout=60,
        )
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.splitlines()[-1] == "", (command, result.stdout)
