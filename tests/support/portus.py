"""A Portus-shaped database on the tests' MariaDB, filled the way Portus fills it.

The tables are those of ../shared/PORTUS-FACTS.md (Portus's db/schema.mysql.rb, 2019-03-14) with
the columns an import reads and a few it does not; rows are written as Portus's models write
them: Devise bcrypt passwords (`$2a$`), application tokens as bcrypt(token, token_salt), a
hidden personal team and a personal namespace per user, the hidden global team and the global
namespace, enums as integers.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import bcrypt
import pymysql
from yarl import URL

FAST_COST = 4  # where a test is not about the cost; Portus uses 10

_TIMESTAMPS = "created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL"
SCHEMA = (
    f"""CREATE TABLE registries (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL,
        hostname VARCHAR(255) NOT NULL, use_ssl TINYINT(1), external_hostname VARCHAR(255), {_TIMESTAMPS})""",
    f"""CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, username VARCHAR(255) NOT NULL DEFAULT '',
        email VARCHAR(255) DEFAULT '', encrypted_password VARCHAR(255) NOT NULL DEFAULT '',
        reset_password_token VARCHAR(255), remember_created_at DATETIME, sign_in_count INT NOT NULL DEFAULT 0,
        current_sign_in_at DATETIME, last_sign_in_at DATETIME, admin TINYINT(1) DEFAULT 0,
        enabled TINYINT(1) DEFAULT 1, locked_at DATETIME, failed_attempts INT DEFAULT 0, namespace_id INT,
        display_name VARCHAR(255), provider VARCHAR(255), uid VARCHAR(255), bot TINYINT(1) DEFAULT 0,
        ldap_name VARCHAR(255), {_TIMESTAMPS}, UNIQUE KEY (username))""",
    f"""CREATE TABLE teams (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255), hidden TINYINT(1) DEFAULT 0,
        description TEXT, ldap_group_checked INT DEFAULT 0, checked_at DATETIME, {_TIMESTAMPS}, UNIQUE KEY (name))""",
    f"""CREATE TABLE team_users (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT, team_id INT, role INT DEFAULT 0,
        {_TIMESTAMPS})""",
    f"""CREATE TABLE namespaces (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255), team_id INT,
        registry_id INT NOT NULL, global TINYINT(1) DEFAULT 0, description TEXT, visibility INT, {_TIMESTAMPS},
        UNIQUE KEY (name, registry_id))""",
    f"""CREATE TABLE repositories (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL DEFAULT '',
        namespace_id INT, description TEXT, marked TINYINT(1) DEFAULT 0, {_TIMESTAMPS})""",
    f"""CREATE TABLE tags (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL DEFAULT 'latest',
        repository_id INT NOT NULL, user_id INT, digest VARCHAR(255), image_id VARCHAR(255) DEFAULT '',
        marked TINYINT(1) DEFAULT 0, username VARCHAR(255), scanned INT DEFAULT 0, size BIGINT, pulled_at DATETIME,
        {_TIMESTAMPS})""",
    f"""CREATE TABLE application_tokens (id INT AUTO_INCREMENT PRIMARY KEY, application VARCHAR(255) NOT NULL,
        token_hash VARCHAR(255) NOT NULL, token_salt VARCHAR(255) NOT NULL, user_id INT NOT NULL, {_TIMESTAMPS})""",
    f"""CREATE TABLE webhooks (id INT AUTO_INCREMENT PRIMARY KEY, namespace_id INT, url VARCHAR(255),
        username VARCHAR(255), password VARCHAR(255), request_method INT, content_type INT,
        enabled TINYINT(1) DEFAULT 0, name VARCHAR(255) NOT NULL DEFAULT '', {_TIMESTAMPS})""",
    f"""CREATE TABLE webhook_headers (id INT AUTO_INCREMENT PRIMARY KEY, webhook_id INT, name VARCHAR(255),
        value VARCHAR(255), {_TIMESTAMPS})""",
    f"""CREATE TABLE webhook_deliveries (id INT AUTO_INCREMENT PRIMARY KEY, webhook_id INT, uuid VARCHAR(255),
        status INT, request_header TEXT, request_body TEXT, response_header TEXT, response_body TEXT, {_TIMESTAMPS})""",
    f"""CREATE TABLE activities (id INT AUTO_INCREMENT PRIMARY KEY, trackable_id INT, trackable_type VARCHAR(255),
        owner_id INT, owner_type VARCHAR(255), `key` VARCHAR(255), parameters TEXT, recipient_id INT,
        recipient_type VARCHAR(255), {_TIMESTAMPS})""",
    f"""CREATE TABLE stars (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT, repository_id INT, {_TIMESTAMPS})""",
)

VIEWER, CONTRIBUTOR, OWNER = 0, 1, 2
PRIVATE, PROTECTED, PUBLIC = 0, 1, 2
GET, POST = 0, 1
JSON, FORM = 0, 1


def devise_hash(password: str, cost: int = FAST_COST) -> str:
    """What Devise stores: bcrypt with the `$2a$` prefix of Ruby's bcrypt."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost, prefix=b"2a")).decode()


def when(days_ago: int) -> datetime.datetime:
    """A moment as Portus's DATETIME columns hold it: UTC, without a zone."""
    moment = datetime.datetime(2020, 6, 1, 12, 0, 0, tzinfo=datetime.UTC) - datetime.timedelta(days=days_ago)
    return moment.replace(tzinfo=None)


class PortusDatabase:
    """Writes rows into a Portus-shaped database through pymysql, returning their ids."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = URL(url)
        self._conn = pymysql.connect(
            host=parsed.host, port=parsed.port or 3306, user=parsed.user or "root", password=parsed.password or "",
            database=parsed.path.strip("/"), autocommit=True, charset="utf8mb4",
        )
        self.passwords: dict[str, str] = {}
        self.tokens: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        self._conn.close()

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> int:
        with self._conn.cursor() as cursor:
            cursor.execute(statement, params)
            return int(cursor.lastrowid or 0)

    def insert(self, table: str, created: datetime.datetime | None = None, **values: Any) -> int:
        moment = created or when(100)
        values = {**values, "created_at": moment, "updated_at": moment}
        columns = ", ".join(f"`{c}`" for c in values)
        marks = ", ".join(["%s"] * len(values))
        return self.sql(f"INSERT INTO `{table}` ({columns}) VALUES ({marks})", tuple(values.values()))

    def create_schema(self) -> None:
        for statement in SCHEMA:
            self.sql(statement)
        self.registry = self.insert("registries", name="registry", hostname="registry.portus.test:5000", use_ssl=0)
        self.global_team = self.insert("teams", name=f"portus_global_team_{self.registry}", hidden=1)
        self.global_namespace = self.insert(
            "namespaces", name=f"portus_global_namespace_{self.registry}", team_id=self.global_team,
            registry_id=self.registry, **{"global": 1}, visibility=PUBLIC,
        )

    def user(
        self, name: str, password: str | None = None, *, admin: bool = False, enabled: bool = True, bot: bool = False,
        cost: int = FAST_COST, provider: str | None = None, visibility: int = PRIVATE,
    ) -> int:
        """A user as Portus makes one: the row, a hidden personal team they own and their personal
        namespace (bots have none). `password=None`: an LDAP or OAuth user (empty hash)."""
        encrypted = devise_hash(password, cost) if password is not None else ""
        if password is not None:
            self.passwords[name] = password
        user_id = self.insert(
            "users", username=name, email=f"{name}@example.test", encrypted_password=encrypted, admin=int(admin),
            enabled=int(enabled), bot=int(bot), provider=provider, ldap_name=name if password is None and not provider else None,
        )
        if admin:
            self.insert("team_users", user_id=user_id, team_id=self.global_team, role=OWNER)
        if not bot:
            team = self.insert("teams", name=name, hidden=1)
            self.insert("team_users", user_id=user_id, team_id=team, role=OWNER)
            namespace = self.insert("namespaces", name=name, team_id=team, registry_id=self.registry, visibility=visibility)
            self.sql("UPDATE users SET namespace_id = %s WHERE id = %s", (namespace, user_id))
        return user_id

    def team(self, name: str, members: dict[int, int], hidden: bool = False) -> int:
        team = self.insert("teams", name=name, hidden=int(hidden))
        for user_id, role in members.items():
            self.insert("team_users", user_id=user_id, team_id=team, role=role)
        return team

    def namespace(self, name: str, team: int, visibility: int = PRIVATE) -> int:
        return self.insert("namespaces", name=name, team_id=team, registry_id=self.registry, visibility=visibility)

    def token(self, user_id: int, username: str, application: str, *, cost: int = FAST_COST) -> str:
        """Portus's ApplicationToken: a 20-character URL-safe token, kept as bcrypt(token, salt)."""
        plain = secrets.token_urlsafe(15)[:20]
        salt = bcrypt.gensalt(cost, prefix=b"2a")
        self.insert(
            "application_tokens", application=application, token_hash=bcrypt.hashpw(plain.encode(), salt).decode(),
            token_salt=salt.decode(), user_id=user_id,
        )
        self.tokens[(username, application)] = plain
        return plain

    def repository(self, namespace: int, name: str) -> int:
        return self.insert("repositories", name=name, namespace_id=namespace)

    def tag(self, repository: int, name: str, digest: str, user_id: int, username: str, **extra: Any) -> int:
        return self.insert(
            "tags", name=name, repository_id=repository, digest=digest, user_id=user_id, username=username,
            size=extra.pop("size", 1234), created=extra.pop("created", when(10)), **extra,
        )

    def activity(self, key: str, trackable: tuple[str, int], owner: int, recipient: tuple[str, int] | None = None,
                 created: datetime.datetime | None = None) -> int:
        return self.insert(
            "activities", key=key, trackable_type=trackable[0], trackable_id=trackable[1], owner_type="User",
            owner_id=owner, recipient_type=recipient[0] if recipient else None,
            recipient_id=recipient[1] if recipient else None, parameters="--- {}\n", created=created or when(5),
        )

    def webhook(self, namespace: int, url: str, *, method: int = POST, content: int = JSON, enabled: bool = True,
                username: str = "", password: str = "", headers: dict[str, str] | None = None, name: str = "") -> int:
        hook = self.insert(
            "webhooks", namespace_id=namespace, url=url, username=username, password=password, request_method=method,
            content_type=content, enabled=int(enabled), name=name,
        )
        for header, value in (headers or {}).items():
            self.insert("webhook_headers", webhook_id=hook, name=header, value=value)
        return hook


@contextmanager
def portus_database(url: str) -> Iterator[PortusDatabase]:
    database = PortusDatabase(url)
    try:
        database.create_schema()
        yield database
    finally:
        database.close()
