"""Which statements bump MariaDB's change version: writes that can change a decision only."""

from __future__ import annotations

import pytest

from gateway.store.versioning import (
    ACCESS,
    ACCESS_TABLES,
    CONTENT,
    DECISION_TABLES,
    NO_CHANGE,
    decision_change,
    versions_read,
)


@pytest.mark.parametrize(("sql", "kind"), [
    ("UPDATE users SET disabled = :disabled, updated_at = :now WHERE name = :name", ACCESS),
    ("INSERT INTO team_members (team, username, role, created_at) VALUES (:team, :user, :role, :now)", ACCESS),
    ("DELETE FROM app_tokens WHERE id = :id", ACCESS),
    ("INSERT INTO revoked_app_tokens (id, revoked_at) VALUES (:id, :now)", ACCESS),
    ("  insert into tags (repository, tag) values (:r, :t) ON DUPLICATE KEY UPDATE digest = VALUES(digest)", CONTENT),
    ("INSERT INTO tags (repository, tag) VALUES (:r, :t)", CONTENT),
    ("DELETE FROM manifests WHERE repository = :repository", CONTENT),
    ("INSERT INTO namespace_tombstones (name) VALUES (:name)", ACCESS),
    ("DELETE FROM namespace_tombstones WHERE name = :name", ACCESS),
    ("UPDATE `namespaces` SET visibility = :v WHERE name = :n", ACCESS),
    ("REPLACE INTO users (name) VALUES (:n)", ACCESS),
    ("INSERT IGNORE INTO teams (name) VALUES (:n)", ACCESS),
    ("UPDATE app_tokens SET last_used_at = :now, namespaces = :ns WHERE id = :id", ACCESS),
    ("UPDATE maintenance_runs SET phase = :phase, progress = :progress, write_window = :window WHERE kind = :kind", CONTENT),
    ("DELETE FROM namespace_quotas WHERE namespace = :namespace", CONTENT),
    ("INSERT INTO namespace_quotas (namespace, bytes) VALUES (:n, :b)", CONTENT),
    ("INSERT INTO tag_deletions (repository, tag, holder, lease_until, actor, created_at) VALUES (:r, :t, :h, :u, :a, :c)", CONTENT),
])
def test_a_write_that_can_change_a_decision_bumps_the_version_and_says_whether_access_changed(sql: str, kind: int) -> None:
    assert decision_change(sql) == kind


@pytest.mark.parametrize("sql", [
    "SELECT * FROM users WHERE name = :name",
    "UPDATE app_tokens SET last_used_at = :now WHERE id = :id",
    "UPDATE refresh_tokens SET last_used_at = :now WHERE token_hash = :hash",
    "INSERT INTO events (id, body) VALUES (:id, :body)",
    "UPDATE repositories SET last_pull_at = :at WHERE name = :name",
    "UPDATE tags SET last_pull_at = :at WHERE repository = :repository AND digest = :digest",
    "UPDATE webhooks SET cursor_seq = :seq WHERE name = :name",
    "INSERT INTO uploads (id) VALUES (:id)",
    "UPDATE change_version SET version = version + 1 WHERE id = 1",
    "INSERT INTO users_archive (name) VALUES (:n)",
])
def test_reads_bookkeeping_and_other_tables_leave_it_alone(sql: str) -> None:
    assert decision_change(sql) == NO_CHANGE


def test_every_decision_table_exists_in_the_schema() -> None:
    from gateway.store.schema import MIGRATIONS

    created = " ".join(str(s) for _, statements in MIGRATIONS for s in statements)
    assert all(f"CREATE TABLE {table} (" in created for table in DECISION_TABLES)


def test_the_access_tables_are_decision_tables_and_pushes_write_none_of_them() -> None:
    assert ACCESS_TABLES < DECISION_TABLES
    assert not {"tags", "manifests", "tag_deletions", "namespace_quotas", "maintenance_runs"} & ACCESS_TABLES


def test_the_versions_read_need_row_one_and_take_row_two_when_there() -> None:
    assert versions_read([{"id": 1, "version": 7}, {"id": 2, "version": 3}]) == (7, 3)
    assert versions_read([{"id": 2, "version": 3}, {"id": 1, "version": 7}]) == (7, 3)
    assert versions_read([{"id": 1, "version": 7}]) == (7, None)
    assert versions_read([{"id": 2, "version": 3}]) is None
    assert versions_read([]) is None
