"""`./portus-gateway`, the CLI of a checkout run from any directory with the settings scripts/run
saved. Each test copies the real script into a checkout of its own (the package and venv linked
in), so a data/ of the repository never leaks in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.processes import REPO_ROOT

PASSWORD = "a-long-password\n"


def _checkout(tmp_path: Path, *, venv: bool = True) -> Path:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy2(REPO_ROOT / "portus-gateway", checkout / "portus-gateway")
    (checkout / "gateway").symlink_to(REPO_ROOT / "gateway")
    if venv:
        (checkout / ".venv").symlink_to(Path(sys.prefix))
    return checkout


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_") and k != "PYTHONPATH"}
    return subprocess.run(command, input=stdin, capture_output=True, text=True, env={**base, **(env or {})}, cwd=cwd, timeout=60)


def _scripts_run_saves(checkout: Path, env: dict[str, str]) -> None:
    """What scripts/run does before it starts the server: `config env` into data/gateway.env."""
    (checkout / "data").mkdir(exist_ok=True)
    saved = _run([sys.executable, "-m", "gateway", "config", "env"], checkout, {**env, "PYTHONPATH": str(REPO_ROOT)})
    assert saved.returncode == 0, saved.stderr
    (checkout / "data" / "gateway.env").write_text(saved.stdout)


def test_wrapper_from_another_directory_uses_the_settings_scripts_run_saved(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _scripts_run_saves(checkout, {"GATEWAY_DATA_DIR": "data", "GATEWAY_ISSUER": "quick-start"})
    wrapper = str(checkout / "portus-gateway")

    added = _run([wrapper, "user", "add", "alice", "--password-stdin"], elsewhere, stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    listed = _run([wrapper, "user", "list"], elsewhere)
    assert listed.stdout.split() == ["alice"]
    shown = _run([wrapper, "config", "show"], elsewhere).stdout.splitlines()
    assert f"data_dir = {checkout / 'data'}" in shown and "issuer = quick-start" in shown
    assert (checkout / "data" / "gateway.db").is_file()
    assert list(elsewhere.iterdir()) == []

    shell = _run([wrapper, "config", "show"], elsewhere, {"GATEWAY_ISSUER": "from-shell"}).stdout.splitlines()
    assert "issuer = from-shell" in shell, "a variable set in the shell wins over the saved one"


def test_wrapper_without_saved_settings_stops_with_one_line(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _run([str(checkout / "portus-gateway"), "user", "list"], elsewhere)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "GATEWAY_DATA_DIR: not set" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_wrapper_runs_its_own_checkout_not_a_gateway_package_in_the_current_directory(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    impostor = tmp_path / "impostor"
    (impostor / "gateway").mkdir(parents=True)
    (impostor / "gateway" / "__main__.py").write_text("print('impostor')\n")
    (impostor / "gateway" / "__init__.py").write_text("")
    result = _run([str(checkout / "portus-gateway"), "--help"], impostor)
    assert result.returncode == 0, result.stderr
    assert "impostor" not in result.stdout and "usage: portus-gateway" in result.stdout


def test_wrapper_without_a_venv_says_how_to_make_one(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path, venv=False)
    result = _run([str(checkout / "portus-gateway"), "user", "list"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"portus-gateway: no {checkout}/.venv yet: run {checkout}/scripts/run (or scripts/install-deps) first"
    ]
