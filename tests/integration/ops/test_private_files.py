"""The data dir and what the gateway keeps in it are for the gateway's user alone: 0700 and
0600, a too-open data dir tightened at start with one warning line."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.support.client import bearer
from tests.support.processes import Gateway


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_data_dir_is_0700_and_the_store_and_keys_0600(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway()
    async with aiohttp.ClientSession() as session:  # a write, so the WAL is in use
        await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/x:pull")
    data = gateway.workdir / "data"
    assert _mode(data) == 0o700
    for name in ("gateway.db", "gateway.db-wal", "gateway.db-shm", "token.key", "secrets.key"):
        assert (data / name).exists(), name
        assert _mode(data / name) == 0o600, f"{name} is {_mode(data / name):04o}"


async def test_a_too_open_data_dir_and_store_are_tightened_at_start(make_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    data = tmp_path / "gateway0" / "data"
    data.mkdir(parents=True, mode=0o755)
    data.chmod(0o755)
    (data / "gateway.db").touch(mode=0o644)
    (data / "gateway.db").chmod(0o644)
    gateway = make_gateway(add_users=False)
    assert gateway.workdir / "data" == data
    assert _mode(data) == 0o700 and _mode(data / "gateway.db") == 0o600
    warnings = [line for line in gateway.log_text().splitlines() if "tightened to 0700" in line]
    assert len(warnings) == 1, warnings
