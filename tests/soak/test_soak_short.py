"""The soak's short mode, run by the normal suite: 40 s of mixed load over two gateway instances on
a MariaDB of its own while one instance is killed with -9, MariaDB restarts and the registry
restarts. Asserts what must hold whatever the machine's speed; recovery times are printed, not
asserted (`python -m tests.soak` enforces them)."""

from __future__ import annotations

import pytest

from tests.soak.report import render
from tests.soak.run import soak
from tests.support.processes import require_tool

SECONDS = 40.0


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_pushes_events_and_webhooks_survive_a_killed_instance_and_restarted_database_and_registry() -> None:
    for tool in ("skopeo", "docker-registry", "mariadbd", "mariadb-install-db"):
        require_tool(tool)
    outcome = await soak(SECONDS, webhook_timeout=40.0)
    print(render(outcome, SECONDS / 60, enforce_timing=False))
    failed = outcome.failed(timing=False)
    assert not failed, "\n".join(f"{check.name}: {check.detail}" for check in failed)
