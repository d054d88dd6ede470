"""Which stores a bench run measures, and where its MariaDB is."""

from __future__ import annotations

import pytest

from tests.bench.databases import MariaDB, parse_stores
from tests.support.processes import MariaDBServer


def test_stores_are_read_in_order_once_each_in_any_case() -> None:
    assert parse_stores("sqlite,mariadb") == ["sqlite", "mariadb"]
    assert parse_stores(" MariaDB , sqlite,mariadb") == ["mariadb", "sqlite"]
    assert parse_stores("sqlite") == ["sqlite"]


@pytest.mark.parametrize("text", ["postgres", "sqlite,oracle", "", ","])
def test_an_unknown_or_empty_store_list_is_refused_with_the_known_ones(text: str) -> None:
    with pytest.raises(ValueError, match="known: sqlite, mariadb"):
        parse_stores(text)


def test_the_mariadb_server_defaults_to_root_on_the_local_port_and_takes_a_url() -> None:
    assert MariaDB.at(None).server == MariaDBServer("127.0.0.1", 3306, "root", "")
    assert MariaDB.at("mysql://bench:pw@127.0.0.1:3307").server == MariaDBServer("127.0.0.1", 3307, "bench", "pw")
    with pytest.raises(ValueError, match="--mariadb-url must look like"):
        MariaDB.at("mysql://root@127.0.0.1:3306/somedb")
