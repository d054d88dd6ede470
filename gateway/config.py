"""One Settings object: the TOML file, then GATEWAY_* environment overrides, validated once at start.

Every option has a TOML key (top level or `[section] key`) and an environment variable.
A bad value raises `ConfigError` naming the key and the problem; the CLI turns it into one
line on stderr and exit code 2.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yarl import URL

from gateway import names, safe_json
from gateway.auth.credentials import DEFAULT_COST, MAX_COST, MIN_COST
from gateway.auth.policy import VISIBILITIES, Rules
from gateway.events.hook_headers import headers_problem
from gateway.events.model import ACTIONS as EVENT_ACTIONS
from gateway.events.targets import target_problem
from gateway.identity.group_sync import TeamGroup, parse_team_groups
from gateway.ops.forwarded import Networks, parse_networks
from gateway.portus_settings import PortusSettingError, portus_environment


class ConfigError(Exception):
    """A setting is missing or malformed; `str()` is the one line shown to the operator."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class WebhookSetting:
    """A webhook endpoint configured in the settings (others are added through the API)."""

    name: str
    url: str
    secret: str
    headers: tuple[tuple[str, str], ...] = ()
    actions: tuple[str, ...] = ()
    repository_pattern: str = ""


DEFAULT_DATA_DIR = Path("./data")


@dataclass(frozen=True)
class Settings:
    listen_host: str = "0.0.0.0"
    listen_port: int = 5000
    upstream_url: URL = URL("http://127.0.0.1:5001")
    upstream_socket: Path | None = None
    public_url: URL | None = None
    service: str | None = None
    issuer: str = "portus-gateway"
    token_ttl: int = 300
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    token_key_file: Path | None = None
    token_cert_file: Path | None = None
    admin_username: str | None = None
    admin_password: str | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    upstream_connect_timeout: float = 10.0
    upstream_read_timeout: float = 300.0
    upload_session_ttl: int = 86400
    revocation_refresh_seconds: float = 10.0
    changes_poll_seconds: float = 0.25
    log_level: str = "INFO"
    delete_enabled: bool = True
    delete_contributors: bool = False
    global_visibility: str = "protected"
    auto_create_namespaces: bool = False
    login_max_failures: int = 5
    login_failure_window: int = 300
    webhooks: tuple[WebhookSetting, ...] = ()
    webhook_max_attempts: int = 10
    webhook_backoff_initial: float = 0.5
    webhook_backoff_max: float = 30.0
    webhook_timeout: float = 10.0
    events_retention_days: int = 0
    events_retention_count: int = 0
    events_upstream_secret: str | None = None
    log_format: str = "text"
    token_previous_cert_files: tuple[Path, ...] = ()
    upstream_forward_token: bool = False
    upstream_storage_dir: Path | None = None
    server_workers: int = 1
    client_idle_timeout: float = 120.0
    header_timeout: float = 30.0
    keepalive_timeout: float = 75.0
    shutdown_grace: float = 60.0
    readiness_timeout: float = 2.0
    refresh_max_age: int = 90 * 86400
    refresh_max_idle: int = 14 * 86400
    password_cost: int = DEFAULT_COST
    secrets_key_file: Path | None = None
    webhooks_allow_private_targets: bool = False
    ui_session_idle: int = 2 * 3600
    ui_session_max: int = 12 * 3600
    ui_anonymous_browsing: bool = False
    trusted_proxies: Networks = ()
    ldap_urls: tuple[str, ...] = ()
    ldap_start_tls: bool = False
    ldap_ca_file: Path | None = None
    ldap_timeout: float = 5.0
    ldap_bind_dn: str | None = None
    ldap_bind_password: str | None = None
    ldap_user_dn_template: str | None = None
    ldap_user_base: str | None = None
    ldap_user_filter: str = "(uid={username})"
    ldap_username_attribute: str = "uid"
    ldap_email_attribute: str = "mail"
    ldap_group_base: str | None = None
    ldap_group_filter: str = "(member={dn})"
    ldap_admin_group: str | None = None
    ldap_team_groups: tuple[TeamGroup, ...] = ()
    ldap_sync_interval: float = 300.0
    # What start-up should warn of: Portus variables read in place of GATEWAY_* ones, or ignored.
    notes: tuple[str, ...] = dataclasses.field(default=(), compare=False)

    def policy_rules(self) -> Rules:
        return Rules(
            delete_enabled=self.delete_enabled, contributors_delete=self.delete_contributors,
            global_visibility=self.global_visibility, auto_create=self.auto_create_namespaces,
        )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'gateway.db'}"

    @property
    def database_is_default(self) -> bool:
        """Neither a data directory nor a database was given: the store is ./data of wherever this runs."""
        return not self.database_url and self.data_dir == DEFAULT_DATA_DIR

    @property
    def behind_tls(self) -> bool:
        """Browsers reach us over HTTPS: we serve TLS, or the public URL says a proxy does."""
        return self.tls_cert_file is not None or (self.public_url is not None and self.public_url.scheme == "https")

    @property
    def effective_secrets_key_file(self) -> Path:
        return self.secrets_key_file or self.data_dir / "secrets.key"


@dataclass(frozen=True)
class Option:
    """One setting: where it lives in TOML, its environment name and how to parse it."""

    field: str
    toml: tuple[str, ...]
    env: str
    parse: Callable[[str, Any], Any]
    secret: bool = False
    file_variant: bool = False


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a string, got {value!r}")
    return value


def _optional_text(key: str, value: Any) -> str | None:
    text = _text(key, value).strip()
    return text or None


def _int_between(low: int, high: int) -> Callable[[str, Any], int]:
    def parse(key: str, value: Any) -> int:
        if isinstance(value, float):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"expected an integer, got {value!r}") from None
        if isinstance(value, bool) or not low <= number <= high:
            raise ConfigError(key, f"must be between {low} and {high}, got {value!r}")
        return number

    return parse


def _seconds(key: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(key, f"expected a number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not 0 < number <= 86400:
        raise ConfigError(key, f"must be between 0 and 86400 seconds, got {value!r}")
    return number


def _seconds_between(low: float, high: float) -> Callable[[str, Any], float]:
    def parse(key: str, value: Any) -> float:
        number = _seconds(key, value)
        if not low <= number <= high:
            raise ConfigError(key, f"must be between {low} and {high} seconds, got {value!r}")
        return number

    return parse


def _http_url(key: str, value: Any) -> URL:
    text = _text(key, value).strip()
    try:
        url = URL(text)
        url.host  # noqa: B018 - a malformed host only shows when read
    except (ValueError, UnicodeError) as exc:
        raise ConfigError(key, f"not a URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(key, f"expected an http:// or https:// URL with a host, got {text!r}")
    if url.query_string or url.fragment:
        raise ConfigError(key, "must not carry a query or fragment")
    return url.with_path(url.path.rstrip("/") or "/")


def _optional_url(key: str, value: Any) -> URL | None:
    return _http_url(key, value) if _text(key, value).strip() else None


def _path(key: str, value: Any) -> Path:
    text = _text(key, value).strip()
    if not text:
        raise ConfigError(key, "must not be empty")
    return Path(text)


def _optional_path(key: str, value: Any) -> Path | None:
    return _path(key, value) if _text(key, value).strip() else None


def _database_url(key: str, value: Any) -> str:
    text = _text(key, value).strip()
    if text and not text.startswith(("sqlite:///", "mysql://")):
        raise ConfigError(key, f"expected sqlite:///PATH or mysql://USER:PASS@HOST:PORT/DB, got {text.split('://')[0]!r} scheme")
    if text.startswith("mysql://"):
        try:
            url = URL(text)
            url.port  # noqa: B018 - a malformed port only shows when read
        except ValueError:
            raise ConfigError(key, "not a valid mysql:// URL (check host, port and database)") from None
        if not url.host or not url.path.strip("/"):
            raise ConfigError(key, "a mysql:// URL needs a host and a database name")
    return text


def _listen(key: str, value: Any) -> tuple[str, int]:
    text = _text(key, value).strip()
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(key, f"expected HOST:PORT (port 0-65535), got {text!r}")
    return (host.strip("[]") or "0.0.0.0", int(port))


def _bool(key: str, value: Any) -> bool:
    text = _text(key, value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(key, f"expected true or false, got {value!r}")


def _visibility(key: str, value: Any) -> str:
    text = _text(key, value).strip()
    if text not in VISIBILITIES:
        raise ConfigError(key, f"expected {', '.join(VISIBILITIES)}, got {value!r}")
    return text


_WEBHOOK_KEYS = {"name", "url", "secret", "headers", "actions", "repository_pattern"}


def _webhook(key: str, index: int, item: Any) -> WebhookSetting:
    where = f"{key}[{index}]"
    if not isinstance(item, Mapping):
        raise ConfigError(where, "expected a table with name, url and secret")
    unknown = set(item) - _WEBHOOK_KEYS
    if unknown:
        raise ConfigError(where, f"unknown keys {', '.join(sorted(unknown))}")
    name, url, secret = (item.get(k) for k in ("name", "url", "secret"))
    if not isinstance(name, str) or (problem := names.WEBHOOK.problem(name)) is not None:
        raise ConfigError(f"{where}.name", problem or "must be a string")
    if not isinstance(url, str):
        raise ConfigError(f"{where}.url", "must be a string")
    if (problem := names.webhook_url_problem(url, allow_private=True)) is not None:
        raise ConfigError(f"{where}.url", problem)
    if not isinstance(secret, str) or (problem := names.webhook_secret_problem(secret)) is not None:
        raise ConfigError(f"{where}.secret", problem or "must be a string")
    headers = item.get("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ConfigError(where, "headers must map header names to strings")
    if (problem := headers_problem(headers)) is not None:
        raise ConfigError(f"{where}.headers", problem)
    actions = item.get("actions", [])
    if not isinstance(actions, list) or any(a not in EVENT_ACTIONS for a in actions):
        raise ConfigError(where, "actions must be a list of push, pull, mount, delete")
    pattern = item.get("repository_pattern", "")
    if not isinstance(pattern, str):
        raise ConfigError(where, "repository_pattern must be a string")
    return WebhookSetting(name, str(url), secret, tuple(headers.items()), tuple(actions), pattern)


def _webhooks(key: str, value: Any) -> tuple[WebhookSetting, ...]:
    if isinstance(value, str):
        try:
            value = safe_json.loads(value) if value.strip() else []
        except ValueError as exc:
            raise ConfigError(key, f"expected a JSON list of webhook objects ({exc})") from None
    if not isinstance(value, list):
        raise ConfigError(key, "expected a list of webhooks")
    hooks = tuple(_webhook(key, i, item) for i, item in enumerate(value))
    names = [h.name for h in hooks]
    if len(set(names)) != len(names):
        raise ConfigError(key, "webhook names must be unique")
    return hooks


def _optional_secret(key: str, value: Any) -> str | None:
    text = _optional_text(key, value)
    if text is not None and len(text) < 16:
        raise ConfigError(key, "must be at least 16 characters")
    return text


def _log_level(key: str, value: Any) -> str:
    text = _text(key, value).strip().upper()
    if text not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(key, f"expected DEBUG, INFO, WARNING or ERROR, got {value!r}")
    return text


def _log_format(key: str, value: Any) -> str:
    text = _text(key, value).strip().lower()
    if text not in {"text", "json"}:
        raise ConfigError(key, f"expected text or json, got {value!r}")
    return text


def _path_list(key: str, value: Any) -> tuple[Path, ...]:
    """A TOML list of paths, or one comma-separated string (the environment form)."""
    items = value if isinstance(value, list) else _text(key, value).split(",")
    if not all(isinstance(item, str) for item in items):
        raise ConfigError(key, f"expected file paths, got {value!r}")
    return tuple(Path(item.strip()) for item in items if item.strip())


def _networks(key: str, value: Any) -> Networks:
    """A TOML list of addresses or CIDR networks, or one comma-separated string."""
    items = value if isinstance(value, list) else _text(key, value).split(",")
    if not all(isinstance(item, str) for item in items):
        raise ConfigError(key, f"expected IP addresses or networks, got {value!r}")
    try:
        return parse_networks(items)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def _username(key: str, value: Any) -> str | None:
    text = _optional_text(key, value)
    if text is not None and (problem := names.USER.problem(text)) is not None:
        raise ConfigError(key, problem)
    return text


def _ldap_urls(key: str, value: Any) -> tuple[str, ...]:
    """One or more ldap:// or ldaps:// URLs (a TOML list, or comma-separated), tried in order."""
    items = value if isinstance(value, list) else _text(key, value).split(",")
    if not all(isinstance(item, str) for item in items):
        raise ConfigError(key, f"expected ldap:// or ldaps:// URLs, got {value!r}")
    urls = tuple(item.strip() for item in items if item.strip())
    for url in urls:
        try:
            parsed = URL(url)
            parsed.port  # noqa: B018 - a malformed port only shows when read
        except ValueError:
            raise ConfigError(key, f"not a URL: {url!r}") from None
        if parsed.scheme not in ("ldap", "ldaps") or not parsed.host or parsed.path not in ("", "/") or parsed.query_string:
            raise ConfigError(key, f"expected ldap://HOST[:PORT] or ldaps://HOST[:PORT], got {url!r}")
    return urls


def _template(*placeholders: str) -> Callable[[str, Any], str | None]:
    """A text with `{placeholder}`s (each value escaped where it is filled in), of which the first is required."""

    def parse(key: str, value: Any) -> str | None:
        text = _optional_text(key, value)
        if text is None:
            return None
        try:
            text.format(**dict.fromkeys(placeholders, "x"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(key, f"may use only {', '.join('{' + p + '}' for p in placeholders)} ({exc!r})") from None
        if "{" + placeholders[0] + "}" not in text:
            raise ConfigError(key, f"must contain {{{placeholders[0]}}}")
        return text

    return parse


def _filter_template(*placeholders: str) -> Callable[[str, Any], str]:
    parse_template = _template(*placeholders)

    def parse(key: str, value: Any) -> str:
        text = parse_template(key, value)
        if text is None or not (text.startswith("(") and text.endswith(")")):
            raise ConfigError(key, f"expected an LDAP filter in parentheses, got {value!r}")
        return text

    return parse


def _team_groups(key: str, value: Any) -> tuple[TeamGroup, ...]:
    """A directory's group-to-team map (gateway.identity.group_sync), as a TOML table or JSON."""
    try:
        return parse_team_groups(value)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


OPTIONS: tuple[Option, ...] = (
    Option("listen", ("listen",), "GATEWAY_LISTEN", _listen),
    Option("upstream_url", ("upstream_url",), "GATEWAY_UPSTREAM_URL", _http_url),
    Option("upstream_socket", ("upstream", "socket"), "GATEWAY_UPSTREAM_SOCKET", _optional_path),
    Option("public_url", ("public_url",), "GATEWAY_PUBLIC_URL", _optional_url),
    Option("service", ("service",), "GATEWAY_SERVICE", _optional_text),
    Option("issuer", ("issuer",), "GATEWAY_ISSUER", _text),
    Option("token_ttl", ("token_ttl",), "GATEWAY_TOKEN_TTL", _int_between(1, 86400)),
    Option("data_dir", ("data_dir",), "GATEWAY_DATA_DIR", _path),
    Option("database_url", ("database_url",), "GATEWAY_DATABASE_URL", _database_url, secret=True),
    Option("token_key_file", ("token_key_file",), "GATEWAY_TOKEN_KEY_FILE", _optional_path),
    Option("token_cert_file", ("token_cert_file",), "GATEWAY_TOKEN_CERT_FILE", _optional_path),
    Option("admin_username", ("admin_username",), "GATEWAY_ADMIN_USERNAME", _username),
    Option("admin_password", ("admin_password",), "GATEWAY_ADMIN_PASSWORD", _optional_text, secret=True, file_variant=True),
    Option("tls_cert_file", ("tls_cert_file",), "GATEWAY_TLS_CERT_FILE", _optional_path),
    Option("tls_key_file", ("tls_key_file",), "GATEWAY_TLS_KEY_FILE", _optional_path),
    Option("upstream_connect_timeout", ("upstream", "connect_timeout"), "GATEWAY_UPSTREAM_CONNECT_TIMEOUT", _seconds),
    Option("upstream_read_timeout", ("upstream", "read_timeout"), "GATEWAY_UPSTREAM_READ_TIMEOUT", _seconds),
    Option("upload_session_ttl", ("uploads", "session_ttl"), "GATEWAY_UPLOADS_SESSION_TTL", _int_between(60, 7 * 86400)),
    Option("revocation_refresh_seconds", ("revocation", "refresh_seconds"), "GATEWAY_REVOCATION_REFRESH_SECONDS", _seconds),
    # At most 0.4: MariaDB's polled version is trusted for 0.8 s (gateway/store/mysql.py).
    Option("changes_poll_seconds", ("changes", "poll_seconds"), "GATEWAY_CHANGES_POLL_SECONDS", _seconds_between(0.05, 0.4)),
    Option("log_level", ("log_level",), "GATEWAY_LOG_LEVEL", _log_level),
    Option("delete_enabled", ("delete", "enabled"), "GATEWAY_DELETE_ENABLED", _bool),
    Option("delete_contributors", ("delete", "contributors"), "GATEWAY_DELETE_CONTRIBUTORS", _bool),
    Option("global_visibility", ("namespaces", "global_visibility"), "GATEWAY_NAMESPACES_GLOBAL_VISIBILITY", _visibility),
    Option("auto_create_namespaces", ("namespaces", "auto_create"), "GATEWAY_NAMESPACES_AUTO_CREATE", _bool),
    Option("login_max_failures", ("logins", "max_failures"), "GATEWAY_LOGINS_MAX_FAILURES", _int_between(1, 1000)),
    Option("login_failure_window", ("logins", "failure_window"), "GATEWAY_LOGINS_FAILURE_WINDOW", _int_between(1, 86400)),
    Option("webhooks", ("webhooks",), "GATEWAY_WEBHOOKS", _webhooks, secret=True),
    Option(
        "webhook_max_attempts", ("webhook_delivery", "max_attempts"), "GATEWAY_WEBHOOK_DELIVERY_MAX_ATTEMPTS",
        _int_between(1, 100),
    ),
    Option(
        "webhook_backoff_initial", ("webhook_delivery", "backoff_initial"), "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL", _seconds
    ),
    Option("webhook_backoff_max", ("webhook_delivery", "backoff_max"), "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_MAX", _seconds),
    Option("webhook_timeout", ("webhook_delivery", "timeout"), "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT", _seconds),
    Option("events_retention_days", ("events", "retention_days"), "GATEWAY_EVENTS_RETENTION_DAYS", _int_between(0, 36500)),
    Option("events_retention_count", ("events", "retention_count"), "GATEWAY_EVENTS_RETENTION_COUNT", _int_between(0, 10**9)),
    Option(
        "events_upstream_secret", ("events", "upstream_secret"), "GATEWAY_EVENTS_UPSTREAM_SECRET", _optional_secret,
        secret=True, file_variant=True,
    ),
    Option("log_format", ("log_format",), "GATEWAY_LOG_FORMAT", _log_format),
    Option("token_previous_cert_files", ("token_previous_cert_files",), "GATEWAY_TOKEN_PREVIOUS_CERT_FILES", _path_list),
    Option("upstream_forward_token", ("upstream", "forward_token"), "GATEWAY_UPSTREAM_FORWARD_TOKEN", _bool),
    Option("upstream_storage_dir", ("upstream", "storage_dir"), "GATEWAY_UPSTREAM_STORAGE_DIR", _optional_path),
    Option("server_workers", ("server", "workers"), "GATEWAY_SERVER_WORKERS", _int_between(1, 64)),
    Option("client_idle_timeout", ("server", "client_idle_timeout"), "GATEWAY_SERVER_CLIENT_IDLE_TIMEOUT", _seconds),
    Option("shutdown_grace", ("server", "shutdown_grace"), "GATEWAY_SERVER_SHUTDOWN_GRACE", _seconds),
    Option("header_timeout", ("server", "header_timeout"), "GATEWAY_SERVER_HEADER_TIMEOUT", _seconds),
    Option("keepalive_timeout", ("server", "keepalive_timeout"), "GATEWAY_SERVER_KEEPALIVE_TIMEOUT", _seconds),
    Option("trusted_proxies", ("server", "trusted_proxies"), "GATEWAY_SERVER_TRUSTED_PROXIES", _networks),
    Option("readiness_timeout", ("readiness", "timeout"), "GATEWAY_READINESS_TIMEOUT", _seconds),
    Option("refresh_max_age", ("tokens", "refresh_max_age"), "GATEWAY_TOKENS_REFRESH_MAX_AGE", _int_between(60, 3650 * 86400)),
    Option("refresh_max_idle", ("tokens", "refresh_max_idle"), "GATEWAY_TOKENS_REFRESH_MAX_IDLE", _int_between(60, 3650 * 86400)),
    Option("password_cost", ("auth", "password_cost"), "GATEWAY_AUTH_PASSWORD_COST", _int_between(MIN_COST, MAX_COST)),
    Option("secrets_key_file", ("secrets", "key_file"), "GATEWAY_SECRETS_KEY_FILE", _optional_path),
    Option(
        "webhooks_allow_private_targets", ("webhook_delivery", "allow_private_targets"),
        "GATEWAY_WEBHOOK_DELIVERY_ALLOW_PRIVATE_TARGETS", _bool,
    ),
    Option("ui_session_idle", ("ui", "session_idle"), "GATEWAY_UI_SESSION_IDLE", _int_between(1, 30 * 86400)),
    Option("ui_session_max", ("ui", "session_max"), "GATEWAY_UI_SESSION_MAX", _int_between(1, 365 * 86400)),
    Option("ui_anonymous_browsing", ("ui", "anonymous_browsing"), "GATEWAY_UI_ANONYMOUS_BROWSING", _bool),
    Option("ldap_urls", ("ldap", "url"), "GATEWAY_LDAP_URL", _ldap_urls),
    Option("ldap_start_tls", ("ldap", "start_tls"), "GATEWAY_LDAP_START_TLS", _bool),
    Option("ldap_ca_file", ("ldap", "ca_file"), "GATEWAY_LDAP_CA_FILE", _optional_path),
    Option("ldap_timeout", ("ldap", "timeout"), "GATEWAY_LDAP_TIMEOUT", _seconds_between(0.1, 60)),
    Option("ldap_bind_dn", ("ldap", "bind_dn"), "GATEWAY_LDAP_BIND_DN", _optional_text),
    Option(
        "ldap_bind_password", ("ldap", "bind_password"), "GATEWAY_LDAP_BIND_PASSWORD", _optional_text,
        secret=True, file_variant=True,
    ),
    Option("ldap_user_dn_template", ("ldap", "user_dn_template"), "GATEWAY_LDAP_USER_DN_TEMPLATE", _template("username")),
    Option("ldap_user_base", ("ldap", "user_base"), "GATEWAY_LDAP_USER_BASE", _optional_text),
    Option("ldap_user_filter", ("ldap", "user_filter"), "GATEWAY_LDAP_USER_FILTER", _filter_template("username")),
    Option("ldap_username_attribute", ("ldap", "username_attribute"), "GATEWAY_LDAP_USERNAME_ATTRIBUTE", _text),
    Option("ldap_email_attribute", ("ldap", "email_attribute"), "GATEWAY_LDAP_EMAIL_ATTRIBUTE", _text),
    Option("ldap_group_base", ("ldap", "group_base"), "GATEWAY_LDAP_GROUP_BASE", _optional_text),
    Option("ldap_group_filter", ("ldap", "group_filter"), "GATEWAY_LDAP_GROUP_FILTER", _filter_template("dn", "username")),
    Option("ldap_admin_group", ("ldap", "admin_group"), "GATEWAY_LDAP_ADMIN_GROUP", _optional_text),
    Option("ldap_team_groups", ("ldap", "team_groups"), "GATEWAY_LDAP_TEAM_GROUPS", _team_groups),
    Option("ldap_sync_interval", ("ldap", "sync_interval"), "GATEWAY_LDAP_SYNC_INTERVAL", _seconds_between(1, 86400)),
)


def path_kind(option: Option) -> str:
    """"path", "paths" (comma-separated in the environment) for options naming files, else ""."""
    if option.parse in (_path, _optional_path):
        return "path"
    return "paths" if option.parse is _path_list else ""


def _toml_value(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = document
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _known_toml_keys() -> set[tuple[str, ...]]:
    return {option.toml for option in OPTIONS} | {option.toml[:1] for option in OPTIONS if len(option.toml) > 1}


def _check_unknown_keys(document: Mapping[str, Any]) -> None:
    known = _known_toml_keys()
    for key, value in document.items():
        if (key,) not in known:
            raise ConfigError(key, "unknown setting")
        if any(o.toml[:1] == (key,) and len(o.toml) > 1 for o in OPTIONS):
            if not isinstance(value, Mapping):
                raise ConfigError(key, "expected a table ([section]) of settings")
            for sub in value:
                if (key, sub) not in known:
                    raise ConfigError(f"{key}.{sub}", "unknown setting")


def _read_secret_file(option: Option, path_text: str) -> str:
    key = f"{option.env}_FILE"
    try:
        return Path(path_text).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path_text!r}: {exc.strerror}") from None


def load_settings(environ: Mapping[str, str], config_file: Path | None = None) -> Settings:
    """Build Settings from an optional TOML file and the environment (the environment wins)."""
    document: dict[str, Any] = {}
    if config_file is not None:
        try:
            document = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError("config", f"cannot read {str(config_file)!r}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("config", f"{config_file} is not valid TOML (UTF-8): {exc}") from None
        except RecursionError:
            raise ConfigError("config", f"{config_file} nests arrays or tables too deeply") from None
        _check_unknown_keys(document)

    try:
        borrowed, notes = portus_environment(environ)
    except PortusSettingError as exc:
        raise ConfigError(exc.key, exc.problem) from None
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw: Any = None
        key = ".".join(option.toml)
        toml_raw = _toml_value(document, option.toml)
        if toml_raw is not None:
            raw = toml_raw if isinstance(toml_raw, str) else (str(toml_raw).lower() if isinstance(toml_raw, bool) else toml_raw)
        if option.file_variant and environ.get(f"{option.env}_FILE"):
            raw, key = _read_secret_file(option, environ[f"{option.env}_FILE"]), f"{option.env}_FILE"
        if option.env in environ:
            raw, key = environ[option.env], option.env
        portus = borrowed.get(option.env)
        if portus is not None and raw is not None:
            notes.append(f"{portus.source} ignored: {key} is set")
        elif portus is not None:
            raw, key = portus.value, portus.source
            notes.append(f"{portus.source} (Portus's) is read as {option.env}; set {option.env} instead")
        if raw is None:
            continue
        values[option.field] = option.parse(key, raw)

    listen = values.pop("listen", None)
    if listen is not None:
        values["listen_host"], values["listen_port"] = listen
    settings = Settings(**values, notes=tuple(notes))
    _check_pairs(settings)
    return settings


def _check_pairs(settings: Settings) -> None:
    if (settings.tls_cert_file is None) != (settings.tls_key_file is None):
        raise ConfigError("GATEWAY_TLS_CERT_FILE", "TLS needs both a certificate and a key file")
    if (settings.token_key_file is None) != (settings.token_cert_file is None):
        raise ConfigError("GATEWAY_TOKEN_KEY_FILE", "token signing needs both a key file and a certificate file")
    if settings.admin_username and not settings.admin_password:
        raise ConfigError("GATEWAY_ADMIN_PASSWORD", "GATEWAY_ADMIN_USERNAME is set but no admin password is given")
    _check_ldap(settings)
    for index, hook in enumerate(settings.webhooks):
        if (problem := target_problem(hook.url, settings.webhooks_allow_private_targets)) is not None:
            raise ConfigError(f"GATEWAY_WEBHOOKS[{index}].url", problem)


def _check_ldap(settings: Settings) -> None:
    """An [ldap] section either names a directory and how to find users in it, or is unused."""
    if not settings.ldap_urls:
        if settings.ldap_bind_dn or settings.ldap_user_dn_template or settings.ldap_user_base:
            raise ConfigError("GATEWAY_LDAP_URL", "the [ldap] settings need ldap.url (the directory's ldap:// or ldaps:// URL)")
        return
    if settings.ldap_user_dn_template is None and settings.ldap_user_base is None:
        raise ConfigError("GATEWAY_LDAP_USER_BASE", "LDAP needs user_base (search, then bind) or user_dn_template (direct bind)")
    if bool(settings.ldap_bind_dn) != bool(settings.ldap_bind_password):
        raise ConfigError("GATEWAY_LDAP_BIND_PASSWORD", "ldap.bind_dn and ldap.bind_password go together")
    if settings.ldap_start_tls and any(url.startswith("ldaps://") for url in settings.ldap_urls):
        raise ConfigError("GATEWAY_LDAP_START_TLS", "start_tls is for ldap:// URLs; ldaps:// is TLS from the start")
    if (settings.ldap_team_groups or settings.ldap_admin_group) and not settings.ldap_group_base:
        raise ConfigError("GATEWAY_LDAP_GROUP_BASE", "team_groups and admin_group need group_base (where groups are searched)")


def uses_data_dir(settings: Settings) -> bool:
    """Whether anything lives in the data dir: the SQLite store, a generated key pair, the secrets key."""
    return not settings.database_url or settings.token_key_file is None or settings.secrets_key_file is None


def describe(settings: Settings) -> dict[str, str]:
    """The effective settings with secrets masked, for `config show`."""
    shown: dict[str, str] = {}
    secret_fields = {o.field for o in OPTIONS if o.secret}
    for field in dataclasses.fields(settings):
        if field.name == "notes":
            continue
        value = getattr(settings, field.name)
        if field.name in secret_fields and value:
            text = str(value)
            if field.name == "database_url":
                url = URL(text)
                text = str(url.with_password("****")) if url.password else text
            else:
                text = "****"
            shown[field.name] = text
        elif isinstance(value, tuple):
            shown[field.name] = ",".join(map(str, value))
        else:
            shown[field.name] = "" if value is None else str(value)
    shown["effective_database_url"] = shown["database_url"] or settings.effective_database_url
    return shown
