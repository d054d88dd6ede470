"""`portus-gateway import portus` as an operator runs it: a dry run writes nothing, the import
seals webhook credentials the gateway's way, a bad source ends in one line, exit 1, and the
source's password can stay out of the process list (--from-file, PORTUS_IMPORT_URL; --from
with a password warns)."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from yarl import URL

from tests.integration.cli.test_cli_commands import _offline, _one_line_failure
from tests.support.portus import OWNER, PortusDatabase, portus_database
from tests.support.processes import MariaDBServer, free_port, mariadb_database


@pytest.fixture
def portus() -> Iterator[PortusDatabase]:
    url, drop = mariadb_database("portus_cli")
    with portus_database(url) as db:
        alice = db.user("alice", "alice-Portus-pw1")
        team = db.team("web", {alice: OWNER})
        web = db.namespace("web", team)
        db.webhook(web, "https://hooks.example.test/portus", username="hookuser", password="hook-pass-secret",
                   headers={"X-Token": "header-secret"})
        yield db
    drop()


def users(workdir: Path) -> list[str]:
    with sqlite3.connect(workdir / "data" / "gateway.db") as db:
        return [name for (name,) in db.execute("SELECT name FROM users ORDER BY name")]


def test_a_dry_run_writes_nothing_and_the_import_seals_webhook_credentials(portus: PortusDatabase, tmp_path: Path) -> None:
    gateway = _offline(tmp_path)
    dry = gateway.cli("import", "portus", "--from", portus.url, "--dry-run")
    assert "dry run (nothing written)" in dry.stdout and "user:" in dry.stdout, dry.stdout
    assert users(gateway.workdir) == []

    done = gateway.cli("import", "portus", "--from", portus.url)
    assert "importing" in done.stderr  # counts per kind in the log when stderr is no terminal
    assert users(gateway.workdir) == ["alice"]
    with sqlite3.connect(gateway.workdir / "data" / "gateway.db") as db:
        [(url, headers, source)] = db.execute("SELECT url, headers, source FROM webhooks").fetchall()
    assert source == "import"
    assert "hook-pass-secret" not in url and "header-secret" not in headers  # sealed, as the API stores them


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("postgres://u@127.0.0.1/portus", "--from: expected mysql://USER:PASS@HOST:PORT/DB"),
        (f"mysql://root@127.0.0.1:{free_port()}/portus", "cannot read the Portus database at 127.0.0.1:"),
    ],
    ids=["not-mysql", "unreachable"],  # the same ids in every xdist worker, whatever port was free
)
def test_a_bad_or_unreachable_source_fails_in_one_line(source: str, message: str, tmp_path: Path) -> None:
    result = _offline(tmp_path).cli("import", "portus", "--from", source, check=False)
    assert message in _one_line_failure(result, 1)


def test_a_database_that_is_not_portus_fails_in_one_line(tmp_path: Path) -> None:
    url, drop = mariadb_database("portus_not")
    try:
        result = _offline(tmp_path).cli("import", "portus", "--from", url, check=False)
    finally:
        drop()
    assert "not a Portus database: it has no table 'users'" in _one_line_failure(result, 1)


def test_corrupt_rows_are_each_named_and_nothing_is_written(tmp_path: Path) -> None:
    url, drop = mariadb_database("portus_bad")
    try:
        with portus_database(url) as db:
            db.namespace("lost", 4242)
        gateway = _offline(tmp_path)
        result = gateway.cli("import", "portus", "--from", url, check=False)
    finally:
        drop()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "problem: namespaces #" in result.stderr and "team #4242 does not exist" in result.stderr
    assert "portus-gateway: 1 Portus row(s) Portus itself would not have written; nothing was imported" in result.stderr
    assert users(gateway.workdir) == []


@pytest.fixture
def reader(portus: PortusDatabase) -> Iterator[str]:
    """The Portus database's URL as a MariaDB user with a password (and read rights only)."""
    server, name, secret = MariaDBServer.from_environment(), f"reader_{secrets.token_hex(4)}", secrets.token_hex(12)
    database = URL(portus.url).path.strip("/")
    connection = server.connect(connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{secret}'")
            cursor.execute(f"GRANT SELECT ON `{database}`.* TO '{name}'@'%'")
        yield str(URL(portus.url).with_user(name).with_password(secret))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{name}'@'%'")
        connection.close()


def test_the_source_password_stays_off_the_command_line(reader: str, tmp_path: Path) -> None:
    password = str(URL(reader).password)
    url_file = tmp_path / "portus-url"
    url_file.write_text(reader + "\n")
    from_file = _offline(tmp_path / "file").cli("import", "portus", "--from-file", str(url_file), "--dry-run")
    assert "user:" in from_file.stdout and "warning" not in from_file.stderr

    from_env = _offline(tmp_path / "env", {"PORTUS_IMPORT_URL": reader}).cli("import", "portus", "--dry-run")
    assert "user:" in from_env.stdout and "warning" not in from_env.stderr

    given = _offline(tmp_path / "arg").cli("import", "portus", "--from", reader, "--dry-run")
    assert "user:" in given.stdout
    warning = given.stderr.splitlines()[0]
    assert warning.startswith("portus-gateway: warning: --from shows the Portus database's password")
    assert "--from-file PATH" in warning and "PORTUS_IMPORT_URL" in warning and password not in given.stderr


def test_no_source_fails_in_one_line_naming_the_ways_to_give_it(tmp_path: Path) -> None:
    assert "--from-file PATH (a file holding its URL), the environment variable PORTUS_IMPORT_URL, or --from URL" in (
        _one_line_failure(_offline(tmp_path).cli("import", "portus", check=False), 1)
    )
