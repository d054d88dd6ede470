"""The stores a run measures the gateway on: the embedded SQLite store, and MariaDB databases
created fresh for the run (one per gateway that needs its own) and dropped at its end."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from tests.support.processes import DEFAULT_MARIADB_URL, MariaDBServer

STORES = ("sqlite", "mariadb")
STORE_NAMES = {"sqlite": "SQLite", "mariadb": "MariaDB"}


def parse_stores(text: str) -> list[str]:
    """`sqlite,mariadb` -> the stores in that order; ValueError names an unknown one."""
    stores = [s.strip().lower() for s in text.split(",") if s.strip()]
    unknown = [s for s in stores if s not in STORES]
    if unknown or not stores:
        raise ValueError(f"unknown stores: {', '.join(unknown) or '(none given)'} (known: {', '.join(STORES)})")
    return list(dict.fromkeys(stores))


@dataclass
class MariaDB:
    """Throw-away databases on one MariaDB server, named `portus_bench_<random>_<name>`."""

    server: MariaDBServer
    run: str = field(default_factory=lambda: secrets.token_hex(4))
    created: list[str] = field(default_factory=list)

    @classmethod
    def at(cls, url: str | None) -> MariaDB:
        return cls(MariaDBServer.parse(url or DEFAULT_MARIADB_URL, "--mariadb-url"))

    def _execute(self, statement: str) -> None:
        connection: Any = self.server.connect(connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def check(self) -> None:
        """Fails early (before any process starts) when the server does not answer."""
        self._execute("SELECT 1")

    def create(self, name: str) -> str:
        """A new empty database; returns the gateway's GATEWAY_DATABASE_URL for it."""
        database = f"portus_bench_{self.run}_{name}"
        self._execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        self.created.append(database)
        return self.server.url(database)

    def drop_all(self) -> None:
        while self.created:
            self._execute(f"DROP DATABASE IF EXISTS `{self.created.pop()}`")
