"""Names compare exactly on both stores: MariaDB's default collation found `alice` for `ALICE`
and for `alice `, and kept the tags `v1` and `V1` apart from nothing (one replaced the other)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

import gateway.store.base
from gateway.store import ManifestRow, Store, open_store
from gateway.store.schema import EXACT_COLLATION, MIGRATIONS
from tests.support.processes import mariadb_database

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _manifest(digest_byte: str) -> ManifestRow:
    return ManifestRow("alice/app", "sha256:" + digest_byte * 64, MANIFEST, 10, None, None, None, 100)


async def test_a_user_is_found_only_by_their_exact_name(store: Store) -> None:
    await store.create_user("alice", "hash")
    assert (await store.get_user("alice")) is not None
    for variant in ("ALICE", "Alice", "alice ", "alice  ", " alice"):
        assert await store.get_user(variant) is None, variant
        assert not await store.set_user_disabled(variant, True), variant
    await store.create_user("alice ", "other")  # the store keeps what it is given apart; the callers check the grammar
    assert [u.name for u in await store.list_users()] == ["alice", "alice "]


async def test_teams_namespaces_members_and_tokens_compare_exactly(store: Store) -> None:
    await store.create_team("web")
    await store.set_member("web", "alice", "owner")
    await store.create_namespace("web", "web", "private")
    assert await store.get_team("WEB") is None and await store.get_team("web ") is None
    assert await store.get_namespace("WEB") is None and await store.get_namespace("web ") is None
    assert await store.get_role("web", "ALICE") is None and await store.get_role("WEB", "alice") is None
    assert await store.get_role("web", "alice") == "owner"


async def test_tags_that_differ_in_case_are_two_tags(store: Store) -> None:
    await store.index_push(_manifest("a"), "v1")
    await store.index_push(_manifest("b"), "V1")
    tags = {t.tag: t.digest for t in await store.list_tags("alice/app")}
    assert tags == {"V1": "sha256:" + "b" * 64, "v1": "sha256:" + "a" * 64}
    await store.index_delete_tag("alice/app", "V1")
    assert [t.tag for t in await store.list_tags("alice/app")] == ["v1"]


@pytest.fixture
def fresh_mariadb_url() -> Iterator[str]:
    url, drop = mariadb_database()
    yield url
    drop()


@pytest.fixture
async def mariadb_store(fresh_mariadb_url: str) -> AsyncIterator[Store]:
    """A fresh MariaDB database, not yet migrated."""
    opened = await open_store(fresh_mariadb_url)
    yield opened
    await opened.close()


async def _text_collations(store: Store) -> dict[str, str]:
    rows = await store.fetch_all(
        "SELECT table_name AS t, column_name AS c, collation_name AS collation FROM information_schema.columns"
        " WHERE table_schema = DATABASE() AND collation_name IS NOT NULL"
    )
    return {f"{r['t']}.{r['c']}": r["collation"] for r in rows}


async def test_every_text_column_on_mariadb_is_exact_after_all_migrations(mariadb_store: Store) -> None:
    """Also the guard for later migrations: a column they leave inexact fails here."""
    await mariadb_store.migrate()
    collations = await _text_collations(mariadb_store)
    assert "users.name" in collations and "tags.tag" in collations and "refresh_tokens.username" in collations
    assert {column: c for column, c in collations.items() if c != EXACT_COLLATION} == {}


async def test_a_table_a_later_migration_creates_is_exact_on_a_connection_opened_before_6(
    mariadb_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection keeps the database default it opened with: the store itself gives
    each new table the exact collation."""
    later = (*MIGRATIONS, (999, ("CREATE TABLE a_later_table (name VARCHAR(64) NOT NULL PRIMARY KEY)",)))
    monkeypatch.setattr(gateway.store.base, "MIGRATIONS", later)
    applied = await mariadb_store.migrate()
    assert 6 in applied and applied[-1] == 999
    assert (await _text_collations(mariadb_store))["a_later_table.name"] == EXACT_COLLATION


async def test_a_table_created_by_a_later_connection_defaults_to_the_exact_collation(
    mariadb_store: Store, fresh_mariadb_url: str
) -> None:
    await mariadb_store.migrate()
    later = await open_store(fresh_mariadb_url)
    try:
        await later.execute("CREATE TABLE without_options (name VARCHAR(64) NOT NULL)")
        assert (await _text_collations(later))["without_options.name"] == EXACT_COLLATION
    finally:
        await later.close()


async def _push_as_of_5(store: Store) -> None:
    """A push indexed as a gateway at migration 5 wrote it (today's `index_push` writes columns
    added since)."""
    params = {"repository": "alice/app", "digest": "sha256:" + "a" * 64, "media_type": MANIFEST, "tag": "v1", "at": 100}
    await store.execute("INSERT INTO repositories (name, created_at, last_push_at) VALUES (:repository, :at, :at)", params)
    await store.execute(
        "INSERT INTO manifests (repository, digest, media_type, size, pushed_at)"
        " VALUES (:repository, :digest, :media_type, 10, :at)", params,
    )
    await store.execute(
        "INSERT INTO tags (repository, tag, digest, media_type, size, pushed_at)"
        " VALUES (:repository, :tag, :digest, :media_type, 10, :at)", params,
    )


async def test_migration_6_makes_an_existing_mariadb_database_exact_and_keeps_its_rows(
    mariadb_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install from before 6: the tables as the store then created them (the database default)."""
    before = tuple(m for m in MIGRATIONS if m[0] < 6)
    monkeypatch.setattr(gateway.store.base, "MIGRATIONS", before)
    monkeypatch.setattr(type(mariadb_store), "render", Store.render)
    assert await mariadb_store.migrate() == [1, 2, 3, 4, 5]
    monkeypatch.undo()
    await mariadb_store.execute(  # as the store of 5 did (today's knows later columns)
        "INSERT INTO users (name, password_hash, admin, disabled, created_at, updated_at)"
        " VALUES ('alice', 'hash', 0, 0, 1, 1)"
    )
    await _push_as_of_5(mariadb_store)
    assert (await mariadb_store.get_user("ALICE ")) is not None, "the old collation: the variant finds alice"
    assert (await mariadb_store.migrate())[0] == 6
    assert await mariadb_store.get_user("ALICE ") is None
    user = await mariadb_store.get_user("alice")
    assert user is not None and user.password_hash == "hash"
    assert [t.tag for t in await mariadb_store.list_tags("alice/app")] == ["v1"]
    assert set((await _text_collations(mariadb_store)).values()) == {EXACT_COLLATION}
