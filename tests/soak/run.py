"""One soak run: start the stack, drive the load while the faults happen, judge, stop."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.soak.checks import Outcome, judge
from tests.soak.faults import inject
from tests.soak.load import Load
from tests.soak.records import Journal
from tests.soak.stack import Stack


def say(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def soak(seconds: float, *, workdir: Path | None = None, keep: bool = False, webhook_timeout: float = 60.0) -> Outcome:
    """Load for `seconds` with the three faults inside it, then the checks."""
    root = workdir or Path(tempfile.mkdtemp(prefix="portus-soak-"))
    stack = Stack(root)
    journal = Journal()
    say(f"work directory {root}: starting MariaDB, registry, receiver, gateways a and b")
    try:
        await stack.start()
        began = time.time()
        load = Load(stack, journal, root / "load", until=began + seconds)
        say(f"load for {seconds:.0f} s; faults at 15 %, 40 % and 65 % of it")
        await asyncio.wait_for(asyncio.gather(load.run(), inject(stack, journal, began, seconds)), seconds + 180)
        run_end = time.time()
        say("load over; checking")
        return await judge(stack, journal, run_end, webhook_timeout)
    finally:
        await stack.stop()
        if keep or workdir is not None:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
