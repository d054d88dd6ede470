"""Under a truthy `CI` a skipped or xfailed test fails the session and is listed with its reason;
without it a skip stays a skip. Each case runs a tiny pytest of its own in a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT

TESTS = """\
import pytest

def test_runs():
    pass

{extra}
"""

SKIPPING = """\
def test_needs_podman():
    pytest.skip("podman is not installed here")
"""

XFAILING = """\
@pytest.mark.xfail(reason="a known bug")
def test_known_bug():
    assert False
"""


def run_pytest(tmp_path: Path, extra: str, ci: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_tiny.py").write_text(TESTS.format(extra=extra))
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(REPO_ROOT)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.support.ci_gate", "-p", "no:cacheprovider",
               "-o", "asyncio_default_fixture_loop_scope=function", *args, "test_tiny.py"]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_tests_conftest_loads_the_ci_gate(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.has_plugin("tests.support.ci_gate")


def test_a_skip_under_ci_fails_the_session_and_names_the_test_and_its_reason(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, SKIPPING, "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SKIPPED test_tiny.py::test_needs_podman: podman is not installed here" in result.stdout
    assert "1 passed, 1 skipped" in result.stdout


def test_an_xfail_under_ci_fails_the_session_too(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, XFAILING, "yes")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "XFAIL test_tiny.py::test_known_bug: a known bug" in result.stdout


def test_a_skip_at_collection_under_ci_fails_the_session(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, 'pytest.importorskip("no_such_module_for_portus")', "true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SKIPPED test_tiny.py: could not import 'no_such_module_for_portus'" in result.stdout


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_a_skip_without_ci_stays_a_skip(tmp_path: Path, ci: str | None) -> None:
    result = run_pytest(tmp_path, SKIPPING, ci)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not run although CI is set" not in result.stdout


def test_a_session_where_everything_runs_passes_under_ci(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "", "1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_real_failure_under_ci_keeps_its_own_exit_status(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, SKIPPING + "\ndef test_broken():\n    assert False\n", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SKIPPED test_tiny.py::test_needs_podman" in result.stdout


def test_a_selection_of_this_suite_runs_green_under_ci() -> None:
    """The gate inside the real suite (tests/conftest.py, pyproject.toml), not a tiny one."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["CI"] = "true"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/test_safe_json.py"]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "INTERNALERROR" not in result.stdout + result.stderr
