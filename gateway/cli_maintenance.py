"""The command line's maintenance runs: `gc [--dry-run]` (and `retention ...`).

The run happens in this process, against the same store as the gateways, so its write window
holds for every instance reading that store. Progress goes to stderr: a bar on a terminal, a
log line per phase (and every few seconds) otherwise; the report is the last line on stdout.
"""

from __future__ import annotations

import sys
from typing import TextIO

from gateway.auth.permissions import OPERATOR
from gateway.config import Settings
from gateway.ops.maintenance import log_progress
from gateway.services import gc
from gateway.services.context import Services

_BAR = 30


def terminal_bar(stream: TextIO) -> gc.Reporter:
    """A one-line bar redrawn in place: the fraction when known, else the phase and what it does."""

    def report(phase: str, text: str, fraction: float | None) -> None:
        filled = round((fraction or 0.0) * _BAR)
        bar = f"[{'#' * filled}{'-' * (_BAR - filled)}] {round((fraction or 0.0) * 100):3d}%" if fraction is not None else ""
        stream.write(f"\r\033[K{bar} {phase}: {text}"[:200])
        stream.flush()

    return report


async def run_gc(settings: Settings, services: Services, dry_run: bool) -> None:
    run = await gc.begin_gc(services, OPERATOR, gc.GcConfig.of(settings), dry_run=dry_run)
    on_terminal = sys.stderr.isatty()
    try:
        report = await run.complete(terminal_bar(sys.stderr) if on_terminal else log_progress("garbage collection"))
    finally:
        if on_terminal:
            sys.stderr.write("\n")
    print(report.text())
