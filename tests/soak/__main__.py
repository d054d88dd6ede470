"""`python -m tests.soak --minutes N [--keep]`

Starts its own MariaDB (mariadbd on a temporary data directory), registry 2.8, two gateway
instances on that database and a webhook receiver, all on free loopback ports; drives skopeo
pushes and pulls, token bursts and API writes over both instances for N minutes while it kills
one instance with -9 and restarts it, restarts MariaDB and restarts the registry; then checks
the results and prints the tables. Exit status 1 when a check fails; the full run enforces the
5 s recovery target too.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.soak.report import render
from tests.soak.run import soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split("\n\n")[1])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the load (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    parser.add_argument("--workdir", type=Path, default=None, help="work directory (kept; default a fresh temporary one)")
    parser.add_argument("--no-timing", action="store_true", help="report the recovery times without enforcing the target")
    args = parser.parse_args(argv)
    if not 0.1 <= args.minutes <= 24 * 60:
        parser.error("--minutes must be between 0.1 and 1440")
    outcome = asyncio.run(soak(args.minutes * 60, workdir=args.workdir, keep=args.keep))
    enforce = not args.no_timing
    print(render(outcome, args.minutes, enforce))
    return 1 if outcome.failed(timing=enforce) else 0


if __name__ == "__main__":
    sys.exit(main())
