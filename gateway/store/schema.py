"""The schema as numbered migrations, in SQL that SQLite and MariaDB both accept.

`{autoincrement_pk}` is the one dialect difference the DDL needs; each dialect fills it in.
Never edit a released migration: add the next number.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE users (
                name VARCHAR(64) NOT NULL PRIMARY KEY,
                password_hash VARCHAR(255) NOT NULL,
                admin INTEGER NOT NULL DEFAULT 0,
                disabled INTEGER NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )""",
            """CREATE TABLE refresh_tokens (
                token_hash CHAR(64) NOT NULL PRIMARY KEY,
                username VARCHAR(64) NOT NULL,
                service VARCHAR(255) NOT NULL,
                client_id VARCHAR(255) NOT NULL,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT NULL
            )""",
            "CREATE INDEX refresh_tokens_by_user ON refresh_tokens (username)",
        ),
    ),
)
