"""/healthz and /readyz against real components: the registry stops and returns, MariaDB locks the
gateway out and lets it back in."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from yarl import URL

from tests.integration.ops.helpers import get_json, wait_until
from tests.support.processes import Gateway, MariaDBServer, Registry, mariadb_database


def readiness(gateway: Gateway) -> tuple[int, dict[str, object]]:
    return get_json(f"{gateway.url}/readyz")


def test_readyz_reports_each_component_with_its_latency(gateway: Gateway) -> None:
    status, body = readiness(gateway)
    assert status == 200, body
    assert body["status"] == "ready"
    checks = body["checks"]
    assert isinstance(checks, dict) and set(checks) == {"store", "upstream", "signing_key"}
    for name, check in checks.items():
        assert check["status"] == "up", (name, check)
        assert isinstance(check["latency_ms"], (int, float)) and check["latency_ms"] >= 0
    assert get_json(f"{gateway.url}/healthz") == (200, {"status": "ok"})


def test_readyz_flips_to_503_while_the_upstream_registry_is_stopped(
    make_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    upstream = Registry(tmp_path / "own-registry").start()
    try:
        gateway = make_gateway(upstream_url=upstream.url)
        assert readiness(gateway)[0] == 200

        upstream.stop()
        status, body = wait_until(lambda: readiness(gateway), lambda r: r[0] == 503)
        assert status == 503, body
        assert body["status"] == "not ready"
        assert body["checks"]["upstream"]["status"] == "down"  # type: ignore[index]
        assert body["checks"]["store"]["status"] == "up"  # type: ignore[index]
        assert get_json(f"{gateway.url}/healthz")[0] == 200, "liveness does not depend on the upstream"

        upstream.start()  # same port
        status, body = wait_until(lambda: readiness(gateway), lambda r: r[0] == 200)
        assert status == 200, body
    finally:
        upstream.stop()


@pytest.fixture
def locked_out_user() -> Iterator[tuple[str, Callable[[bool], None]]]:
    """A MariaDB database and a user of its own: (URL, lock(flag)). Locking also kills the
    user's open connections, so the gateway's pool loses them at once."""
    url, drop = mariadb_database("portus_ready")
    database = URL(url).path.strip("/")
    user, password = f"pgready_{secrets.token_hex(3)}", secrets.token_hex(12)
    server = MariaDBServer.from_environment()
    root = server.connect(autocommit=True)

    def sql(statement: str, *args: object) -> list[tuple[object, ...]]:
        with root.cursor() as cursor:
            cursor.execute(statement, args)
            return list(cursor.fetchall())

    sql(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", password)
    sql(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%%'")

    def lock(locked: bool) -> None:
        sql(f"ALTER USER '{user}'@'%%' ACCOUNT {'LOCK' if locked else 'UNLOCK'}")
        if locked:
            for (connection_id,) in sql("SELECT id FROM information_schema.processlist WHERE user = %s", user):
                sql(f"KILL {int(connection_id)}")  # type: ignore[call-overload]

    try:
        yield server.url(database, user=user, password=password), lock
    finally:
        sql(f"DROP USER IF EXISTS '{user}'@'%%'")
        root.close()
        drop()


def test_readyz_flips_to_503_while_mariadb_refuses_the_gateway(
    make_gateway: Callable[..., Gateway], locked_out_user: tuple[str, Callable[[bool], None]]
) -> None:
    url, lock = locked_out_user
    gateway = make_gateway({"GATEWAY_DATABASE_URL": url})
    assert readiness(gateway)[0] == 200

    lock(True)
    status, body = wait_until(lambda: readiness(gateway), lambda r: r[0] == 503)
    assert status == 503, body
    assert body["checks"]["store"]["status"] == "down"  # type: ignore[index]
    assert body["checks"]["upstream"]["status"] == "up"  # type: ignore[index]
    assert "Access denied" not in str(body), "the probe body names the component, not the driver's error"

    lock(False)
    status, body = wait_until(lambda: readiness(gateway), lambda r: r[0] == 200)
    assert status == 200, body
    assert "readiness: store ping failed" in gateway.log_text()
