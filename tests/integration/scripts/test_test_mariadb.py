"""scripts/test-mariadb, which scripts/test sources: on a machine where no MariaDB answers it starts
a throw-away server of its own, tells the tests its address, and leaves nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT, MariaDBServer, in_ci, require_tool

PROBE = """\
set -uo pipefail
. scripts/test-mariadb
use_mariadb || exit 1
echo "url=$TEST_MARIADB_URL"
echo "dir=$own_mariadb_dir"
echo "pid=$own_mariadb_pid"
.venv/bin/python -c '
import pymysql
from tests.support.processes import MariaDBServer
connection = MariaDBServer.from_environment().connect(connect_timeout=5)
with connection.cursor() as cursor:
    cursor.execute("CREATE DATABASE portus_probe CHARACTER SET utf8mb4")
    cursor.execute("SELECT @@port")
    print("port=%s" % cursor.fetchone()[0])
try:
    pymysql.connect(host="127.0.0.1", port=MariaDBServer.from_environment().port, user="root", connect_timeout=5)
    print("without_password=accepted")
except pymysql.err.OperationalError:
    print("without_password=refused")
'
{after}
"""


def run_script(env: dict[str, str], after: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", PROBE.format(after=after)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def fields(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line and not line.startswith("==>"))


def gone(pid: int, deadline: float = 10.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def own_server_environment() -> dict[str, str]:
    if not in_ci():  # in CI the script installs MariaDB itself, as it would on a fresh machine
        require_tool("mariadbd")
        require_tool("mariadb-install-db")
    env = {k: v for k, v in os.environ.items() if k != "TEST_MARIADB_URL"}
    env["TEST_MARIADB"] = "own"
    return env


def test_own_server_answers_on_its_own_port_and_is_gone_after_the_script(own_server_environment: dict[str, str]) -> None:
    result = run_script(own_server_environment)
    assert result.returncode == 0, result.stdout + result.stderr
    found = fields(result.stdout)
    server = MariaDBServer.from_environment()
    assert re.fullmatch(rf"mysql://root:[0-9a-f]{{32}}@127\.0\.0\.1:{found['port']}", found["url"]), found["url"]
    assert found["without_password"] == "refused"
    assert int(found["port"]) != server.port, "its own port, not the shared server's"
    assert gone(int(found["pid"])), "the server outlived the script"
    assert not Path(found["dir"]).exists(), "the data directory outlived the script"


def test_own_server_is_stopped_when_the_script_is_terminated(own_server_environment: dict[str, str]) -> None:
    result = run_script(own_server_environment, after="kill -TERM $$; sleep 30")
    assert result.returncode == 128 + signal.SIGTERM, result.stdout + result.stderr
    found = fields(result.stdout)
    assert gone(int(found["pid"])), "the server outlived the terminated script"
    assert not Path(found["dir"]).exists()


def test_a_given_test_mariadb_url_is_used_as_it_is(own_server_environment: dict[str, str]) -> None:
    env = {k: v for k, v in own_server_environment.items() if k != "TEST_MARIADB"}
    env["TEST_MARIADB_URL"] = "mysql://root@127.0.0.1:1"
    result = subprocess.run(
        ["bash", "-c", '. scripts/test-mariadb; use_mariadb && echo "url=$TEST_MARIADB_URL pid=$own_mariadb_pid"'],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "url=mysql://root@127.0.0.1:1 pid=\n" in result.stdout
