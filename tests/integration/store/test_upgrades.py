"""An existing store upgrades from every older migration level, keeping its rows.

A fresh `migrate()` only proves the whole chain runs on empty tables. Operators upgrade stores
that stopped at some older level and hold data: for each level, the store is migrated that far
only, given one representative row per table that exists then (written with the columns of that
level, as the gateway of that day wrote them), then migrated fully; every row must still be
read back through the current store API, and the store must keep working. The levels are
whatever MIGRATIONS holds, so a migration added later is covered without touching this file.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

import gateway.store.base
from gateway.store import NewEvent, Store, open_store
from gateway.store.schema import MIGRATIONS, sql_for

_CREATED = re.compile(r"CREATE TABLE (\w+)")
AT = 1_700_000_000
REFRESH_HASH = "f" * 64
DIGEST = "sha256:" + "d" * 64
MEDIA = "application/vnd.oci.image.manifest.v1+json"

# One row per table, in the columns the table was created with (later migrations may only add).
SEEDS: dict[str, tuple[str, dict[str, object]]] = {
    "users": (
        ("INSERT INTO users (name, password_hash, admin, disabled, created_at, updated_at)"
        " VALUES ('olduser', 'old-hash', 1, 1, :at, :at)"), {},
    ),
    "refresh_tokens": (
        ("INSERT INTO refresh_tokens (token_hash, username, service, client_id, created_at, revoked_at)"
        f" VALUES ('{REFRESH_HASH}', 'olduser', 'registry.test', 'docker', :at, NULL)"), {},
    ),
    "teams": ("INSERT INTO teams (name, created_at) VALUES ('oldteam', :at)", {}),
    "team_members": (
        "INSERT INTO team_members (team, username, role, created_at) VALUES ('oldteam', 'olduser', 'owner', :at)", {},
    ),
    "namespaces": (
        "INSERT INTO namespaces (name, team, visibility, created_at) VALUES ('oldteam', 'oldteam', 'public', :at)", {},
    ),
    "app_tokens": (
        ("INSERT INTO app_tokens (id, username, name, secret_hash, namespaces, actions, expires_at, created_at, last_used_at)"
        " VALUES ('0123456789ab', 'olduser', 'ci', :hash, 'oldteam', 'pull,push', NULL, :at, NULL)"), {"hash": "a" * 64},
    ),
    "revoked_app_tokens": ("INSERT INTO revoked_app_tokens (id, revoked_at) VALUES ('ba9876543210', :at)", {}),
    "events": (
        ("INSERT INTO events (id, created_at, action, repository, tag, digest, actor, body)"
        " VALUES ('old-event-1', :ms, 'push', 'oldteam/app', 'v1', :digest, 'olduser', '{}')"), {"ms": AT * 1000, "digest": DIGEST},
    ),
    "webhooks": (
        ("INSERT INTO webhooks (name, url, secret, headers, actions, repository_pattern, source, cursor_seq, leased_by,"
        " lease_until, created_at) VALUES ('oldhook', 'http://127.0.0.1:9/hook', 'hook-secret', '{}', 'push', '*',"
        " 'api', 0, NULL, 0, :at)"), {},
    ),
    "webhook_failures": (
        ("INSERT INTO webhook_failures (webhook, event_seq, state, attempts, last_error, updated_at)"
        " VALUES ('oldhook', 1, 'dead', 3, 'refused', :at)"), {},
    ),
    "repositories": (
        ("INSERT INTO repositories (name, created_at, last_push_at, last_pull_at)"
        " VALUES ('oldteam/app', :at, :at, NULL), ('oldapp', :at, NULL, NULL)"), {},
    ),
    "tags": (
        ("INSERT INTO tags (repository, tag, digest, media_type, size, pushed_at)"
        " VALUES ('oldteam/app', 'v1', :digest, :media, 10, :at)"), {"digest": DIGEST, "media": MEDIA},
    ),
    "manifests": (
        ("INSERT INTO manifests (repository, digest, media_type, size, artifact_type, subject, annotations, pushed_at)"
        " VALUES ('oldteam/app', :digest, :media, 10, NULL, NULL, NULL, :at)"), {"digest": DIGEST, "media": MEDIA},
    ),
    "uploads": (
        ("INSERT INTO uploads (id, repository, upload_offset, state, updated_at)"
        " VALUES ('old-upload', 'oldteam/app', 5, '{\"kept\": true}', :at)"), {},
    ),
    "revoked_subjects": ("INSERT INTO revoked_subjects (name, revoked_at) VALUES ('gone', :at)", {}),
    "namespace_tombstones": (
        ("INSERT INTO namespace_tombstones (name, deleted_at, former_kind, former_owner, deleted_by, repositories,"
        " ended_at, ended_by, ended_how) VALUES ('oldgone', :at, 'personal', 'oldgone', 'admin', 2, NULL, NULL, NULL)"), {},
    ),
}


async def _check_users(store: Store) -> None:
    user = await store.get_user("olduser")
    assert user is not None and (user.password_hash, user.admin, user.disabled) == ("old-hash", True, True)
    assert await store.get_user("OLDUSER") is None  # names compare exactly after the upgrade, on both stores


async def _check_refresh_tokens(store: Store) -> None:
    token = await store.get_refresh_token(REFRESH_HASH)
    assert token is not None and (token.username, token.service, token.revoked_at) == ("olduser", "registry.test", None)
    assert (token.last_used_at or token.created_at) == AT  # an old token is not counted idle since 1970


async def _check_teams(store: Store) -> None:
    assert await store.get_team("oldteam") is not None


async def _check_team_members(store: Store) -> None:
    assert await store.get_role("oldteam", "olduser") == "owner"


async def _check_namespaces(store: Store) -> None:
    namespace = await store.get_namespace("oldteam")
    assert namespace is not None and (namespace.team, namespace.visibility) == ("oldteam", "public")


async def _check_app_tokens(store: Store) -> None:
    token = await store.get_app_token("0123456789ab")
    assert token is not None
    assert (token.username, token.name, token.namespaces, token.actions) == ("olduser", "ci", ("oldteam",), ("pull", "push"))


async def _check_revoked_app_tokens(store: Store) -> None:
    assert "ba9876543210" in await store.revoked_app_token_ids(0)


async def _check_events(store: Store) -> None:
    events = await store.list_events(repository="oldteam/app")
    assert [(e.id, e.action, e.created_at_ms) for e in events] == [("old-event-1", "push", AT * 1000)]


async def _check_webhooks(store: Store) -> None:
    hook = await store.get_webhook("oldhook")
    assert hook is not None and (hook.url, hook.actions, hook.source) == ("http://127.0.0.1:9/hook", ("push",), "api")


async def _check_webhook_failures(store: Store) -> None:
    count = await store.fetch_one("SELECT COUNT(*) AS n FROM webhook_failures WHERE webhook = 'oldhook'")
    assert count is not None and int(count["n"]) == 1


async def _check_repositories(store: Store) -> None:
    assert [r.name for r in await store.list_repositories()] == ["oldapp", "oldteam/app"]
    # migration 29's column is computed for the rows already there
    assert [r.name for r in await store.list_global_repositories()] == ["oldapp"]


async def _check_tags(store: Store) -> None:
    tags = await store.list_tags("oldteam/app")
    # indexed before migration 14: its image size and platforms are unknown, not zero
    assert [(t.tag, t.digest, t.image_size, t.platforms) for t in tags] == [("v1", DIGEST, None, ())]


async def _check_manifests(store: Store) -> None:
    assert DIGEST in await store.manifest_digests("oldteam/app")


async def _check_uploads(store: Store) -> None:
    upload = await store.get_upload("old-upload", "oldteam/app")
    assert upload is not None and upload.offset == 5


async def _check_revoked_subjects(store: Store) -> None:
    assert (await store.revoked_subjects(0)).get("gone") == AT


async def _check_namespace_tombstones(store: Store) -> None:
    tombstone = await store.get_tombstone("oldgone")
    assert tombstone is not None and tombstone.former_owner == "oldgone"


CHECKS: dict[str, Callable[[Store], Awaitable[None]]] = {
    name: globals()[f"_check_{name}"] for name in SEEDS
}


def _tables_created(prefix: tuple[tuple[int, tuple[object, ...]], ...], dialect: str) -> list[str]:
    found: list[str] = []
    for _, statements in prefix:
        for statement in statements:
            sql = sql_for(statement, dialect)  # type: ignore[arg-type]
            match = _CREATED.search(sql or "")
            if match:
                found.append(match.group(1))
    return found


async def _still_works(store: Store) -> None:
    """The upgraded store takes new rows of every kind the gateway writes most."""
    await store.create_user("newuser", "new-hash")
    await store.create_team("newteam")
    await store.set_member("newteam", "newuser", "owner")
    await store.create_namespace("newteam", "newteam", "private")
    assert await store.add_event(NewEvent("new-event-1", AT * 1000 + 1, "pull", "newteam/app", None, DIGEST, "newuser", {}))
    assert [e.id for e in await store.list_events(actor="newuser")] == ["new-event-1"]
    assert await store.get_role("newteam", "newuser") == "owner"


@pytest.mark.parametrize("level", range(1, len(MIGRATIONS)))
async def test_a_store_at_an_older_level_upgrades_keeping_its_rows(
    database_url: str, level: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = MIGRATIONS[:level]
    store = await open_store(database_url)
    try:
        monkeypatch.setattr(gateway.store.base, "MIGRATIONS", prefix)
        assert await store.migrate() == [v for v, _ in prefix]
        tables = [t for t in _tables_created(prefix, store.dialect) if t in SEEDS]  # a new table: give it a seed
        for table in tables:
            sql, params = SEEDS[table]
            await store.execute(sql, {"at": AT, **params})
        monkeypatch.setattr(gateway.store.base, "MIGRATIONS", MIGRATIONS)
        assert await store.migrate() == [v for v, _ in MIGRATIONS[level:]]
        assert await store.applied_migrations() == {v for v, _ in MIGRATIONS}
        for table in tables:
            await CHECKS[table](store)
        await _still_works(store)
    finally:
        await store.close()
