"""The command line as a new user meets it: where it finds its database and settings, where
`--config` may go, and what `user enable` tells. Each case runs `python -m gateway` for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT

PASSWORD = "a-long-password\n"


def _cli(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI with no GATEWAY_* settings but those given: what a fresh shell has."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    base.update({"PYTHONPATH": str(REPO_ROOT), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], input=stdin, capture_output=True, text=True, env=base, cwd=cwd, timeout=60
    )


def _ok(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    result = _cli(cwd, *args, env=env, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- no settings, no database --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("user", "list"),
        ("user", "add", "alice", "--password-stdin"),
        ("user", "disable", "alice"),
        ("team", "add", "web"),
        ("namespace", "list"),
        ("token", "list", "alice"),
    ],
)
def test_management_command_without_settings_or_database_stops_with_one_line_and_creates_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = _cli(tmp_path, *args, stdin=PASSWORD)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("portus-gateway: bad setting GATEWAY_DATA_DIR: not set")
    assert str(tmp_path / "data") in lines[0] and "./portus-gateway" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_the_default_database_is_used_where_it_exists(tmp_path: Path) -> None:
    assert "applied migrations" in _ok(tmp_path, "migrate")
    assert (tmp_path / "data" / "gateway.db").is_file()
    _ok(tmp_path, "user", "add", "alice", "--password-stdin", stdin=PASSWORD)
    assert _ok(tmp_path, "user", "list").split() == ["alice"]


def test_a_configured_data_dir_is_created_as_before(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere"
    _ok(tmp_path, "user", "add", "alice", "--password-stdin", env={"GATEWAY_DATA_DIR": str(data)}, stdin=PASSWORD)
    assert (data / "gateway.db").is_file()
    assert not (tmp_path / "data").exists()


# --- --config before or after the command ---------------------------------------------------------


def _placed(position: str, command: list[str], config: str) -> list[str]:
    if position == "before":
        return ["--config", config, *command]
    if position == "after":
        return [*command, "--config", config]
    return [command[0], "--config", config, *command[1:]]


@pytest.mark.parametrize("where", ["before", "after", "between"])
def test_config_is_read_before_after_or_between_the_commands(tmp_path: Path, where: str) -> None:
    def position(command: list[str], config: str) -> list[str]:
        return _placed(where, command, config)

    data = tmp_path / "configured"
    config = tmp_path / "gateway.toml"
    config.write_text(f'data_dir = "{data}"\nlog_level = "warning"\n')
    _ok(tmp_path, *position(["user", "add", "alice", "--password-stdin"], str(config)), stdin=PASSWORD)
    _ok(tmp_path, *position(["team", "add", "web"], str(config)))
    _ok(tmp_path, *position(["team", "member", "add", "web", "alice", "--role", "owner"], str(config)))
    assert _ok(tmp_path, *position(["user", "list"], str(config))).split() == ["alice"]
    shown = _ok(tmp_path, *position(["config", "show"], str(config)))
    assert f"data_dir = {data}" in shown.splitlines() and "log_level = WARNING" in shown.splitlines()
    assert (data / "gateway.db").is_file()


def test_config_after_the_command_wins_over_gateway_config(tmp_path: Path) -> None:
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    first.write_text('issuer = "first"\n')
    second.write_text('issuer = "second"\n')
    shown = _ok(tmp_path, "config", "show", "--config", str(second), env={"GATEWAY_CONFIG": str(first)})
    assert "issuer = second" in shown.splitlines()


# --- the settings scripts/run saves (config env, --env-file) -------------------------------------


def test_config_env_saves_the_settings_with_absolute_paths_and_nothing_else(tmp_path: Path) -> None:
    started_in = tmp_path / "checkout"
    started_in.mkdir()
    (started_in / "admin-password").write_text("admin-secret-pw\n")
    env = {
        "GATEWAY_DATA_DIR": "data",
        "GATEWAY_LISTEN": "127.0.0.1:5999",
        "GATEWAY_ADMIN_USERNAME": "admin",
        "GATEWAY_ADMIN_PASSWORD_FILE": "admin-password",
        "GATEWAY_TOKEN_PREVIOUS_CERT_FILES": "old.crt, /etc/older.crt",
        "GATEWAY_UPSTREAM_STORAGE_DIR": "",
        "GATEWAY_NOT_A_SETTING": "x",
    }
    saved = _ok(started_in, "config", "env", env=env).splitlines()
    assert sorted(saved) == sorted([
        f"GATEWAY_DATA_DIR={started_in / 'data'}",
        "GATEWAY_LISTEN=127.0.0.1:5999",
        "GATEWAY_ADMIN_USERNAME=admin",
        f"GATEWAY_ADMIN_PASSWORD_FILE={started_in / 'admin-password'}",
        f"GATEWAY_TOKEN_PREVIOUS_CERT_FILES={started_in / 'old.crt'},/etc/older.crt",
        "GATEWAY_UPSTREAM_STORAGE_DIR=",
    ])
    assert not any(line.startswith(("PATH=", "PYTHONPATH=")) for line in saved)


def test_config_env_makes_a_relative_sqlite_url_absolute_and_keeps_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "gateway.toml").write_text('issuer = "saved"\n')
    saved = _ok(tmp_path, "config", "env", "--config", "gateway.toml", env={"GATEWAY_DATABASE_URL": "sqlite:///db/gw.db"})
    assert sorted(saved.splitlines()) == [
        f"GATEWAY_CONFIG={tmp_path / 'gateway.toml'}",
        f"GATEWAY_DATABASE_URL=sqlite:///{tmp_path / 'db' / 'gw.db'}",
    ]


def test_config_env_refuses_a_value_with_a_line_break(tmp_path: Path) -> None:
    result = _cli(tmp_path, "config", "env", env={"GATEWAY_ISSUER": "one\ntwo"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "portus-gateway: bad setting GATEWAY_ISSUER: holds a line break, which an environment file cannot carry; put it on one line"
    ]


def test_the_cli_run_elsewhere_uses_the_saved_settings(tmp_path: Path) -> None:
    """The scripts/run mechanism: `config env` where the server starts, `--env-file` anywhere later."""
    checkout, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    checkout.mkdir()
    elsewhere.mkdir()
    started = {"GATEWAY_DATA_DIR": "data", "GATEWAY_ISSUER": "quick-start"}
    (checkout / "gateway.env").write_text(_ok(checkout, "config", "env", env=started))
    assert "applied migrations" in _ok(checkout, "migrate", env=started)

    env_file = str(checkout / "gateway.env")
    _ok(elsewhere, "user", "add", "alice", "--password-stdin", "--env-file", env_file, stdin=PASSWORD)
    assert _ok(elsewhere, "--env-file", env_file, "user", "list").split() == ["alice"]
    shown = _ok(elsewhere, "config", "show", "--env-file", env_file).splitlines()
    assert f"data_dir = {checkout / 'data'}" in shown and "issuer = quick-start" in shown
    assert list(elsewhere.iterdir()) == []

    overridden = _ok(elsewhere, "config", "show", "--env-file", env_file, env={"GATEWAY_ISSUER": "from-shell"})
    assert "issuer = from-shell" in overridden.splitlines(), "a variable set in the shell wins over the file"


def test_env_file_takes_comments_and_names_a_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "good.env"
    good.write_text(f"# saved\n\nexport GATEWAY_DATA_DIR={tmp_path / 'd'}\nOTHER=ignored\n")
    assert f"data_dir = {tmp_path / 'd'}" in _ok(tmp_path, "config", "show", "--env-file", str(good)).splitlines()
    bad = tmp_path / "bad.env"
    bad.write_text("GATEWAY_ISSUER=x\nthis is not a setting\n")
    result = _cli(tmp_path, "config", "show", "--env-file", str(bad))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"portus-gateway: bad setting --env-file: {bad} line 2: expected KEY=VALUE"]
    missing = _cli(tmp_path, "user", "list", "--env-file", str(tmp_path / "missing.env"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr and len(missing.stderr.splitlines()) == 1


# --- user enable ---------------------------------------------------------------------------------


def test_user_enable_says_that_revoked_refresh_tokens_stay_revoked(tmp_path: Path) -> None:
    env = {"GATEWAY_DATA_DIR": str(tmp_path / "data")}
    _ok(tmp_path, "user", "add", "alice", "--password-stdin", env=env, stdin=PASSWORD)
    assert _ok(tmp_path, "user", "disable", "alice", env=env) == "user alice disabled\n"
    enabled = _ok(tmp_path, "user", "enable", "alice", env=env).splitlines()
    assert enabled[0] == "user alice enabled"
    assert "refresh tokens revoked by the disable stay revoked" in enabled[1]
    assert "docker login" in enabled[1]
    assert _ok(tmp_path, "user", "enable", "alice", env=env) == "user alice enabled\n", "nothing was revoked this time"
