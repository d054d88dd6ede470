"""What each dialect runs of a migration: OnlyOn statements, placeholders, table collation."""

from __future__ import annotations

from gateway.store.mysql import MySQLStore
from gateway.store.schema import EXACT_COLLATION, MIGRATIONS, OnlyOn, sql_for
from gateway.store.sqlite import SQLiteStore


def test_a_statement_for_one_dialect_is_skipped_by_the_other() -> None:
    only = OnlyOn("mariadb", "ALTER TABLE users CONVERT TO CHARACTER SET utf8mb4")
    assert sql_for(only, "mariadb") == only.sql
    assert sql_for(only, "sqlite") is None
    assert sql_for("CREATE INDEX a ON b (c)", "sqlite") == "CREATE INDEX a ON b (c)"


def test_migration_6_does_nothing_on_sqlite_and_converts_every_text_table_on_mariadb() -> None:
    [six] = [statements for version, statements in MIGRATIONS if version == 6]
    assert [sql_for(s, SQLiteStore.dialect) for s in six] == [None] * len(six)
    mariadb = [sql_for(s, MySQLStore.dialect) for s in six]
    assert all(sql is not None and sql.endswith(f"COLLATE {EXACT_COLLATION}") for sql in mariadb)
    assert "ALTER TABLE users CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin" in mariadb


def test_mariadb_gives_each_new_table_the_exact_collation_and_sqlite_leaves_it_alone() -> None:
    mariadb, sqlite = MySQLStore.__new__(MySQLStore), SQLiteStore.__new__(SQLiteStore)
    create = "CREATE TABLE t (seq {autoincrement_pk}, name VARCHAR(64) NOT NULL)"
    assert mariadb.render(create) == (
        "CREATE TABLE t (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL)"
        f" DEFAULT CHARSET=utf8mb4 COLLATE={EXACT_COLLATION}"
    )
    assert sqlite.render(create) == "CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(64) NOT NULL)"
    assert mariadb.render("CREATE INDEX t_by_name ON t (name)") == "CREATE INDEX t_by_name ON t (name)"
    assert mariadb.render("ALTER TABLE t ADD COLUMN x VARCHAR(8) NULL") == "ALTER TABLE t ADD COLUMN x VARCHAR(8) NULL"
