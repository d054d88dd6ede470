"""The Portus container's environment, read where no GATEWAY_* setting names the same thing, each
with a warning naming its GATEWAY_* equivalent; the variables that mean nothing here, noted."""

from __future__ import annotations

from pathlib import Path

import pytest
from yarl import URL

from gateway.config import ConfigError, describe, load_settings

PORTUS_ENV = {
    "MARIADB_HOST": "127.0.0.1", "MARIADB_PORT": "3307", "MARIADB_USER": "portus", "MARIADB_PASSWORD": "p@ss:w/rd",
    "MARIADB_DATABASE": "portus_production",
    "PUMA_SSL_KEY": "/certificates/portus.key", "PUMA_SSL_CRT": "/certificates/portus.crt",
    "PUMA_WORKERS": "3", "PUMA_PORT": "3000", "PORTUS_MACHINE_FQDN_VALUE": "portus.example.test",
    "PORTUS_DELETE_ENABLED": "false", "PORTUS_SECRET_KEY_BASE": "b" * 64, "RACK_ENV": "production",
    "PORTUS_PASSWORD": "portus-bot-password",
}


def test_the_portus_environment_configures_the_gateway_and_each_variable_warns_once() -> None:
    settings = load_settings(PORTUS_ENV)
    url = URL(settings.database_url)
    assert (url.scheme, url.host, url.port, url.user, url.password, url.path) == (
        "mysql", "127.0.0.1", 3307, "portus", "p@ss:w/rd", "/portus_production",
    )
    assert (settings.tls_key_file, settings.tls_cert_file) == (Path("/certificates/portus.key"), Path("/certificates/portus.crt"))
    assert settings.server_workers == 3
    assert (settings.listen_host, settings.listen_port) == ("0.0.0.0", 3000)
    assert settings.public_url == URL("https://portus.example.test/") and settings.issuer == "portus.example.test"
    assert settings.delete_enabled is False
    for gateway_name in (
        "GATEWAY_DATABASE_URL", "GATEWAY_TLS_KEY_FILE", "GATEWAY_TLS_CERT_FILE", "GATEWAY_SERVER_WORKERS", "GATEWAY_LISTEN",
        "GATEWAY_PUBLIC_URL", "GATEWAY_ISSUER", "GATEWAY_DELETE_ENABLED",
    ):
        assert sum(f"set {gateway_name} instead" in note for note in settings.notes) == 1, (gateway_name, settings.notes)
    [ignored] = [note for note in settings.notes if note.startswith("ignored")]
    assert ignored.endswith("PORTUS_PASSWORD, PORTUS_SECRET_KEY_BASE, RACK_ENV")
    assert "p@ss" not in " ".join(settings.notes) and "notes" not in describe(settings)


def test_a_gateway_setting_wins_and_the_portus_variable_is_noted_as_ignored(tmp_path: Path) -> None:
    settings = load_settings({**PORTUS_ENV, "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db", "GATEWAY_LISTEN": "127.0.0.1:5000"})
    assert settings.database_url.startswith("sqlite:///") and settings.listen_port == 5000
    assert "MARIADB_HOST/PORT/USER/PASSWORD/DATABASE ignored: GATEWAY_DATABASE_URL is set" in settings.notes
    assert "PUMA_PORT ignored: GATEWAY_LISTEN is set" in settings.notes
    toml = tmp_path / "gateway.toml"
    toml.write_text("[server]\nworkers = 2\n")
    assert load_settings(PORTUS_ENV, toml).server_workers == 2


def test_without_portus_variables_nothing_changes_and_nothing_is_noted() -> None:
    assert load_settings({}).notes == ()
    assert load_settings({"MARIADB_USER": "portus"}).database_url == ""
    assert load_settings({"MARIADB_USER": "portus"}).notes == ("MARIADB_* ignored: without MARIADB_HOST they name no database",)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"MARIADB_HOST": "db", "MARIADB_PORT": "33o6"}, "MARIADB_PORT"),
        ({"PUMA_WORKERS": "many"}, "PUMA_WORKERS"),
        ({"PUMA_PORT": "http"}, "PUMA_PORT"),
        ({"PORTUS_DELETE_ENABLED": "maybe"}, "PORTUS_DELETE_ENABLED"),
    ],
)
def test_a_bad_portus_value_is_one_error_naming_the_portus_variable(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert error.value.key == key
