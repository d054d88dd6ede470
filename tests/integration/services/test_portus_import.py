"""Importing a Portus database (built in MariaDB as Portus fills it) into the store, once on
SQLite and once on MariaDB: what lands where, logins with Portus's hashes, idempotence,
conflicts, corrupt rows and dry runs."""

from __future__ import annotations

import asyncio
import calendar
import datetime
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.auth.credentials import MIN_COST, PasswordHasher
from gateway.auth.login import Authenticator, CredentialCache
from gateway.auth.policy import Identity, Rules
from gateway.auth.revocation import RevocationView
from gateway.auth.throttle import LoginThrottle
from gateway.portus.plan import NO_PASSWORD, plan_import
from gateway.portus.source import PortusSourceError, read_portus
from gateway.services.context import Services
from gateway.services.events import EventQuery, list_events
from gateway.services.portus_import import ImportRefused, ImportReport, import_portus
from gateway.store import Store, StoreUnavailable, Webhook, open_store
from tests.support.portus import (
    CONTRIBUTOR,
    FORM,
    GET,
    OWNER,
    PROTECTED,
    PUBLIC,
    VIEWER,
    PortusDatabase,
    portus_database,
    when,
)
from tests.support.processes import mariadb_database

ROOT = Identity("root", admin=True)
DIGEST_V1 = "sha256:" + "1" * 64
DIGEST_LATEST = "sha256:" + "2" * 64


@dataclass
class Portus:
    url: str
    db: PortusDatabase
    ids: dict[str, int]


def fill(db: PortusDatabase) -> dict[str, int]:
    """A small Portus installation: an admin with a real cost-10 hash, users with passwords, an
    LDAP user, a bot, a disabled user; a team with every role; namespaces of every visibility;
    tokens, tags (one marked), activities, webhooks of every kind, and a star."""
    ids = {
        "admin": db.user("portusadmin", "admin-Portus-pw1", admin=True, cost=10),
        "alice": db.user("alice", "alice-Portus-pw1", visibility=PROTECTED),
        "bob": db.user("bob", "bob-Portus-pw1"),
        "victor": db.user("victor", "victor-Portus-pw1"),
        "carol": db.user("carol"),  # LDAP: no password here
        "gina": db.user("gina", provider="github"),
        "cibot": db.user("cibot", "bot-password-never-used", bot=True),
        "dave": db.user("dave", "dave-Portus-pw1", enabled=False),
    }
    web = db.team("web", {ids["alice"]: OWNER, ids["bob"]: CONTRIBUTOR, ids["victor"]: VIEWER, ids["carol"]: VIEWER})
    ids["web_team"] = web
    ids["web"] = db.namespace("web", web)
    ids["shared"] = db.namespace("shared", web, PROTECTED)
    ids["open"] = db.namespace("open", web, PUBLIC)
    personal_team = next(iter(db_rows(db, "SELECT id FROM teams WHERE name = %s", ("alice",))))["id"]
    ids["tools"] = db.namespace("alice-tools", personal_team)
    db.token(ids["alice"], "alice", "ci")
    db.token(ids["cibot"], "cibot", "deploy")
    db.token(ids["bob"], "bob", "my laptop")
    app = db.repository(ids["web"], "app")
    ids["v1"] = db.tag(app, "v1", DIGEST_V1, ids["alice"], "alice", pulled_at=when(2))
    ids["latest"] = db.tag(app, "latest", DIGEST_LATEST, ids["bob"], "bob", created=when(3))
    db.tag(app, "old", "sha256:" + "3" * 64, ids["bob"], "bob", marked=1)
    busybox = db.repository(db.global_namespace, "busybox")
    db.tag(busybox, "1", "sha256:" + "4" * 64, ids["admin"], "portusadmin")
    ids["push_activity"] = db.activity("repository.push", ("Repository", app), ids["alice"], ("Tag", ids["v1"]), when(10))
    db.activity("team.add_member", ("Team", web), ids["alice"], ("User", ids["bob"]), when(50))
    db.activity("namespace.change_visibility", ("Namespace", ids["shared"]), ids["alice"], None, when(40))
    ids["hook"] = db.webhook(
        ids["web"], "https://hooks.example.test/portus", username="hookuser", password="hook-pass",
        headers={"X-Team": "web"}, name="ci hook",
    )
    ids["get_hook"] = db.webhook(ids["web"], "https://hooks.example.test/get", method=GET)
    ids["form_hook"] = db.webhook(ids["shared"], "https://hooks.example.test/form", content=FORM)
    db.insert("stars", user_id=ids["bob"], repository_id=app)
    return ids


def db_rows(db: PortusDatabase, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with db._conn.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def portus() -> Iterator[Portus]:
    url, drop = mariadb_database("portus_source")
    with portus_database(url) as db:
        yield Portus(url, db, fill(db))
    drop()


def make_services(store: Store) -> Services:
    return Services(store, PasswordHasher(cost=MIN_COST), RevocationView(), Rules(), allow_private_webhooks=False)


async def run_import(services: Services, url: str, *, dry_run: bool = False) -> ImportReport:
    return await import_portus(services, plan_import(await read_portus(url)), dry_run=dry_run)


async def snapshot(store: Store) -> dict[str, Any]:
    tables = ("users", "teams", "team_members", "namespaces", "app_tokens", "webhooks", "repositories", "tags", "manifests",
              "events", "imported_rows")
    return {t: await store.fetch_all(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}


@dataclass
class Imported:
    """One store (SQLite, then MariaDB) after: a dry run, the import, and the same import again."""

    url: str
    dry: ImportReport
    first: ImportReport
    second: ImportReport
    snapshots: list[dict[str, Any]]  # empty, after the dry run, after the import, after the second


async def _import_three_times(store_url: str, portus_url: str) -> Imported:
    store = await open_store(store_url)
    try:
        await store.migrate()
        services = make_services(store)
        shots = [await snapshot(store)]
        dry = await run_import(services, portus_url, dry_run=True)
        shots.append(await snapshot(store))
        first = await run_import(services, portus_url)
        shots.append(await snapshot(store))
        second = await run_import(services, portus_url)
        shots.append(await snapshot(store))
        return Imported(store_url, dry, first, second, shots)
    finally:
        await store.close()


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def imported(request: pytest.FixtureRequest, portus: Portus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    """The import made once per store kind for the tests that only read what it wrote."""
    if request.param == "sqlite":
        yield asyncio.run(_import_three_times(f"sqlite:///{tmp_path_factory.mktemp('import') / 'store.db'}", portus.url))
        return
    url, drop = mariadb_database("portus_target")
    try:
        yield asyncio.run(_import_three_times(url, portus.url))
    finally:
        drop()


@pytest.fixture
async def services(imported: Imported) -> AsyncIterator[Services]:
    store = await open_store(imported.url)
    yield make_services(store)
    await store.close()


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Services]:
    """An empty SQLite store of its own, for a test that writes."""
    store = await open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    await store.migrate()
    yield make_services(store)
    await store.close()


async def test_users_keep_flags_and_portus_hashes_and_ldap_oauth_bots_get_no_password(imported: Imported, services: Services) -> None:
    report = imported.first
    store = services.store
    users = {u.name: u for u in await store.list_users()}
    assert set(users) == {"portusadmin", "alice", "bob", "victor", "carol", "gina", "cibot", "dave"}
    assert users["portusadmin"].admin and users["portusadmin"].password_hash.startswith("$2a$10$")
    assert users["alice"].password_hash.startswith("$2a$04$") and not users["alice"].admin
    assert users["dave"].disabled and not users["alice"].disabled
    for name in ("carol", "gina", "cibot"):
        assert users[name].password_hash == NO_PASSWORD, name
    assert await store.imported_detail("portus", "user", "carol") == '{"how":"ldap","email":"carol@example.test"}'
    assert users["carol"].source == "ldap", "Portus's LDAP users sign in through the directory"
    assert (users["carol"].email, users["alice"].email) == ("carol@example.test", "alice@example.test")
    assert users["gina"].source == users["alice"].source == "local"
    assert await store.imported_detail("portus", "user", "gina") == '{"how":"oauth:github","email":"gina@example.test"}'
    assert report.count("user").imported == 8
    assert any("stars" in note for note in report.notes)
    assert any("GATEWAY_NAMESPACES_GLOBAL_VISIBILITY=public" in note for note in report.notes)


async def test_teams_roles_namespaces_and_visibility(services: Services) -> None:
    store = services.store
    # Hidden personal teams and the global team are no teams here; alice's personal team owns a
    # namespace besides her own, so it is one.
    assert [t.name for t in await store.list_teams()] == ["alice", "web"]
    assert {m.username: m.role for m in await store.list_members("web")} == {
        "alice": "owner", "bob": "contributor", "victor": "viewer", "carol": "viewer",
    }
    assert {m.username: m.role for m in await store.list_members("alice")} == {"alice": "owner"}
    namespaces = {n.name: (n.team, n.visibility) for n in await store.list_namespaces()}
    assert namespaces["web"] == ("web", "private")
    assert namespaces["shared"] == ("web", "protected")
    assert namespaces["open"] == ("web", "public")
    assert namespaces["alice-tools"] == ("alice", "private")
    assert namespaces["alice"] == (None, "protected")  # her personal namespace, with its visibility
    assert not any(name.startswith("portus_global") for name in namespaces)


async def test_tokens_are_marked_imported_with_every_right_of_their_user(imported: Imported, services: Services) -> None:
    report = imported.first
    tokens = await services.store.list_app_tokens("alice")
    assert [(t.name, t.origin, t.namespaces, t.actions, t.expires_at) for t in tokens] == [
        ("ci", "portus", (), ("pull", "push", "delete"), None),
    ]
    assert tokens[0].legacy_hash is not None and tokens[0].legacy_hash.startswith("$2a$")
    assert [t.name for t in await services.store.list_app_tokens("bob")] == ["my-laptop"]
    assert any("'my laptop'" in note and "'my-laptop'" in note for note in report.notes)


async def test_webhooks_keep_credentials_and_headers_and_the_others_come_disabled(
    portus: Portus, imported: Imported, services: Services
) -> None:
    report = imported.first
    hooks = {h.name: h for h in await services.store.list_webhooks()}
    posting = hooks[f"portus-{portus.ids['hook']}-ci-hook"]
    assert posting.url == "https://hookuser:hook-pass@hooks.example.test/portus"
    assert posting.headers == {"X-Team": "web"}
    assert posting.repository_pattern == "web/*" and posting.actions == ("push", "delete")
    assert posting.source == "import" and posting.disabled_reason is None and len(posting.secret) >= 32
    get_hook = hooks[f"portus-{portus.ids['get_hook']}-web"]
    form_hook = hooks[f"portus-{portus.ids['form_hook']}-shared"]
    assert get_hook.disabled_reason is not None and "GET" in get_hook.disabled_reason
    assert form_hook.disabled_reason is not None and "form-encoded" in form_hook.disabled_reason
    assert sum("imported disabled" in note for note in report.notes) == 2
    # A new webhook starts after the imported history: the old pushes are no news to deliver.
    assert posting.cursor_seq == await services.store.max_event_seq()


async def test_tags_go_into_the_index_and_activities_into_the_audit_log_with_their_times(
    imported: Imported, services: Services
) -> None:
    report = imported.first
    store = services.store
    tags = {t.tag: t for t in await store.list_tags("web/app")}
    assert set(tags) == {"v1", "latest"}  # "old" was marked for deletion
    assert tags["v1"].digest == DIGEST_V1 and tags["v1"].image_size == 1234
    assert tags["latest"].pushed_at == epoch(when(3))
    repository = await store.get_repository("web/app")
    assert repository is not None and repository.last_pull_at == epoch(when(2))
    assert (tags["v1"].last_pull_at, tags["latest"].last_pull_at) == (epoch(when(2)), None)  # as Portus had them
    assert [t.tag for t in await store.list_tags("busybox")] == ["1"]
    assert any("marked for deletion" in line for line in report.skipped)

    pushes = (await list_events(services, ROOT, EventQuery(repository="web/app", action="push"))).items
    pushed = {(e.body["target"]["tag"], e.body["actor"]["name"]) for e in pushes}
    # v1 from its push activity (alice), latest from the tag row (bob pushed it, no activity names it).
    assert pushed == {("v1", "alice"), ("latest", "bob")}
    v1 = next(e for e in pushes if e.body["target"]["tag"] == "v1")
    assert v1.body["timestamp"] == "2020-05-22T12:00:00.000000Z"
    [stored] = await store.fetch_all("SELECT created_at FROM events WHERE id = :id", {"id": v1.body["id"]})
    assert stored["created_at"] == epoch(when(10)) * 1000
    assert v1.body["portus"]["key"] == "repository.push"
    other = (await list_events(services, ROOT, EventQuery(action="portus"))).items
    assert {e.body["portus"]["key"] for e in other} == {"team.add_member", "namespace.change_visibility"}
    member = next(e for e in other if e.body["portus"]["key"] == "team.add_member")
    assert member.body["actor"]["name"] == "alice" and member.body["portus"]["recipient"]["name"] == "bob"


def epoch(moment: datetime.datetime) -> int:
    """Portus's DATETIMEs are UTC."""
    return calendar.timegm(moment.timetuple())


async def test_portus_password_logs_in_then_is_rehashed_and_tokens_work_as_passwords(portus: Portus, fresh: Services) -> None:
    services = fresh
    await run_import(services, portus.url)
    store = services.store
    authenticator = Authenticator(store, services.hasher, CredentialCache(), LoginThrottle(50, 60))
    assert await authenticator.login("alice", "wrong-password", "127.0.0.1") is None
    identity = await authenticator.login("alice", portus.db.passwords["alice"], "127.0.0.1")
    assert identity is not None and identity.name == "alice" and identity.limits is None
    await authenticator.close()  # the rehash runs after the answer; wait for it
    user = await store.get_user("alice")
    assert user is not None and user.password_hash.startswith("scrypt$")
    fresh = Authenticator(store, services.hasher, CredentialCache(), LoginThrottle(50, 60))
    assert await fresh.login("alice", portus.db.passwords["alice"], "127.0.0.1") is not None

    secret = portus.db.tokens[("cibot", "deploy")]
    by_token = await fresh.login("cibot", secret, "127.0.0.1")
    assert by_token is not None and by_token.limits is not None and by_token.limits.name == "deploy"
    assert by_token.limits.namespaces == frozenset() and by_token.limits.actions == {"pull", "push", "delete"}
    [token] = await store.list_app_tokens("cibot")
    assert token.legacy_hash is None and len(token.secret_hash) == 64  # settled: no bcrypt from now on
    again = Authenticator(store, services.hasher, CredentialCache(), LoginThrottle(50, 60))
    assert await again.login("cibot", secret, "127.0.0.1") is not None
    assert await again.login("alice", secret, "127.0.0.1") is None, "a token is its own user's only"
    assert await again.login("cibot", "bot-password-never-used", "127.0.0.1") is None, "bots log in with tokens only"
    assert await again.login("carol", "", "127.0.0.1") is None
    assert await again.login("dave", portus.db.passwords["dave"], "127.0.0.1") is None  # disabled in Portus


def test_a_second_import_changes_nothing_and_says_so(imported: Imported) -> None:
    assert imported.first.changed and not imported.second.changed
    assert all(c.imported == 0 and c.conflicts == 0 for c in imported.second.counts.values())
    assert imported.second.count("user").unchanged == 8
    assert imported.second.count("event").unchanged == imported.first.count("event").imported == 5
    assert imported.snapshots[3] == imported.snapshots[2]


def test_a_dry_run_writes_nothing_and_reports_what_a_run_would(imported: Imported) -> None:
    assert imported.dry.dry_run and imported.dry.count("user").imported == 8 and imported.dry.count("tag").imported == 3
    assert imported.snapshots[1] == imported.snapshots[0]
    assert imported.snapshots[0]["users"] == [] and imported.snapshots[2]["users"] != []
    assert {k: vars(c) for k, c in imported.first.counts.items()} == {k: vars(c) for k, c in imported.dry.counts.items()}


async def test_conflicts_with_gateway_data_are_reported_and_never_overwritten(portus: Portus, fresh: Services) -> None:
    services, store = fresh, fresh.store
    await store.create_user("bob", "scrypt$gateway-own-hash")
    await store.create_team("web")
    await store.add_webhook(Webhook("ours", "https://hooks.example.test/ours", "our-secret-1", {}, (), "", "api", 0), 0)
    report = await run_import(services, portus.url)
    ours = await store.get_webhook("ours")
    assert ours is not None and ours.cursor_seq == await store.max_event_seq() > 0, "the imported history is not news to it"
    assert report.webhooks_moved == 1
    bob = await store.get_user("bob")
    assert bob is not None and bob.password_hash == "scrypt$gateway-own-hash"
    assert await store.list_members("web") == []  # the gateway's own team: Portus's members are not merged in
    assert await store.get_namespace("web") is None  # its namespaces stay out with it
    assert await store.list_app_tokens("bob") == []
    assert report.count("user").conflicts == 1 and report.count("team").conflicts == 1
    assert any(line.startswith("user 'bob'") for line in report.conflicts)
    assert any("'web'" in line and "team is not imported" in line for line in report.skipped)
    assert (await store.get_user("alice")) is not None  # the rest goes ahead


async def test_corrupt_rows_are_named_and_nothing_is_imported(fresh: Services) -> None:
    services = fresh
    url, drop = mariadb_database("portus_corrupt")
    try:
        with portus_database(url) as db:
            alice = db.user("alice", "alice-Portus-pw1")
            team = db.team("ops", {alice: OWNER})
            bad_role = db.insert("team_users", user_id=alice, team_id=team, role=7)
            orphan = db.namespace("orphan", 999)
            with pytest.raises(ImportRefused) as refused:
                await run_import(services, url)
        assert refused.value.problems == [
            f"team_users #{bad_role}: role 7 is none of 0 (viewer), 1 (contributor), 2 (owner)",
            f"namespaces #{orphan}: team #999 does not exist",
        ]
        assert await services.store.list_users() == []
    finally:
        drop()


async def test_a_failure_part_way_rolls_back_every_write(portus: Portus, fresh: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    services, store = fresh, fresh.store
    plan = plan_import(await read_portus(portus.url))

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(store, "import_tags", broken)
    with pytest.raises(RuntimeError):
        await import_portus(services, plan, dry_run=False)
    assert await store.list_users() == [] and await store.list_teams() == []
    assert await store.imported_targets("portus", "user") == {}


async def test_a_database_that_is_not_portus_is_refused_in_one_line() -> None:
    url, drop = mariadb_database("portus_empty")
    try:
        with pytest.raises(PortusSourceError, match="not a Portus database: it has no table 'users'"):
            await read_portus(url)
    finally:
        drop()


async def test_the_gateway_refuses_to_put_its_tables_into_portuss_database(portus: Portus) -> None:
    store = await open_store(portus.url)
    try:
        with pytest.raises(StoreUnavailable, match="holds another application's tables"):
            await store.migrate()
    finally:
        await store.close()
