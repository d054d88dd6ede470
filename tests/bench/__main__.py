"""`python -m tests.bench [--quick] [--out bench-results.json] [--only manifests,tokens,blobs,images]`

Starts registry 2.8 (three times over one storage: plain on a loopback port, the gateway's upstream
on a Unix socket, and with token auth) and the gateway on free loopback ports in a temporary
directory, measures each figure side by side, prints a Markdown
table on stdout (progress on stderr) and writes JSON to --out. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path

import aiohttp

from tests.bench import blobs, images, manifests, report, tokens
from tests.bench.common import Bench, Plan, say
from tests.bench.stack import Stack, missing_tools

GROUPS = {"manifests": manifests.run_all, "tokens": tokens.run_all, "blobs": blobs.run_all, "images": images.run_all}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="smaller blobs and images, shorter runs, one repeat")
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"), help="JSON results (default %(default)s)")
    parser.add_argument("--only", default=",".join(GROUPS), help="comma-separated groups: %(default)s")
    parser.add_argument("--repeats", type=int, default=None, help="runs per side per figure (default 3, quick 1)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per load run (default 5, quick 3)")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes (serve --workers)")
    parser.add_argument("--tcp-upstream", action="store_true",
                        help="the gateway reaches its registry over TCP, not the Unix socket scripts/run uses")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, storage)")
    parser.add_argument("--render", type=Path, default=None, help="only print the table of a saved JSON result")
    return parser


async def _run(args: argparse.Namespace, argv: list[str]) -> int:
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        say(f"unknown groups: {', '.join(unknown)} (known: {', '.join(GROUPS)})")
        return 2
    missing = missing_tools()
    if missing:
        say(f"missing tools: {', '.join(missing)} (apt-get install -y docker-registry skopeo wrk hey curl)")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="portus-bench-"))
    plan = Plan.of(args.quick, args.repeats, args.seconds)
    stack = Stack(workdir, workers=args.workers, with_hooked="manifests" in groups, upstream_socket=not args.tcp_upstream)
    upstream = "TCP" if args.tcp_upstream else "a Unix socket"
    say(f"work directory {workdir}; starting registry, Portus-style registry and gateway ({args.workers} worker(s), upstream over {upstream})")
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
    try:
        await stack.start()
        async with aiohttp.ClientSession(timeout=timeout) as session:
            bench = Bench(stack, plan, session, workdir)
            for group in groups:
                await GROUPS[group](bench)
    finally:
        await stack.stop()
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    doc = report.document(bench, argv)
    print(report.header(doc))
    print(report.markdown(bench.rows))
    report.write_json(args.out, doc)
    say(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.render is not None:
        doc = json.loads(args.render.read_text())
        print(report.header(doc))
        print(report.markdown([report.row_of(r) for r in doc["rows"]]))
        return 0
    return asyncio.run(_run(args, argv))


if __name__ == "__main__":
    sys.exit(main())
