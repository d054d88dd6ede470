"""Every test has a deadline (pytest-timeout, pyproject.toml): a hung test fails alone, and the
rest of the run goes on, for async tests and for tests waiting on a subprocess alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT

HANGING = """\
import asyncio
import subprocess

import pytest


@pytest.mark.timeout(2)
async def test_hangs_in_the_event_loop():
    await asyncio.sleep(120)


@pytest.mark.timeout(2)
def test_hangs_on_a_subprocess(tmp_path):
    subprocess.run(["sleep", "120"], check=True)


def test_runs_after_them():
    pass
"""


def test_every_test_has_a_default_deadline_that_raises_inside_the_test(request: pytest.FixtureRequest) -> None:
    assert float(request.config.getini("timeout")) == 300
    assert request.config.getini("timeout_method") == "signal"


def test_a_hung_test_fails_alone_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "test_hanging.py").write_text(HANGING)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(REPO_ROOT / "pyproject.toml"),
               "--rootdir", str(tmp_path), str(tmp_path / "test_hanging.py")]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=100)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 failed, 1 passed" in result.stdout, result.stdout
    for name in ("test_hangs_in_the_event_loop", "test_hangs_on_a_subprocess"):
        assert f"FAILED test_hanging.py::{name} - Failed: Timeout" in result.stdout, result.stdout
