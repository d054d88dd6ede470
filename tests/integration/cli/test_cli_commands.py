"""The management commands as an operator runs them (`python -m gateway ...` against the real
store, with a real gateway where the effect must show at the token endpoint), and how every
expected failure ends: one line on stderr, no traceback, exit 1 (operation) or 2 (setting)."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from gateway.store.schema import MIGRATIONS
from tests.support.processes import REPO_ROOT, Gateway, free_port, stop_process

PASSWORD = "cli-test-password-1"


def _offline(tmp_path: Path, env: dict[str, str] | None = None) -> Gateway:
    """A gateway's settings for its CLI only (never started): its own data dir, no upstream."""
    return Gateway(tmp_path / "offline", f"http://127.0.0.1:{free_port()}", dict(env or {}))


def _one_line_failure(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The one line a failed command printed, after checking it is all it printed."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("portus-gateway: "), lines
    assert result.stdout == ""
    return lines[0]


def _granted(token: str, repository: str) -> set[str]:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {a for entry in claims["access"] if entry["name"] == repository for a in entry["actions"]}


async def _token(gateway: Gateway, user: str, password: str, scope: str) -> tuple[int, dict[str, object]]:
    """Status and body of a password login at the token endpoint, as docker sends it."""
    params = {"service": gateway.host, "scope": scope}
    headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
    async with aiohttp.ClientSession() as session, session.get(
        f"{gateway.url}/v2/token", params=params, headers=headers
    ) as response:
        return response.status, await response.json(content_type=None)


# --- migrate -------------------------------------------------------------------------------------


def test_migrate_applies_every_migration_on_a_fresh_database_then_none(tmp_path: Path, database_url: str) -> None:
    offline = _offline(tmp_path, {"GATEWAY_DATABASE_URL": database_url})
    first = offline.cli("migrate").stdout
    assert first == f"applied migrations {', '.join(str(number) for number, _ in MIGRATIONS)}\n"
    assert offline.cli("migrate").stdout == "database is up to date\n"
    offline.add_user("alice", PASSWORD)
    assert offline.cli("user", "list").stdout == "alice\n", "the migrated schema holds users"


# --- users, teams, tokens ------------------------------------------------------------------------


def test_user_list_shows_admin_and_disabled_flags(tmp_path: Path) -> None:
    offline = _offline(tmp_path)
    offline.cli("migrate")
    offline.add_user("plain", PASSWORD)
    offline.add_user("boss", PASSWORD, admin=True)
    offline.add_user("gone", PASSWORD)
    offline.cli("user", "disable", "gone")
    assert sorted(offline.cli("user", "list").stdout.splitlines()) == ["boss (admin)", "gone (disabled)", "plain"]


def test_team_list_names_every_team(tmp_path: Path) -> None:
    offline = _offline(tmp_path)
    offline.cli("migrate")
    assert offline.cli("team", "list").stdout == ""
    for team in ("web", "data-eng"):
        assert offline.cli("team", "add", team).stdout == f"team {team} created\n"
    assert sorted(offline.cli("team", "list").stdout.splitlines()) == ["data-eng", "web"]


def test_token_list_shows_names_and_limits_but_never_the_secret(tmp_path: Path) -> None:
    offline = _offline(tmp_path)
    offline.cli("migrate")
    offline.add_user("alice", PASSWORD)
    created = offline.cli("token", "create", "alice", "--name", "ci", "--namespace", "alice", "--actions", "pull,push").stdout
    secret = created.split()[-1]
    offline.cli("token", "create", "alice", "--name", "reader", "--expires", "2w")
    listed = offline.cli("token", "list", "alice").stdout.splitlines()
    assert sorted(line.split()[0] for line in listed) == ["ci", "reader"]
    ci = next(line for line in listed if line.startswith("ci "))
    assert "namespaces=alice" in ci and "actions=pull,push" in ci and "expires=never" in ci
    reader = next(line for line in listed if line.startswith("reader "))
    assert "namespaces=*" in reader and "actions=pull" in reader and "expires=never" not in reader
    assert len(secret) >= 20 and secret not in "\n".join(listed)


async def test_user_passwd_replaces_the_password_at_the_token_endpoint(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway()
    scope = "repository:alice/app:pull"
    old = "alice-secret-pw"
    assert (await _token(gateway, "alice", old, scope))[0] == 200
    changed = gateway.cli("user", "passwd", "alice", "--password-stdin", stdin="a-brand-new-password\n").stdout
    assert changed.startswith("password of alice changed")
    status, body = await _token(gateway, "alice", "a-brand-new-password", scope)
    assert status == 200 and _granted(str(body["token"]), "alice/app") == {"pull"}, body
    assert (await _token(gateway, "alice", old, scope))[0] == 401, "the old password still signs in"


async def test_team_member_remove_takes_away_push(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway()
    gateway.cli("team", "add", "crew")
    gateway.cli("namespace", "add", "crew-space", "--team", "crew", "--visibility", "private")
    gateway.add_user("carol", PASSWORD)
    gateway.cli("team", "member", "add", "crew", "carol", "--role", "contributor")
    scope = "repository:crew-space/app:pull,push"
    status, body = await _token(gateway, "carol", PASSWORD, scope)
    assert status == 200 and _granted(str(body["token"]), "crew-space/app") == {"pull", "push"}, body

    assert gateway.cli("team", "member", "remove", "crew", "carol").stdout == "carol removed from crew\n"
    status, body = await _token(gateway, "carol", PASSWORD, scope)
    assert status == 200 and _granted(str(body["token"]), "crew-space/app") == set(), body
    again = gateway.cli("team", "member", "remove", "crew", "carol", check=False)
    assert "'carol' is not a member of team 'crew'" in _one_line_failure(again, 1)


# --- one-line failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (("user", "passwd", "nobody", "--password-stdin"), PASSWORD + "\n", "no such user 'nobody'"),
        (("user", "disable", "nobody"), None, "no such user 'nobody'"),
        (("token", "list", "nobody"), None, "no such user 'nobody'"),
        (("team", "member", "add", "noteam", "alice", "--role", "viewer"), None, "no such team 'noteam'"),
        (("user", "add", "Bad Name", "--password-stdin"), PASSWORD + "\n", "'Bad Name' is not a valid user name"),
        (("team", "add", "Web"), None, "'Web' is not a valid team name"),
        (("namespace", "add", "UPPER", "--team", "web"), None, "'UPPER' is not a valid namespace name"),
    ],
    ids=["passwd-unknown-user", "disable-unknown-user", "tokens-of-unknown-user", "unknown-team", "bad-user-name",
         "bad-team-name", "bad-namespace-name"],
)
def test_a_failed_operation_is_one_line_and_exit_1(
    tmp_path: Path, args: tuple[str, ...], stdin: str | None, expected: str
) -> None:
    offline = _offline(tmp_path)
    offline.cli("migrate")
    offline.add_user("alice", PASSWORD)
    offline.cli("team", "add", "web")
    line = _one_line_failure(offline.cli(*args, stdin=stdin, check=False), 1)
    assert expected in line
    assert sorted(offline.cli("user", "list").stdout.split()) == ["alice"], "the failure changed nothing"


@pytest.mark.parametrize("args", [("migrate",), ("user", "list"), ("team", "add", "web")])
def test_an_unreachable_store_is_one_line_and_exit_1(tmp_path: Path, args: tuple[str, ...]) -> None:
    port = free_port()  # nothing listens there
    offline = _offline(tmp_path, {"GATEWAY_DATABASE_URL": f"mysql://root@127.0.0.1:{port}/nothing"})
    line = _one_line_failure(offline.cli(*args, check=False), 1)
    assert line.startswith(f"portus-gateway: cannot connect to MariaDB at 127.0.0.1:{port}: "), line


def test_a_missing_mariadb_database_is_one_line_and_exit_1(tmp_path: Path, mariadb_url: str) -> None:
    missing = mariadb_url.rsplit("/", 1)[0] + "/portus_test_never_created"  # the server of the fixture answers
    offline = _offline(tmp_path, {"GATEWAY_DATABASE_URL": missing})
    line = _one_line_failure(offline.cli("user", "list", check=False), 1)
    where = URL(missing)
    expected = f"portus-gateway: cannot connect to MariaDB at {where.host}:{where.port or 3306}: "
    assert line.startswith(expected) and "Unknown database" in line, line


@pytest.mark.parametrize(
    ("variable", "value"),
    [("GATEWAY_TOKEN_TTL", "soon"), ("GATEWAY_UPSTREAM_URL", "ftp://x"), ("GATEWAY_LOG_LEVEL", "chatty"),
     ("GATEWAY_NAMESPACES_GLOBAL_VISIBILITY", "secret")],
)
def test_a_bad_setting_is_one_line_naming_it_and_exit_2(tmp_path: Path, variable: str, value: str) -> None:
    offline = _offline(tmp_path, {variable: value})
    for args in (("user", "list"), ("migrate",), ("serve",)):
        line = _one_line_failure(offline.cli(*args, check=False), 2)
        assert line.startswith(f"portus-gateway: bad setting {variable}: "), line
    assert not (tmp_path / "offline" / "data").exists(), "a bad setting created nothing"


def test_a_bad_setting_in_the_config_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[upstream]\nread_timeout = "forever"\n')
    offline = _offline(tmp_path)
    line = _one_line_failure(offline.cli("config", "show", "--config", str(config), check=False), 2)
    assert line.startswith("portus-gateway: bad setting ") and "read_timeout" in line, line


# --- serve ---------------------------------------------------------------------------------------


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        offline = _offline(tmp_path, {"GATEWAY_LISTEN": f"127.0.0.1:{port}"})
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "serve"], check=False, capture_output=True, text=True,
            env=offline.environment(), cwd=REPO_ROOT, timeout=60,
        )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    # Log lines are written by a thread of their own, so they may come before or after it.
    said = [line for line in result.stderr.splitlines() if line.startswith("portus-gateway: ")]
    assert len(said) == 1 and "address already in use" in said[0].lower() and str(port) in said[0], result.stderr
    assert sum("already in use" in line.lower() for line in output.splitlines()) == 1, output


def _serve_workers(offline: Gateway) -> subprocess.CompletedProcess[str]:
    """`serve --workers 2`, expected to stop on its own; stopped with SIGTERM (which ends its
    workers too, unlike the SIGKILL of subprocess.run's timeout) when it serves instead."""
    args = [sys.executable, "-m", "gateway", "serve", "--workers", "2"]
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=offline.environment(), cwd=REPO_ROOT
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            stop_process(process)  # type: ignore[arg-type]
            process.communicate()
            pytest.fail("serve --workers 2 started serving on a port another process listens on")
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _port_taken_line(result: subprocess.CompletedProcess[str], port: int) -> None:
    line = _one_line_failure(result, 1)
    assert line == (
        f"portus-gateway: cannot listen on 127.0.0.1:{port}: address already in use (another gateway or program listens there)"
    ), line


def test_serve_workers_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _serve_workers(_offline(tmp_path, {"GATEWAY_LISTEN": f"127.0.0.1:{port}"}))
    _port_taken_line(result, port)


def test_a_second_multi_worker_gateway_on_the_same_port_is_refused(
    make_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    """Workers bind with SO_REUSEPORT, which would let a second such gateway (another database,
    another signing key) join the port silently and take half of the first one's connections."""
    first = make_gateway({"GATEWAY_SERVER_WORKERS": "2"})
    second = _offline(tmp_path, {"GATEWAY_LISTEN": first.host})
    _port_taken_line(_serve_workers(second), first.port)
    assert first.process is not None and first.process.poll() is None
    assert urllib.request.urlopen(f"{first.url}/healthz", timeout=10).status == 200
