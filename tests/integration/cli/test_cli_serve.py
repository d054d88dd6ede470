"""`serve` as the command line starts it: `--config FILE` settings reach the running server (and,
with `--workers N`, every worker), two workers both answer and one SIGTERM ends them all."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ops.helpers import get, wait_until
from tests.support.client import USERS
from tests.support.processes import REPO_ROOT, Gateway, Registry, free_port, stop_process, wait_for_http


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _issuer_of_a_token(gateway: Gateway) -> object:
    """The `iss` of a token alice gets, on a connection of its own."""
    query = urllib.parse.urlencode({"service": gateway.host, "scope": "repository:alice/app:pull"})
    basic = base64.b64encode(f"alice:{USERS['alice']}".encode()).decode()
    request = urllib.request.Request(f"{gateway.url}/v2/token?{query}", headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return _claims(json.load(response)["token"])["iss"]


def _children(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in children.read_text().split()} if children.exists() else set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def served(registry: Registry, tmp_path: Path) -> Iterator[tuple[Gateway, Path, list[subprocess.Popen[bytes]]]]:
    """A gateway's settings, a TOML file for `--config`, and the serve processes started (stopped after)."""
    gateway = Gateway(tmp_path / "gateway", registry.url)
    gateway.port = free_port()
    gateway.workdir.mkdir(parents=True)
    gateway.add_user("alice", USERS["alice"])
    started: list[subprocess.Popen[bytes]] = []
    yield gateway, tmp_path / "gateway.toml", started
    for process in started:
        stop_process(process)


def _serve(gateway: Gateway, started: list[subprocess.Popen[bytes]], *args: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", *args], stdout=gateway.log_path.open("ab"),
        stderr=subprocess.STDOUT, env=gateway.environment(), cwd=REPO_ROOT,
    )
    started.append(process)
    gateway.process = process
    wait_for_http(f"{gateway.url}/healthz", process, gateway.log_path)
    return process


def test_serve_uses_the_settings_of_its_config_file(served: tuple[Gateway, Path, list[subprocess.Popen[bytes]]]) -> None:
    gateway, config, started = served
    config.write_text('issuer = "issuer-from-toml"\n')
    _serve(gateway, started, "--config", str(config))
    assert _issuer_of_a_token(gateway) == "issuer-from-toml"


def test_serve_workers_2_runs_two_workers_with_the_config_file_and_one_stop_ends_both(
    served: tuple[Gateway, Path, list[subprocess.Popen[bytes]]],
) -> None:
    gateway, config, started = served
    config.write_text('issuer = "workers-from-toml"\nlog_format = "json"\n')
    supervisor = _serve(gateway, started, "--workers", "2", "--config", str(config))
    workers = wait_until(lambda: _children(supervisor.pid), lambda pids: len(pids) == 2)
    assert len(workers) == 2, workers
    wait_until(gateway.log_text, lambda text: text.count("serving on http") == 2)

    def answered_by() -> set[int]:
        for _ in range(20):  # a new connection each time: the kernel picks a worker
            assert _issuer_of_a_token(gateway) == "workers-from-toml", "a worker without the config file's settings"
            assert get(f"{gateway.url}/healthz")[0] == 200
        access = [json.loads(line) for line in gateway.log_text().splitlines() if line.startswith("{")]
        return {line["pid"] for line in access if line.get("logger") == "gateway.access" and line["path"] == "/healthz"}

    # The access log is JSON only because the workers read the config file the supervisor was given.
    pids = wait_until(answered_by, lambda found: found == workers, timeout=30)
    assert pids == workers, f"answered by {pids}, workers are {workers}"

    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(30) == 0
    assert not any(_alive(pid) for pid in workers), "a worker outlived the supervisor"
