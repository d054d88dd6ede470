"""`python -m tests.bench [--quick] [--out bench-results.json] [--only manifests,tokens,blobs,images]
[--store sqlite,mariadb] [--instances 2]`

Starts registry 2.8 (three times over one storage: plain on a loopback port, the gateway's upstream
on a Unix socket, and with token auth) and the gateway on free loopback ports in a temporary
directory, once per store (the embedded SQLite store, and MariaDB databases created for the run and
dropped at its end), measures each figure side by side on each store, prints a Markdown table on
stdout (progress on stderr) and writes JSON to --out. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from tests.bench import blobs, images, instances, manifests, report, targets, tokens
from tests.bench.common import Bench, Plan, Row, say
from tests.bench.databases import STORES, MariaDB, parse_stores
from tests.bench.stack import Stack, missing_tools

GROUPS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "manifests": manifests.run_all, "tokens": tokens.run_all, "blobs": blobs.run_all, "images": images.run_all,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="smaller blobs and images, shorter runs, one repeat")
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"), help="JSON results (default %(default)s)")
    parser.add_argument("--only", default=",".join(GROUPS), help="comma-separated groups: %(default)s")
    parser.add_argument("--store", default=",".join(STORES),
                        help="comma-separated stores, each measured in turn within every group (default %(default)s)")
    parser.add_argument("--mariadb-url", default=None,
                        help="the MariaDB server for --store mariadb, mysql://user[:password]@host:port"
                             " (default mysql://root@127.0.0.1:3306); the run creates its databases and drops them")
    parser.add_argument("--instances", type=int, default=1, choices=(1, 2, 3),
                        help="gateway instances on the MariaDB store (one database, same keys); 2 or 3 adds"
                             " the figures of one instance against all of them")
    parser.add_argument("--repeats", type=int, default=None, help="runs per side per figure (default 3, quick 1)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per load run (default 5, quick 3)")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes (serve --workers)")
    parser.add_argument("--tcp-upstream", action="store_true",
                        help="the gateway reaches its registry over TCP, not the Unix socket scripts/run uses")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, storage)")
    parser.add_argument("--render", type=Path, default=None, help="only print the table of a saved JSON result")
    return parser


def _print_tables(rows: list[Row]) -> None:
    table = targets.summary(rows)
    if table:
        print(table + "\n")
    print(report.markdown(rows))


async def _run(args: argparse.Namespace, argv: list[str]) -> int:
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        say(f"unknown groups: {', '.join(unknown)} (known: {', '.join(GROUPS)})")
        return 2
    try:
        stores = parse_stores(args.store)
        mariadb = MariaDB.at(args.mariadb_url) if "mariadb" in stores else None
    except ValueError as exc:
        say(str(exc))
        return 2
    if args.instances > 1 and mariadb is None:
        say("--instances needs the MariaDB store (--store mariadb or sqlite,mariadb): instances share one database")
        return 2
    missing = missing_tools()
    if missing:
        say(f"missing tools: {', '.join(missing)} (apt-get install -y docker-registry skopeo wrk hey curl)")
        return 2
    if mariadb is not None:
        try:
            mariadb.check()
        except Exception as exc:  # noqa: BLE001 - whatever pymysql raises, said in one line
            say(f"MariaDB does not answer at {mariadb.server.host}:{mariadb.server.port} (--mariadb-url): {exc}")
            return 2
    workdir = Path(tempfile.mkdtemp(prefix="portus-bench-"))
    plan = Plan.of(args.quick, args.repeats, args.seconds)
    upstream = "TCP" if args.tcp_upstream else "a Unix socket"
    started, rows = time.monotonic(), list[Row]()
    stacks = [
        Stack(workdir / store, workers=args.workers, with_hooked="manifests" in groups, upstream_socket=not args.tcp_upstream,
              databases=mariadb.create if store == "mariadb" and mariadb is not None else None,
              instances=args.instances if store == "mariadb" else 1)
        for store in stores
    ]
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
    try:
        for stack in stacks:
            say(f"[{stack.store}] work directory {stack.workdir}; starting registry, Portus-style registry and"
                f" {stack.instances} gateway instance(s) ({args.workers} worker(s) each, upstream over {upstream})")
            stack.workdir.mkdir()
            await stack.start()
        async with aiohttp.ClientSession(timeout=timeout) as session:
            benches = [Bench(stack, plan, session, stack.workdir, rows=rows) for stack in stacks]
            for group in groups:
                for bench in benches:
                    say(f"[{bench.store}] {group}")
                    await GROUPS[group](bench)
            for bench in benches:
                if len(bench.stack.instances_started) > 1:
                    say(f"[{bench.store}] instances")
                    await instances.run_all(bench)
    finally:
        for stack in stacks:
            await stack.stop()
        if mariadb is not None:
            mariadb.drop_all()
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    doc = report.document(rows, plan, args.workers, started, argv)
    print(report.header(doc))
    _print_tables(rows)
    report.write_json(args.out, doc)
    say(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.render is not None:
        doc = json.loads(args.render.read_text())
        print(report.header(doc))
        _print_tables([report.row_of(r) for r in doc["rows"]])
        return 0
    return asyncio.run(_run(args, argv))


if __name__ == "__main__":
    sys.exit(main())
