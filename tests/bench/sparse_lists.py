"""The lists of a visitor who may see little of a big store: `python -m tests.bench.sparse_lists`.

The big-store bench (bigstore.py) makes 40 % of the team namespaces public, so its visitors see
a good share of every list. A deployment imported from Portus is often the other way round:
namespaces private by default, each user in a few teams. Then a list keyed by name reads every
row hidden from the visitor before it finds their few, unless it reads their namespaces alone
(gateway/services/reach.py). This fills a store with `--repositories` repositories in
`--namespaces` private namespaces of equal size, one of them public, and `--global` repositories
of the global namespace (protected, as by default: signed-in users see them) spread among the
names, and times three lists' services in process, as the gateway runs them: the catalog's
(`list_repositories`, which `/v2/_catalog` and `/api/v1/repositories` call), the namespaces' and
repository search. The store's change watch polls, so namespace lookups are kept between requests
as they are there. For each visitor (an admin, a signed-in user in no team, one in three teams
whose namespaces are private, nobody signed in), `--samples` pages of 100 from random cursors:
p50 and p95 in ms and the statements a page ran, both stores side by side."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway.auth.credentials import MIN_COST, PasswordHasher
from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity, Rules
from gateway.auth.revocation import RevocationView
from gateway.services.context import Services
from gateway.services.namespaces import list_namespaces
from gateway.services.repositories import list_repositories, search_repositories
from gateway.store import Store, open_store
from gateway.store.change_watch import ChangeWatch, watching
from tests.bench.common import say
from tests.bench.databases import STORE_NAMES, MariaDB, parse_stores
from tests.support.stores import counted

ROWS_A_STATEMENT = 500
VISITORS = {
    "admin": Identity("root", admin=True), "user in no team": Identity("someone"),
    "user in three teams": Identity("member"), "anonymous": Identity(""),
}
TEAM_NAMESPACES = (1, 4001, 8001)  # of the namespaces' indexes, each owned by a team `member` is in


def _namespace(index: int) -> str:
    return f"team-{index:05d}"


def global_names(count: int) -> list[str]:
    """Names of the global namespace, spread over the alphabet."""
    return [f"{chr(ord('a') + i % 26)}-app-{i:06d}" for i in range(count)]


async def fill(store: Store, repositories: int, namespaces: int, public: int, global_count: int) -> None:
    """Private namespaces but `public`, and the repositories dealt round them (so each
    namespace's names are spread over the whole catalog's order only by their prefix); the
    global namespace's repositories; three namespaces owned by teams that `member` is in."""
    rows = [(_namespace(i), "public" if i == public else "private") for i in range(namespaces)]
    for start in range(0, len(rows), ROWS_A_STATEMENT):
        part = rows[start:start + ROWS_A_STATEMENT]
        params = {f"n{i}": name for i, (name, _) in enumerate(part)} | {f"v{i}": v for i, (_, v) in enumerate(part)}
        values = ", ".join(f"(:n{i}, NULL, :v{i}, 0)" for i in range(len(part)))
        await store.execute(f"INSERT INTO namespaces (name, team, visibility, created_at) VALUES {values}", params)
    names = [f"{_namespace(i % namespaces)}/app-{i:07d}" for i in range(repositories)] + global_names(global_count)
    for start in range(0, len(names), ROWS_A_STATEMENT):
        part = names[start:start + ROWS_A_STATEMENT]
        params = {f"n{i}": name for i, name in enumerate(part)}
        values = ", ".join(f"(:n{i}, 0)" for i in range(len(part)))
        await store.execute(f"INSERT INTO repositories (name, created_at) VALUES {values}", params)
    await store.create_user("member", "x")
    for index in TEAM_NAMESPACES:
        team = _namespace(index % namespaces)
        await store.create_team(team)
        await store.set_member(team, "member", "viewer")
        await store.execute("UPDATE namespaces SET team = :team WHERE name = :team", {"team": team})


@asynccontextmanager
async def opened(kind: str, workdir: Path, mariadb: MariaDB) -> AsyncIterator[Store]:
    url = f"sqlite:///{workdir / 'sparse.db'}" if kind == "sqlite" else mariadb.create("sparse")
    store = await open_store(url)
    try:
        await store.migrate()
        following = watching(ChangeWatch(store))
        await anext(following)
        try:
            yield store
        finally:
            await following.aclose()
    finally:
        await store.close()


def _p(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _lists(services: Services, repository_names: list[str], namespace_names: list[str]) -> dict[str, List]:
    """What each list pages, from a cursor: the catalog and `/api/v1/repositories`, the
    namespaces, and a repository search for `ap` (two characters: no trigram index, as the store is filled
    straight through SQL), which every name matches."""

    async def catalog(identity: Identity, after: str) -> object:
        return await list_repositories(services, identity, after, 100)

    async def namespaces(identity: Identity, after: str) -> object:
        return await list_namespaces(services, Actor.of(identity), after, 100)

    async def search(identity: Identity, after: str) -> object:
        return await search_repositories(services, identity, "ap", after, 100)

    return {
        "catalog": List(catalog, repository_names), "namespaces": List(namespaces, namespace_names),
        "search": List(search, repository_names),
    }


@dataclass(frozen=True)
class List:
    page: Callable[[Identity, str], Awaitable[object]]
    cursors: list[str]


Figures = dict[tuple[str, str], tuple[float, float, float]]


async def measure(store: Store, repository_names: list[str], namespace_names: list[str], samples: int) -> Figures:
    """Per list and visitor: p50 ms, p95 ms, median statements of a page from a random cursor."""
    services = Services(store, PasswordHasher(cost=MIN_COST), RevocationView(), Rules(), allow_private_webhooks=False)
    cursors = random.Random(7)
    figures: Figures = {}
    for name, listed in _lists(services, repository_names, namespace_names).items():
        for label, identity in VISITORS.items():
            await listed.page(identity, "")  # the lookups kept, as in a running gateway
            times: list[float] = []
            statements: list[float] = []
            for _ in range(samples):
                after = cursors.choice(listed.cursors)
                with counted(store) as seen:
                    began = time.perf_counter()
                    await listed.page(identity, after)
                    times.append((time.perf_counter() - began) * 1000)
                statements.append(len(seen))
            figure = figures[name, label] = (_p(times, 0.5), _p(times, 0.95), _p(statements, 0.5))
            say(f"  {name}, {label}: p50 {figure[0]:.1f} ms, p95 {figure[1]:.1f} ms, {figure[2]:.0f} statements")
    return figures


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.sparse_lists", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repositories", type=int, default=100_000)
    parser.add_argument("--namespaces", type=int, default=12_000)
    parser.add_argument("--global", dest="global_count", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--stores", default="sqlite,mariadb", help="comma-separated (default %(default)s)")
    parser.add_argument("--mariadb-url", default=None)
    args = parser.parse_args(argv)
    stores = parse_stores(args.stores)
    mariadb = MariaDB.at(args.mariadb_url)
    if "mariadb" in stores:
        mariadb.check()
    names = [f"{_namespace(i % args.namespaces)}/app-{i:07d}" for i in range(args.repositories)]
    names += global_names(args.global_count)
    namespace_names = [_namespace(i) for i in range(args.namespaces)]
    results: dict[str, Figures] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="portus-sparse-") as tmp:
            for kind in stores:
                async with opened(kind, Path(tmp), mariadb) as store:
                    say(f"[{kind}] filling {args.repositories:,} repositories in {args.namespaces:,} namespaces")
                    await fill(store, args.repositories, args.namespaces, args.namespaces // 2, args.global_count)
                    results[kind] = await measure(store, names, namespace_names, args.samples)
    finally:
        mariadb.drop_all()
    print(f"\n{args.repositories:,} repositories in {args.namespaces:,} namespaces, one public, and "
          f"{args.global_count:,} in the global namespace; pages of 100 "
          f"from {args.samples} random cursors (p50 / p95 ms, statements a page)\n")
    print("| list | visitor | " + " | ".join(STORE_NAMES[k] for k in stores) + " |")
    print("|---|---|" + "---|" * len(stores))
    for name, label in results[stores[0]]:
        cells = [f"{results[k][name, label][0]:.1f} / {results[k][name, label][1]:.1f} ms, {results[k][name, label][2]:.0f}" for k in stores]
        print(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
