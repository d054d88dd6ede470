"""`python -m tests.bench.bigstore --store sqlite,mariadb [--scale 0.01]`: a big store stays O(page).

For each store: a fresh database (a temporary SQLite file; a new MariaDB database, dropped at the
end), migrated, filled straight through the driver with 100,000 repositories, 1,000,000 tags and
10,000,000 events at scale 1 (tests/bench/bigdata.py), then a real gateway with a real registry
on it: its start-up (process start to /healthz) and, request by request, p50/p95 of the catalog,
tag lists, the audit log with its filters, the other /api/v1 lists and every web UI page that
lists something (tokens, teams, users, webhooks with their deliveries and failures, settings,
account, health, search), as an admin, as a user who may not see the private namespaces (the pages
they may open) and anonymously (anonymous browsing on); then retention pruning. Prints a Markdown table and the
query plan of every statement those requests run. Progress on stderr; traffic on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import aiohttp

from gateway.auth.policy import Identity
from gateway.auth.sealing import Sealer, read_keys
from gateway.services.event_cursors import EventCursors
from gateway.store import Store, open_store
from gateway.ui.sessions import SESSION_COOKIE, id_hash
from tests.bench import bigdata, bigfill, bigplans
from tests.bench.bigfill import ADMIN, PASSWORD, USER, Filled
from tests.support.processes import Gateway, MariaDBServer, Registry

TARGET_MS = 50.0
TARGET_START_S = 5.0
SAMPLES = 30


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Figure:
    kind: str
    who: str
    times_ms: list[float] = field(default_factory=list)
    failures: int = 0

    def p(self, fraction: float) -> float:
        return bigdata.percentile(self.times_ms, fraction)


@dataclass
class StoreRun:
    store: str
    filled: Filled
    migrate_s: float
    start_s: float
    restart_s: float
    figures: list[Figure]
    prunes: list[tuple[str, float, int]]
    plans: list[tuple[str, str, list[str]]]


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_registry_tags(root: Path, repository: str, names: list[str]) -> None:
    """The tags of `repository` in the registry's own storage, as registry 2.8 lists them (the
    gateway pages tag lists over the registry's answer)."""
    base = root / "docker/registry/v2/repositories" / repository / "_manifests/tags"
    for name in names:
        current = base / name / "current"
        current.mkdir(parents=True, exist_ok=True)
        (current / "link").write_text("sha256:" + "0" * 64)


Request = tuple[str, str, str]  # kind, who ("admin" / "user"), path


def requests_of(
    filled: Filled, rng: random.Random, user_cursor: Callable[[int], str] = str,
) -> Callable[[], list[Request]]:
    """A function giving one round of requests, each with fresh cursors: as the admin and as the
    user (what either may see), as the admin alone (admin pages), and anonymously (the pages
    anonymous browsing opens)."""
    repos, big = filled.repositories, filled.big_repository
    big_tags = sorted(bigdata.tag_name(k) for k in range(max(filled.tag_counts)))
    end = filled.end_ms
    active_actor = bigdata.user_name(3)
    popular = repos[len(repos) // 3]
    shape = filled.shape
    team = bigdata.team_name(0)  # the bench user is a viewer of it
    failing = bigdata.webhook_name(0)

    def one_round() -> list[Request]:
        repo, tag, seq = rng.choice(repos), rng.choice(big_tags), rng.randrange(1, filled.shape.events)
        day = end - rng.randrange(30, 170) * bigdata.DAY_MS
        namespace = repo.split("/")[0]
        user_after = bigdata.user_name(rng.randrange(shape.users))
        team_after = bigdata.team_name(rng.randrange(shape.teams))
        token_after = f"ci-token-{rng.randrange(bigdata.TOKENS_OF_BENCH_USERS):04d}"
        hook = bigdata.webhook_name(rng.randrange(bigdata.WEBHOOKS))
        failure_after = 1 + 37 * rng.randrange(bigdata.FAILURES_PER_WEBHOOK)
        query = f"app-{rng.randrange(shape.repositories):06d}"[:-2]
        out: list[Request] = []
        for who in ("admin", "user"):
            me = ADMIN if who == "admin" else USER
            out += [
                ("/v2/_catalog", who, f"/v2/_catalog?n=100&last={repo}"),
                ("/v2/NAME/tags/list", who, f"/v2/{big}/tags/list?n=100&last={tag}"),
                ("api repositories", who, f"/api/v1/repositories?limit=100&after={repo}"),
                ("api tags", who, f"/api/v1/repositories/{big}/tags?limit=100&after={tag}"),
                # a non-admin pages by a sealed cursor only (gateway/services/event_cursors.py)
                ("api events", who, f"/api/v1/events?limit=100&after={seq if who == 'admin' else user_cursor(seq)}"),
                ("api events repository", who, f"/api/v1/events?repository={popular}"),
                ("api events action=delete", who, "/api/v1/events?action=delete"),
                ("api events actor", who, f"/api/v1/events?actor={active_actor}"),
                ("api events since 7 days", who, f"/api/v1/events?since={_rfc3339(end - 7 * bigdata.DAY_MS)}"),
                (
                    "api events one past day", who,
                    f"/api/v1/events?since={_rfc3339(day)}&until={_rfc3339(day + bigdata.DAY_MS)}",
                ),
                ("api namespaces", who, f"/api/v1/namespaces?limit=100&after={namespace}"),
                ("api teams", who, f"/api/v1/teams?limit=100&after={team_after}"),
                ("api team members", who, f"/api/v1/teams/{team}/members"),
                ("api own tokens", who, f"/api/v1/users/{me}/tokens"),
                ("ui namespaces", who, f"/ui/namespaces?after={namespace}"),
                ("ui namespace repositories", who, f"/ui/namespaces/{team}?after={repo}"),
                ("ui repository tags", who, f"/ui/repositories/{big}?after={tag}"),
                ("ui home", who, "/ui/"),
                ("ui search", who, f"/ui/search?q={query}"),
                ("ui audit", who, "/ui/audit"),
                ("ui audit action=delete", who, "/ui/audit?action=delete"),
                ("ui tokens", who, "/ui/tokens"),
                ("ui tokens next page", who, f"/ui/tokens?after={token_after}"),
                ("ui account", who, "/ui/account"),
                ("ui own namespace settings", who, f"/ui/namespaces/{me}/settings"),
                ("ui teams", who, f"/ui/teams?after={team_after}"),
                ("ui team", who, f"/ui/teams/{team}"),
            ]
        out += [
            ("api users", "admin", f"/api/v1/users?limit=100&after={user_after}"),
            ("api webhooks", "admin", "/api/v1/webhooks"),
            ("api webhook failures", "admin", f"/api/v1/webhooks/{failing}/failures?after={failure_after}"),
            ("api webhook deliveries", "admin", f"/api/v1/webhooks/{hook}/deliveries"),
            ("api tombstones", "admin", "/api/v1/tombstones"),
            ("api retention policies", "admin", f"/api/v1/namespaces/{team}/retention"),
            ("ui users", "admin", f"/ui/users?after={user_after}"),
            ("ui webhooks", "admin", "/ui/webhooks"),
            ("ui webhook (deliveries, failures)", "admin", f"/ui/webhooks/{failing}?failures_after={failure_after}"),
            ("ui webhook", "admin", f"/ui/webhooks/{hook}"),
            ("ui namespace settings", "admin", f"/ui/namespaces/{bigdata.user_name(3)}/settings"),
            ("ui health", "admin", "/ui/health"),
            ("ui home", "anonymous", "/ui/"),
            ("ui namespaces", "anonymous", f"/ui/namespaces?after={namespace}"),
            ("ui namespace repositories", "anonymous", f"/ui/namespaces/{team}?after={repo}"),
            ("ui repository tags", "anonymous", f"/ui/repositories/{big}?after={tag}"),
            ("ui search", "anonymous", f"/ui/search?q={query}"),
        ]
        return out

    return one_round


class Client:
    """Requests as the bench admin or the bench user: Basic on /api, a UI session cookie on /ui,
    a Bearer token on /v2 (one per repository scope, fetched once)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, sessions: dict[str, str]) -> None:
        self._http, self._base, self._sessions = http, base, sessions
        self._tokens: dict[tuple[str, str], str] = {}
        self._service = ""

    def _basic(self, who: str) -> str:
        name = ADMIN if who == "admin" else USER
        return "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()

    async def _token(self, who: str, scope: str) -> str:
        if (who, scope) not in self._tokens:
            if not self._service:
                async with self._http.get(self._base + "/v2/") as answer:
                    challenge = answer.headers.get("WWW-Authenticate", "")
                self._service = challenge.split('service="')[1].split('"')[0]
            query = {"service": self._service, "scope": scope}
            async with self._http.get(self._base + "/v2/token", params=query, headers={"Authorization": self._basic(who)}) as answer:
                self._tokens[(who, scope)] = (await answer.json())["token"]
        return self._tokens[(who, scope)]

    async def get(self, who: str, path: str) -> tuple[int, float]:
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        if who == "anonymous":
            pass
        elif path.startswith("/api/"):
            headers["Authorization"] = self._basic(who)
        elif path.startswith("/ui/"):
            cookies[SESSION_COOKIE] = self._sessions[who]
        elif path == "/v2/_catalog" or path.startswith("/v2/_catalog?"):
            headers["Authorization"] = "Bearer " + await self._token(who, "registry:catalog:*")
        else:
            name = path.removeprefix("/v2/").split("/tags/list")[0]
            headers["Authorization"] = "Bearer " + await self._token(who, f"repository:{name}:pull")
        started = time.perf_counter()
        async with self._http.get(self._base + path, headers=headers, cookies=cookies, allow_redirects=False) as answer:
            await answer.read()
        return answer.status, (time.perf_counter() - started) * 1000


async def measure(client: Client, rounds: Callable[[], list[Request]], samples: int) -> list[Figure]:
    figures: dict[tuple[str, str], Figure] = {}
    for _ in range(2):  # warm: credential cache, tokens, the OS's page cache of the hot index pages
        for _kind, who, path in rounds():
            await client.get(who, path)
    for _ in range(samples):
        for kind, who, path in rounds():
            status, ms = await client.get(who, path)
            figure = figures.setdefault((kind, who), Figure(kind, who))
            figure.times_ms.append(ms)
            if status != 200:
                figure.failures += 1
                if figure.failures == 1:
                    say(f"  {kind} as {who}: {path} answered {status}")
    return list(figures.values())


async def _prunes(store: Store, filled: Filled) -> tuple[list[tuple[str, float, int]], dict[str, bigplans.Recorded]]:
    """Retention as the background task runs it (gateway/events/retention.py): the oldest day by
    age, then down to a count, then with nothing to do; each timed, its statements recorded."""
    keep = filled.shape.events - 1_000
    steps = (
        ("prune by age (the oldest day)", filled.end_ms - (filled.shape.days - 1) * bigdata.DAY_MS, None, 0),
        ("prune to a count (1,000 over)", None, keep, 0),
        ("prune with nothing to do (count within 1%)", filled.end_ms - (filled.shape.days + 30) * bigdata.DAY_MS, keep, keep // 100),
    )
    out, statements = [], {}
    for label, older, count, slack in steps:
        started = time.perf_counter()
        removed, seen = await bigplans.recorded(
            store, lambda older=older, count=count, slack=slack: store.prune_events(older, count, slack=slack),
        )
        out.append((label, time.perf_counter() - started, removed))
        statements[label] = seen
    return out, statements


@dataclass
class Database:
    """A fresh database for one store: its URL, how to fill it, how to drop it."""

    url: str
    fill: Callable[[bigdata.Shape], Filled]
    drop: Callable[[], None]


def reused_sqlite(path: Path, shape: bigdata.Shape) -> Database:
    """A SQLite store this bench filled before (`--reuse-sqlite`, at the same scale): its rows
    are made again from the shape, its end from its newest event, and the rows of later pages
    topped up (`bigfill.top_up`). Kept at the end."""

    def filled(_shape: bigdata.Shape) -> Filled:
        started = time.monotonic()
        with sqlite3.connect(path) as connection:
            newest = int(connection.execute("SELECT MAX(created_at) FROM events").fetchone()[0])
            bigfill.top_up(connection, "?", shape, say)
        return Filled(shape, bigdata.repository_names(shape), bigdata.tag_counts(shape), newest + 1, time.monotonic() - started)

    return Database(f"sqlite:///{path}", filled, lambda: None)


def reused_mariadb(name: str, shape: bigdata.Shape) -> Database:
    """A MariaDB database this bench filled before (`--reuse-mariadb`, at the same scale), as
    `reused_sqlite`: rows from the shape, its end from its newest event, later pages' rows topped
    up. Kept at the end."""
    server = MariaDBServer.from_environment()

    def filled(_shape: bigdata.Shape) -> Filled:
        started = time.monotonic()
        connection = server.connect(database=name, autocommit=False)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT MAX(created_at) FROM events")
                newest = int(cursor.fetchone()[0])
            bigfill.top_up(connection, "%s", shape, say)
        finally:
            connection.close()
        return Filled(shape, bigdata.repository_names(shape), bigdata.tag_counts(shape), newest + 1, time.monotonic() - started)

    return Database(server.url(name), filled, lambda: None)


def database(kind: str, workdir: Path) -> Database:
    if kind == "sqlite":
        path = workdir / "sqlite" / "gateway.db"
        path.parent.mkdir(parents=True, mode=0o700)
        return Database(f"sqlite:///{path}", lambda shape: bigfill.fill_sqlite(str(path), shape, say), lambda: None)
    server = MariaDBServer.from_environment()
    name = f"portus_bigstore_{secrets.token_hex(4)}"
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    def drop() -> None:
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def fill(shape: bigdata.Shape) -> Filled:
        return bigfill.fill_mariadb(
            lambda: server.connect(database=name, autocommit=False, local_infile=True), shape, say, workdir,
        )

    return Database(server.url(name), fill, drop)


def _started(gateway: Gateway) -> float:
    started = time.monotonic()
    gateway.start()
    return time.monotonic() - started


def user_cursor(gateway: Gateway) -> Callable[[int], str]:
    """The bench user's cursor of an event, sealed with the key the gateway made at its start."""
    cursors = EventCursors(Sealer(read_keys(gateway.workdir / "data" / "secrets.key")))
    return lambda seq: quote(cursors.seal(Identity(USER), seq), safe="")


async def run_store(
    kind: str, shape: bigdata.Shape, workdir: Path, registry: Registry, samples: int, reuse: str | None = None
) -> StoreRun:
    say(f"{kind}: {'the database ' + reuse if reuse else 'a fresh database'}")
    if reuse is None:
        db = database(kind, workdir)
    else:
        db = reused_sqlite(Path(reuse), shape) if kind == "sqlite" else reused_mariadb(reuse, shape)
    try:
        store = await open_store(db.url)
        started = time.monotonic()
        await store.migrate()
        migrate_s = time.monotonic() - started
        await store.close()
        say(f"{kind}: filling {shape}")
        filled = db.fill(shape)
        say(f"{kind}: filled in {filled.seconds:.0f} s")
        store = await open_store(db.url)
        sessions = {"admin": secrets.token_urlsafe(24), "user": secrets.token_urlsafe(24)}
        await store.create_session(id_hash(sessions["admin"]), ADMIN)
        await store.create_session(id_hash(sessions["user"]), USER)
        await store.close()
        big = filled.big_repository
        write_registry_tags(registry.store, big, [bigdata.tag_name(k) for k in range(max(filled.tag_counts))])
        env = {
            "GATEWAY_DATABASE_URL": db.url,
            # Retention on but with nothing to remove: its queries run at start and every 5 s.
            "GATEWAY_EVENTS_RETENTION_DAYS": str(shape.days + 30),
            "GATEWAY_EVENTS_RETENTION_COUNT": str(shape.events * 2),
            "GATEWAY_UI_ANONYMOUS_BROWSING": "true",
        }
        gateway = Gateway(workdir / f"gateway-{kind}", registry.url, env=env)
        start_s = _started(gateway)  # the first start also makes the keys
        gateway.stop()
        restart_s = _started(gateway)
        say(f"{kind}: gateway up in {start_s:.2f} s (restart {restart_s:.2f} s); measuring")
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
                client = Client(http, gateway.url, sessions)
                figures = await measure(client, requests_of(filled, random.Random(20), user_cursor(gateway)), samples)
        finally:
            gateway.stop()
        store = await open_store(db.url)
        try:
            prunes, prune_statements = await _prunes(store, filled)
            plans = await bigplans.plans(store, filled, prune_statements)
        finally:
            await store.close()
        return StoreRun(kind, filled, migrate_s, start_s, restart_s, figures, prunes, plans)
    finally:
        db.drop()


def markdown(runs: list[StoreRun]) -> str:
    kinds = list(dict.fromkeys((f.kind, f.who) for f in runs[0].figures))
    head = "| request | as | " + " | ".join(f"{r.store} p50 / p95 ms" for r in runs) + " | met |"
    lines = [head, "|---|---|" + "---|" * len(runs) + "---|"]
    for kind, who in kinds:
        cells, met = [], True
        for run in runs:
            figure = next(f for f in run.figures if (f.kind, f.who) == (kind, who))
            failed = f" ({figure.failures} failed)" if figure.failures else ""
            cells.append(f"{figure.p(0.5):.1f} / {figure.p(0.95):.1f}{failed}")
            met = met and figure.p(0.95) <= TARGET_MS and not figure.failures
        lines.append(f"| {kind} | {who} | " + " | ".join(cells) + f" | {'yes' if met else '**no**'} |")
    start_cells = [f"{r.start_s:.2f} s (restart {r.restart_s:.2f} s)" for r in runs]
    start_met = all(max(r.start_s, r.restart_s) <= TARGET_START_S for r in runs)
    lines.append("| start-up (process to /healthz) | - | " + " | ".join(start_cells) + f" | {'yes' if start_met else '**no**'} |")
    for i, (label, _s, _n) in enumerate(runs[0].prunes):
        cells = [f"{r.prunes[i][1] * 1000:.1f} ms ({r.prunes[i][2]:,} removed)" for r in runs]
        lines.append(f"| {label} | - | " + " | ".join(cells) + " | - |")
    return "\n".join(lines)


def plan_text(run: StoreRun) -> str:
    lines = [f"### Query plans, {run.store}", ""]
    for kind, sql, plan in run.plans:
        lines += [f"- **{kind}**: `{sql}`", "", "  ```", *(f"  {p}" for p in plan), "  ```", ""]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bigstore", description=__doc__.split("\n\n")[1])
    parser.add_argument("--store", default="sqlite,mariadb", help="comma-separated: sqlite, mariadb")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (default 1)")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="requests of each kind measured")
    parser.add_argument(
        "--reuse-sqlite", type=Path, metavar="FILE",
        help="measure a SQLite store an earlier run filled at the same --scale (kept) instead of a fresh one",
    )
    parser.add_argument(
        "--reuse-mariadb", metavar="DBNAME",
        help="measure a MariaDB database an earlier run filled at the same --scale (kept) instead of a fresh one",
    )
    return parser


async def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    kinds = [k.strip() for k in args.store.split(",") if k.strip()]
    if not kinds or any(k not in ("sqlite", "mariadb") for k in kinds):
        print("--store takes sqlite, mariadb or both", file=sys.stderr)
        return 2
    shape = bigdata.Shape.at(args.scale)
    workdir = Path(tempfile.mkdtemp(prefix="bigstore-"))
    registry = Registry(workdir / "registry").start()
    runs: list[StoreRun] = []
    try:
        for kind in kinds:
            started = time.monotonic()
            reuse = args.reuse_sqlite if kind == "sqlite" else args.reuse_mariadb
            reuse = None if reuse is None else str(reuse)
            runs.append(await run_store(kind, shape, workdir, registry, args.samples, reuse))
            say(f"{kind}: done in {time.monotonic() - started:.0f} s")
    finally:
        registry.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"Scale {args.scale}: {shape.repositories:,} repositories, {shape.tags:,} tags, {shape.events:,} events,"
          f" {shape.users:,} users, {shape.teams:,} teams; {args.samples} requests of each kind, one at a time.\n")
    print(markdown(runs))
    for run in runs:
        print(f"\n{run.store}: migrated in {run.migrate_s:.2f} s, filled in {run.filled.seconds:.0f} s\n")
        print(plan_text(run))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
