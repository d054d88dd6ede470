"""The query plans of what the big-store requests run: the same service and store calls, made
in this process on the same store with every statement recorded, then each distinct statement
explained (SQLite `EXPLAIN QUERY PLAN`, MariaDB `EXPLAIN`) with the parameters it ran with."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from gateway.auth.credentials import PasswordHasher
from gateway.auth.namespaces import PullFilter
from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity, Rules
from gateway.auth.revocation import RevocationView
from gateway.services import events, namespaces, repositories, teams
from gateway.services.context import Services
from gateway.services.events import EventQuery
from gateway.store import Store
from tests.bench import bigdata
from tests.bench.bigfill import ADMIN, USER, Filled

Recorded = dict[str, dict[str, Any]]
_IN_LIST = re.compile(r"\((:[a-z]+0)(?:, :[a-z]+\d+)+\)")  # (:n0, :n1, ...): shown as its first
T = TypeVar("T")


def _recording(store: Store, seen: Recorded) -> Callable[[], None]:
    """Record every statement the store runs (with its first parameters); returns the undo."""
    originals = {name: getattr(store, name) for name in ("fetch_all", "execute")}

    def recorder(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def run(sql: str, params: Mapping[str, Any] | None = None) -> Any:
            seen.setdefault(sql, dict(params or {}))
            return await original(sql, params)

        return run

    for name, original in originals.items():
        setattr(store, name, recorder(original))  # an instance attribute, for this run only
    return lambda: [delattr(store, name) for name in originals] and None


async def recorded(store: Store, call: Callable[[], Awaitable[T]]) -> tuple[T, Recorded]:
    """What `call()` returns, and the statements it ran."""
    seen: Recorded = {}
    undo = _recording(store, seen)
    try:
        return await call(), seen
    finally:
        undo()


async def _catalog(store: Store, identity: Identity, rules: Rules, last: str) -> None:
    """What gateway/registry/catalog.py runs for one page."""
    check = PullFilter(store, identity, rules)
    for row in await store.list_repositories(after=last, limit=100):
        await check.allows(row.name)


def _calls(store: Store, filled: Filled) -> dict[str, Callable[[], Awaitable[Any]]]:
    rules = Rules()
    services = Services(store, PasswordHasher(), RevocationView(), rules)
    admin, user = Identity(ADMIN, admin=True), Identity(USER)
    middle = filled.repositories[len(filled.repositories) // 2]
    big = filled.big_repository
    day = filled.end_ms - 60 * bigdata.DAY_MS
    return {
        "catalog": lambda: _catalog(store, user, rules, middle),
        "tags": lambda: store.list_tags(big, "v0.5", 101),
        "repositories": lambda: repositories.list_repositories(services, user, middle, 100),
        "events": lambda: events.list_events(services, user, EventQuery()),
        "events repository+action": lambda: events.list_events(services, admin, EventQuery(repository=big, action="push")),
        "events action": lambda: events.list_events(services, admin, EventQuery(action="delete")),
        "events actor": lambda: events.list_events(services, admin, EventQuery(actor=bigdata.user_name(7))),
        "events since": lambda: events.list_events(services, admin, EventQuery(since_ms=filled.end_ms - 7 * bigdata.DAY_MS)),
        "events window": lambda: events.list_events(
            services, admin, EventQuery(since_ms=day, until_ms=day + bigdata.DAY_MS),
        ),
        "ui namespaces": lambda: namespaces.list_namespaces(services, Actor.of(user), "team00001", 50),
        "ui repositories": lambda: repositories.list_namespace_repositories(services, user, "team00000", "", 50),
        "ui tags": lambda: repositories.tag_page(services, user, big, "", 50),
        "ui tag pushers": lambda: repositories.tag_pushers(services, user, big),
        "max seq": store.max_event_seq,
        "ui tokens": lambda: store.list_app_tokens(USER, "ci-token-0060", 51),
        "ui teams": lambda: teams.list_teams(services, Actor.of(user), "", 50),
        "ui team members": lambda: store.list_members(bigdata.team_name(0), "", 51),
        "ui users": lambda: store.list_users(bigdata.user_name(500 % filled.shape.users), 51),
        "ui search": lambda: repositories.search_repositories(services, user, "app-0001", "", 50),
        "ui webhook failures": lambda: store.webhook_failures(bigdata.webhook_name(0), None, 51, 1 + 37 * 100),
        "ui webhook deliveries": lambda: store.webhook_deliveries(bigdata.webhook_name(1)),
        "api tombstones": lambda: store.list_tombstones("", 101),
        "api retention policies": lambda: store.retention_policies(bigdata.team_name(0)),
    }


async def plans(store: Store, filled: Filled, extra: Mapping[str, Recorded]) -> list[tuple[str, str, list[str]]]:
    """(request kind, statement, plan lines) for every distinct statement the requests run, and
    for those of `extra` (recorded elsewhere: retention)."""
    runs: dict[str, Recorded] = {}
    for kind, call in _calls(store, filled).items():
        runs[kind] = (await recorded(store, call))[1]
    runs.update(extra)
    out: list[tuple[str, str, list[str]]] = []
    done: set[str] = set()
    for kind, seen in runs.items():
        for sql, params in seen.items():
            if sql in done:
                continue
            done.add(sql)
            out.append((kind, _IN_LIST.sub(r"(\1, ...)", " ".join(sql.split())), await explain(store, sql, params)))
    return out


async def explain(store: Store, sql: str, params: Mapping[str, Any]) -> list[str]:
    if store.dialect == "sqlite":
        rows = await store.fetch_all("EXPLAIN QUERY PLAN " + sql, params)
        return [str(r["detail"]) for r in rows]
    rows = await store.fetch_all("EXPLAIN " + sql, params)
    return [
        f"{r['table']}: type={r['type']} key={r['key']} rows={r['rows']} {r['Extra'] or ''}".strip() for r in rows
    ]
