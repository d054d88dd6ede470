"""How the test helpers read the environment: the `CI` flag and the MariaDB address."""

from __future__ import annotations

import pytest

from tests.support.processes import MariaDBServer, in_ci, truthy


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "Yes", "on", "ON", " true ", "woodpecker"])
def test_any_ci_value_but_an_explicit_no_counts_as_set(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert truthy(value)
    monkeypatch.setenv("CI", value)
    assert in_ci()


@pytest.mark.parametrize("value", [None, "", " ", "0", "false", "False", "FALSE", "no", "NO", "off", "Off"])
def test_an_unset_empty_or_negative_ci_value_counts_as_not_set(value: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not truthy(value)
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not in_ci()


def test_the_mariadb_address_defaults_to_root_on_the_local_standard_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_MARIADB_URL", raising=False)
    server = MariaDBServer.from_environment()
    assert server == MariaDBServer("127.0.0.1", 3306, "root", "")
    assert server.url("portus_x") == "mysql://root@127.0.0.1:3306/portus_x"


def test_the_mariadb_address_comes_from_test_mariadb_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_MARIADB_URL", "mysql://admin:s%40cret@127.0.0.1:41234")
    server = MariaDBServer.from_environment()
    assert server == MariaDBServer("127.0.0.1", 41234, "admin", "s@cret")
    assert server.url("db") == "mysql://admin:s%40cret@127.0.0.1:41234/db"
    assert server.url("db", user="gw", password="p w") == "mysql://gw:p%20w@127.0.0.1:41234/db"


@pytest.mark.parametrize("value", ["postgres://root@127.0.0.1:5432", "mysql://root@127.0.0.1:3306/somedb", "mysql:///x"])
def test_a_test_mariadb_url_that_is_not_a_server_address_is_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_MARIADB_URL", value)
    with pytest.raises(ValueError, match="TEST_MARIADB_URL"):
        MariaDBServer.from_environment()
