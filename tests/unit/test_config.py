"""Settings: defaults, GATEWAY_* variables, the TOML file, precise errors and `config show`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from gateway.config import ConfigError, Settings, load_settings
from gateway.identity.group_sync import GroupMapping, TeamGroup
from tests.support.processes import REPO_ROOT


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def _cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    base.update({"PYTHONPATH": str(REPO_ROOT), "GATEWAY_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, env=base, cwd=tmp_path, timeout=60
    )


# --- defaults and environment -------------------------------------------------------------------


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert (settings.listen_host, settings.listen_port) == ("0.0.0.0", 5000)
    assert settings.upstream_url == URL("http://127.0.0.1:5001")
    assert settings.public_url is None
    assert settings.service is None
    assert settings.issuer == "portus-gateway"
    assert settings.token_ttl == 300
    assert settings.data_dir == Path("./data")
    assert settings.effective_database_url == f"sqlite:///{Path('./data') / 'gateway.db'}"
    assert settings.admin_username is None and settings.admin_password is None
    assert settings.tls_cert_file is None and settings.tls_key_file is None


def test_unrelated_environment_is_ignored() -> None:
    assert load_settings({"PATH": "/bin", "HOME": "/root", "GATEWAYX": "1"}) == Settings()


@pytest.mark.parametrize(
    ("env", "field", "expected"),
    [
        ({"GATEWAY_LISTEN": "127.0.0.1:6000"}, "listen_host", "127.0.0.1"),
        ({"GATEWAY_LISTEN": "127.0.0.1:6000"}, "listen_port", 6000),
        ({"GATEWAY_LISTEN": ":7000"}, "listen_host", "0.0.0.0"),
        ({"GATEWAY_LISTEN": "[::1]:7000"}, "listen_host", "::1"),
        ({"GATEWAY_UPSTREAM_URL": "http://registry:5000"}, "upstream_url", URL("http://registry:5000/")),
        ({"GATEWAY_PUBLIC_URL": "https://registry.example.com"}, "public_url", URL("https://registry.example.com/")),
        ({"GATEWAY_PUBLIC_URL": ""}, "public_url", None),
        ({"GATEWAY_SERVICE": "registry.example.com"}, "service", "registry.example.com"),
        ({"GATEWAY_ISSUER": "my-issuer"}, "issuer", "my-issuer"),
        ({}, "password_cost", 17),
        ({"GATEWAY_AUTH_PASSWORD_COST": "14"}, "password_cost", 14),
        ({"GATEWAY_SECRETS_KEY_FILE": "/k/secrets.key"}, "secrets_key_file", Path("/k/secrets.key")),
        ({}, "webhooks_allow_private_targets", False),
        ({"GATEWAY_WEBHOOK_DELIVERY_ALLOW_PRIVATE_TARGETS": "true"}, "webhooks_allow_private_targets", True),
        ({"GATEWAY_TOKEN_TTL": "900"}, "token_ttl", 900),
        ({"GATEWAY_DATA_DIR": "/var/lib/gw"}, "data_dir", Path("/var/lib/gw")),
        ({"GATEWAY_DATABASE_URL": "mysql://gw:pw@db:3306/gateway"}, "database_url", "mysql://gw:pw@db:3306/gateway"),
        ({"GATEWAY_DATABASE_URL": "sqlite:////tmp/gw.db"}, "database_url", "sqlite:////tmp/gw.db"),
        ({"GATEWAY_TOKEN_KEY_FILE": "/k/token.key", "GATEWAY_TOKEN_CERT_FILE": "/k/token.crt"}, "token_key_file", Path("/k/token.key")),
        ({"GATEWAY_TOKEN_KEY_FILE": "/k/token.key", "GATEWAY_TOKEN_CERT_FILE": "/k/token.crt"}, "token_cert_file", Path("/k/token.crt")),
        ({"GATEWAY_ADMIN_USERNAME": "root", "GATEWAY_ADMIN_PASSWORD": "pw"}, "admin_username", "root"),
        ({"GATEWAY_ADMIN_USERNAME": "root", "GATEWAY_ADMIN_PASSWORD": "pw"}, "admin_password", "pw"),
        ({"GATEWAY_TLS_CERT_FILE": "/t/tls.crt", "GATEWAY_TLS_KEY_FILE": "/t/tls.key"}, "tls_cert_file", Path("/t/tls.crt")),
        ({"GATEWAY_TLS_CERT_FILE": "/t/tls.crt", "GATEWAY_TLS_KEY_FILE": "/t/tls.key"}, "tls_key_file", Path("/t/tls.key")),
        ({"GATEWAY_UPSTREAM_CONNECT_TIMEOUT": "2.5"}, "upstream_connect_timeout", 2.5),
        ({"GATEWAY_UPSTREAM_READ_TIMEOUT": "60"}, "upstream_read_timeout", 60.0),
        ({"GATEWAY_UPLOADS_SESSION_TTL": "3600"}, "upload_session_ttl", 3600),
        ({"GATEWAY_SERVER_CLIENT_IDLE_TIMEOUT": "30"}, "client_idle_timeout", 30.0),
        ({"GATEWAY_REVOCATION_REFRESH_SECONDS": "0.5"}, "revocation_refresh_seconds", 0.5),
        ({"GATEWAY_LOG_LEVEL": "debug"}, "log_level", "DEBUG"),
        ({"GATEWAY_TOKENS_REFRESH_MAX_AGE": "2592000"}, "refresh_max_age", 30 * 86400),
        ({"GATEWAY_TOKENS_REFRESH_MAX_IDLE": "86400"}, "refresh_max_idle", 86400),
        ({"GATEWAY_SERVER_HEADER_TIMEOUT": "10"}, "header_timeout", 10.0),
        ({"GATEWAY_SERVER_KEEPALIVE_TIMEOUT": "5.5"}, "keepalive_timeout", 5.5),
    ],
)
def test_environment_variable_sets_its_field(env: dict[str, str], field: str, expected: Any) -> None:
    assert getattr(load_settings(env), field) == expected


def test_database_url_sets_the_effective_database_url() -> None:
    settings = load_settings({"GATEWAY_DATABASE_URL": "mysql://gw:pw@db:3306/gateway"})
    assert settings.effective_database_url == "mysql://gw:pw@db:3306/gateway"


def test_default_database_lives_in_the_data_dir() -> None:
    assert load_settings({"GATEWAY_DATA_DIR": "/srv/gw"}).effective_database_url == "sqlite:////srv/gw/gateway.db"


def test_admin_password_file_is_read_and_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "admin-password"
    secret.write_text("from-a-file\n")
    settings = load_settings({"GATEWAY_ADMIN_USERNAME": "root", "GATEWAY_ADMIN_PASSWORD_FILE": str(secret)})
    assert settings.admin_password == "from-a-file"


def test_admin_password_variable_wins_over_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "admin-password"
    secret.write_text("from-a-file\n")
    env = {"GATEWAY_ADMIN_USERNAME": "root", "GATEWAY_ADMIN_PASSWORD_FILE": str(secret), "GATEWAY_ADMIN_PASSWORD": "direct"}
    assert load_settings(env).admin_password == "direct"


def test_unreadable_admin_password_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"GATEWAY_ADMIN_USERNAME": "root", "GATEWAY_ADMIN_PASSWORD_FILE": str(tmp_path / "missing")})
    assert caught.value.key == "GATEWAY_ADMIN_PASSWORD_FILE"


# --- TOML file -----------------------------------------------------------------------------------


def test_toml_file_values_are_used(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        'listen = "127.0.0.1:5555"\n'
        'upstream_url = "http://upstream:5001/"\n'
        'service = "svc"\n'
        "token_ttl = 120\n"
        'log_level = "warning"\n'
        "[upstream]\nconnect_timeout = 3\nread_timeout = 30.5\n"
        "[uploads]\nsession_ttl = 600\n",
    )
    settings = load_settings({}, path)
    assert (settings.listen_host, settings.listen_port) == ("127.0.0.1", 5555)
    assert settings.upstream_url == URL("http://upstream:5001/")
    assert settings.service == "svc"
    assert settings.token_ttl == 120
    assert settings.log_level == "WARNING"
    assert settings.upstream_connect_timeout == 3.0
    assert settings.upstream_read_timeout == 30.5
    assert settings.upload_session_ttl == 600


def test_environment_overrides_the_toml_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'token_ttl = 120\nissuer = "from-file"\n[upstream]\nconnect_timeout = 3\n')
    settings = load_settings({"GATEWAY_TOKEN_TTL": "600", "GATEWAY_UPSTREAM_CONNECT_TIMEOUT": "7"}, path)
    assert settings.token_ttl == 600
    assert settings.upstream_connect_timeout == 7.0
    assert settings.issuer == "from-file"


def test_environment_password_completes_a_toml_admin(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'admin_username = "root"\n')
    assert load_settings({"GATEWAY_ADMIN_PASSWORD": "pw"}, path).admin_username == "root"


# --- errors name the key -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"GATEWAY_TOKEN_TTL": "abc"}, "GATEWAY_TOKEN_TTL"),
        ({"GATEWAY_TOKEN_TTL": "0"}, "GATEWAY_TOKEN_TTL"),
        ({"GATEWAY_TOKEN_TTL": "86401"}, "GATEWAY_TOKEN_TTL"),
        ({"GATEWAY_TOKEN_TTL": ""}, "GATEWAY_TOKEN_TTL"),
        ({"GATEWAY_UPLOADS_SESSION_TTL": "10"}, "GATEWAY_UPLOADS_SESSION_TTL"),
        ({"GATEWAY_TOKENS_REFRESH_MAX_AGE": "0"}, "GATEWAY_TOKENS_REFRESH_MAX_AGE"),
        ({"GATEWAY_TOKENS_REFRESH_MAX_AGE": "90d"}, "GATEWAY_TOKENS_REFRESH_MAX_AGE"),
        ({"GATEWAY_TOKENS_REFRESH_MAX_IDLE": "-1"}, "GATEWAY_TOKENS_REFRESH_MAX_IDLE"),
        ({"GATEWAY_SERVER_HEADER_TIMEOUT": "0"}, "GATEWAY_SERVER_HEADER_TIMEOUT"),
        ({"GATEWAY_SERVER_KEEPALIVE_TIMEOUT": "forever"}, "GATEWAY_SERVER_KEEPALIVE_TIMEOUT"),
        ({"GATEWAY_UPSTREAM_READ_TIMEOUT": "soon"}, "GATEWAY_UPSTREAM_READ_TIMEOUT"),
        ({"GATEWAY_UPSTREAM_CONNECT_TIMEOUT": "0"}, "GATEWAY_UPSTREAM_CONNECT_TIMEOUT"),
        ({"GATEWAY_UPSTREAM_URL": "registry:5000"}, "GATEWAY_UPSTREAM_URL"),
        ({"GATEWAY_UPSTREAM_URL": "ftp://registry:5000"}, "GATEWAY_UPSTREAM_URL"),
        ({"GATEWAY_UPSTREAM_URL": "http://"}, "GATEWAY_UPSTREAM_URL"),
        ({"GATEWAY_UPSTREAM_URL": "http://[bad"}, "GATEWAY_UPSTREAM_URL"),
        ({"GATEWAY_UPSTREAM_URL": "http://registry:99999"}, "GATEWAY_UPSTREAM_URL"),
        ({"GATEWAY_UPSTREAM_URL": "http://registry:5000/?x=1"}, "GATEWAY_UPSTREAM_URL"),
        ({"GATEWAY_PUBLIC_URL": "registry.example.com"}, "GATEWAY_PUBLIC_URL"),
        ({"GATEWAY_LISTEN": "5000"}, "GATEWAY_LISTEN"),
        ({"GATEWAY_LISTEN": "localhost"}, "GATEWAY_LISTEN"),
        ({"GATEWAY_LISTEN": "0.0.0.0:http"}, "GATEWAY_LISTEN"),
        ({"GATEWAY_LISTEN": "0.0.0.0:70000"}, "GATEWAY_LISTEN"),
        ({"GATEWAY_DATABASE_URL": "postgres://u:p@db/gw"}, "GATEWAY_DATABASE_URL"),
        ({"GATEWAY_DATABASE_URL": "sqlite://relative.db"}, "GATEWAY_DATABASE_URL"),
        ({"GATEWAY_DATABASE_URL": "mysql://u:p@db:3306/"}, "GATEWAY_DATABASE_URL"),
        ({"GATEWAY_DATABASE_URL": "mysql://u:p@db:abc/gw"}, "GATEWAY_DATABASE_URL"),
        ({"GATEWAY_DATABASE_URL": "mysql://[bad/gw"}, "GATEWAY_DATABASE_URL"),
        ({"GATEWAY_LOG_LEVEL": "loud"}, "GATEWAY_LOG_LEVEL"),
        ({"GATEWAY_ADMIN_USERNAME": "Root", "GATEWAY_ADMIN_PASSWORD": "pw"}, "GATEWAY_ADMIN_USERNAME"),
        ({"GATEWAY_TLS_CERT_FILE": "/t/tls.crt"}, "GATEWAY_TLS_CERT_FILE"),
        ({"GATEWAY_TLS_KEY_FILE": "/t/tls.key"}, "GATEWAY_TLS_CERT_FILE"),
        ({"GATEWAY_TOKEN_KEY_FILE": "/k/token.key"}, "GATEWAY_TOKEN_KEY_FILE"),
        ({"GATEWAY_TOKEN_CERT_FILE": "/k/token.crt"}, "GATEWAY_TOKEN_KEY_FILE"),
        ({"GATEWAY_ADMIN_USERNAME": "root"}, "GATEWAY_ADMIN_PASSWORD"),
        ({"GATEWAY_ADMIN_USERNAME": "root", "GATEWAY_ADMIN_PASSWORD": "   "}, "GATEWAY_ADMIN_PASSWORD"),
        ({"GATEWAY_AUTH_PASSWORD_COST": "9"}, "GATEWAY_AUTH_PASSWORD_COST"),
        ({"GATEWAY_AUTH_PASSWORD_COST": "19"}, "GATEWAY_AUTH_PASSWORD_COST"),
        ({"GATEWAY_WEBHOOKS": '[{"name": "a", "url": "http://169.254.169.254/x", "secret": "12345678"}]'}, "GATEWAY_WEBHOOKS[0].url"),
    ],
)
def test_bad_environment_value_raises_config_error_naming_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")


def test_database_url_error_does_not_echo_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"GATEWAY_DATABASE_URL": "postgres://gw:hunter2@db/gw"})
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('token_ttl = "abc"\n', "token_ttl"),
        ("token_ttl = true\n", "token_ttl"),
        ("token_ttl = 2.5\n", "token_ttl"),
        ("listen = 5000\n", "listen"),
        ('upstream_url = "nope"\n', "upstream_url"),
        ('database_url = "postgres://db/gw"\n', "database_url"),
        ("[upstream]\nconnect_timeout = -1\n", "upstream.connect_timeout"),
        ('colour = "blue"\n', "colour"),
        ('[upstream]\nurl = "http://x"\n', "upstream.url"),
        ("[nonsense]\nx = 1\n", "nonsense"),
        ('upstream = "http://registry:5000"\n', "upstream"),
    ],
)
def test_bad_toml_value_raises_config_error_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({}, _toml(tmp_path, text))
    assert caught.value.key == key


def test_invalid_toml_syntax_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({}, _toml(tmp_path, "token_ttl = = 3\n"))
    assert caught.value.key == "config"


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({}, tmp_path / "missing.toml")
    assert caught.value.key == "config"


# --- `config show` -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"GATEWAY_TOKEN_TTL": "abc"},
        {"GATEWAY_LISTEN": "nowhere"},
        {"GATEWAY_UPSTREAM_URL": "http://[bad"},
        {"GATEWAY_DATABASE_URL": "mysql://u:p@db:abc/gw"},
        {"GATEWAY_ADMIN_USERNAME": "root"},
    ],
    ids=["ttl", "listen", "upstream", "database-port", "admin-without-password"],
)
def test_config_show_with_a_bad_value_exits_2_with_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    result = _cli(tmp_path, env, "config", "show")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert next(iter(env)) in lines[0] or "GATEWAY_ADMIN_PASSWORD" in lines[0]
    assert result.stdout == ""


def test_config_show_with_a_bad_file_exits_2_with_one_line(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'colour = "blue"\n')
    result = _cli(tmp_path, {"GATEWAY_CONFIG": str(path)}, "config", "show")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "colour" in result.stderr


def test_config_show_masks_the_admin_password_and_the_database_password(tmp_path: Path) -> None:
    env = {
        "GATEWAY_ADMIN_USERNAME": "root",
        "GATEWAY_ADMIN_PASSWORD": "hunter2-admin",
        "GATEWAY_DATABASE_URL": "mysql://gw:hunter2-db@db:3306/gateway",
        "GATEWAY_TOKEN_TTL": "600",
    }
    result = _cli(tmp_path, env, "config", "show")
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout
    shown = dict(line.split(" = ", 1) for line in result.stdout.splitlines())
    assert shown["admin_username"] == "root"
    assert shown["admin_password"] == "****"
    assert shown["database_url"].startswith("mysql://gw:")
    assert shown["database_url"].endswith("@db:3306/gateway")
    assert "hunter2" not in shown["effective_database_url"]
    assert shown["token_ttl"] == "600"


def test_config_show_masks_a_password_read_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("hunter2-file\n")
    result = _cli(tmp_path, {"GATEWAY_ADMIN_USERNAME": "root", "GATEWAY_ADMIN_PASSWORD_FILE": str(secret)}, "config", "show")
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout
    assert "admin_password = ****" in result.stdout.splitlines()


def test_example_settings_file_documents_every_option_and_loads() -> None:
    from pathlib import Path

    from gateway.config import OPTIONS

    example = Path(__file__).resolve().parents[2] / "conf" / "gateway.toml"
    text = example.read_text()
    missing = [option.env for option in OPTIONS if option.env not in text]
    assert missing == []
    assert load_settings({}, example).listen_port == 5000


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"X-Bad": "a\r\nInjected: 1"}, "visible ASCII"),
        ({"Bad Name": "x"}, "not an HTTP token"),
        ({"X-Gateway-Signature": "forged"}, "set by the gateway"),
    ],
)
def test_a_webhook_header_that_would_break_every_delivery_is_a_config_error(headers: dict[str, str], words: str) -> None:
    hooks = [{"name": "audit", "url": "http://hooks.example/in", "secret": "a-secret-value", "headers": headers}]
    with pytest.raises(ConfigError) as caught:
        load_settings({"GATEWAY_WEBHOOKS": json.dumps(hooks)})
    assert caught.value.key == "GATEWAY_WEBHOOKS[0].headers"
    assert words in str(caught.value)


def test_webhooks_nested_too_deeply_are_one_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"GATEWAY_WEBHOOKS": "[" * 100_000})
    assert caught.value.key == "GATEWAY_WEBHOOKS"


@pytest.mark.parametrize(
    ("text", "expected"),
    [(b"a = " + b"[" * 100_000, "nests arrays or tables too deeply"), (b"issuer = '\xff'", "is not valid TOML (UTF-8)")],
    ids=["deep", "not-utf8"],
)
def test_a_config_file_that_cannot_be_read_as_toml_is_one_config_error(tmp_path: Path, text: bytes, expected: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_bytes(text)
    with pytest.raises(ConfigError) as caught:
        load_settings({}, path)
    assert caught.value.key == "config" and expected in str(caught.value)


# --- OpenID Connect ---------------------------------------------------------------------------

OIDC = {"GATEWAY_OIDC_ISSUER": "https://sso.example.org/realms/main", "GATEWAY_OIDC_CLIENT_ID": "portus-gateway"}


def test_oidc_settings_from_the_environment_and_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "oidc-secret"
    secret.write_text("client-secret\n")
    settings = load_settings({**OIDC, "GATEWAY_OIDC_CLIENT_SECRET_FILE": str(secret), "GATEWAY_OIDC_SCOPES": "openid,groups  email"})
    assert settings.oidc_enabled and settings.oidc_issuer == "https://sso.example.org/realms/main"
    assert (settings.oidc_client_secret, settings.oidc_scopes) == ("client-secret", ("openid", "groups", "email"))
    assert (settings.oidc_username_claim, settings.oidc_groups_claim) == ("preferred_username", None)
    assert not load_settings({}).oidc_enabled


def test_oidc_settings_from_toml(tmp_path: Path) -> None:
    text = (
        '[oidc]\nissuer = "http://127.0.0.1:9000"\nclient_id = "gw"\nclient_secret = "s"\nscopes = ["openid", "groups"]\n'
        'groups_claim = "groups"\nadmin_group = "admins"\nbutton_text = "Sign in with Example"\n'
    )
    text += '[oidc.team_groups]\nweb = "web-devs"\nops = {group = "ops", role = "owner"}\n'
    settings = load_settings({}, _toml(tmp_path, text))
    assert (settings.oidc_issuer, settings.oidc_scopes, settings.oidc_admin_group) == ("http://127.0.0.1:9000", ("openid", "groups"), "admins")
    assert settings.oidc_button_text == "Sign in with Example"
    assert settings.oidc_groups == GroupMapping((TeamGroup("web", "web-devs"), TeamGroup("ops", "ops", "owner")), "admins")


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({**OIDC, "GATEWAY_OIDC_ISSUER": "http://sso.example.org"}, "GATEWAY_OIDC_ISSUER"),
        ({**OIDC, "GATEWAY_OIDC_ISSUER": "ftp://sso.example.org"}, "GATEWAY_OIDC_ISSUER"),
        ({**OIDC, "GATEWAY_OIDC_CLIENT_SECRET": "s", "GATEWAY_OIDC_SCOPES": "profile email"}, "GATEWAY_OIDC_SCOPES"),
        (OIDC, "GATEWAY_OIDC_CLIENT_SECRET"),
        ({"GATEWAY_OIDC_ISSUER": OIDC["GATEWAY_OIDC_ISSUER"], "GATEWAY_OIDC_CLIENT_SECRET": "s"}, "GATEWAY_OIDC_CLIENT_ID"),
        ({**OIDC, "GATEWAY_OIDC_CLIENT_SECRET": "s", "GATEWAY_OIDC_ADMIN_GROUP": "admins"}, "GATEWAY_OIDC_GROUPS_CLAIM"),
        ({**OIDC, "GATEWAY_OIDC_CLIENT_SECRET": "s", "GATEWAY_OIDC_TEAM_GROUPS": '{"web": "w"}'}, "GATEWAY_OIDC_GROUPS_CLAIM"),
        ({**OIDC, "GATEWAY_OIDC_GROUPS_CLAIM": "g", "GATEWAY_OIDC_TEAM_GROUPS": '{"Web": "w"}'}, "GATEWAY_OIDC_TEAM_GROUPS"),
        ({**OIDC, "GATEWAY_OIDC_GROUPS_CLAIM": "g", "GATEWAY_OIDC_TEAM_GROUPS": '{"web": {"group": "w", "role": "god"}}'}, "GATEWAY_OIDC_TEAM_GROUPS"),
        ({**OIDC, "GATEWAY_OIDC_CLIENT_SECRET": "s", "GATEWAY_OIDC_BUTTON_TEXT": "x" * 81}, "GATEWAY_OIDC_BUTTON_TEXT"),
        ({**OIDC, "GATEWAY_OIDC_CLIENT_SECRET": "s", "GATEWAY_OIDC_USERNAME_CLAIM": " "}, "GATEWAY_OIDC_USERNAME_CLAIM"),
    ],
)
def test_bad_oidc_settings_name_their_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.key == key


def test_config_show_masks_the_oidc_client_secret(tmp_path: Path) -> None:
    result = _cli(tmp_path, {**OIDC, "GATEWAY_OIDC_CLIENT_SECRET": "hunter2-oidc"}, "config", "show")
    assert result.returncode == 0, result.stderr
    assert "hunter2-oidc" not in result.stdout and "oidc_client_secret" in result.stdout
