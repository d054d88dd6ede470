"""The command line's maintenance runs: `gc [--dry-run]`, and `retention set | show | run`.

The run happens in this process, against the same store as the gateways, so its write window
holds for every instance reading that store. Progress goes to stderr: a bar on a terminal, a
log line per phase (and every few seconds) otherwise; the report is the last line on stdout.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from gateway.auth.permissions import OPERATOR
from gateway.auth.tokens import rfc3339
from gateway.cli_registry import cli_recorder, registry
from gateway.config import Settings
from gateway.ops.maintenance import log_progress
from gateway.services import gc, retention
from gateway.services.context import Services
from gateway.store import RetentionPolicyRow

_BAR = 30


def terminal_bar(stream: TextIO) -> gc.Reporter:
    """A one-line bar redrawn in place: the fraction when known, else the phase and what it does."""

    def report(phase: str, text: str, fraction: float | None) -> None:
        bar = ""
        if fraction is not None:
            filled = round(fraction * _BAR)
            bar = f"[{'#' * filled}{'-' * (_BAR - filled)}] {round(fraction * 100):3d}% "
        stream.write(f"\r\033[K{bar}{phase}: {text}"[:200])
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


def policy_line(row: RetentionPolicyRow) -> str:
    parts = [f"keep-last={row.keep_last}"]
    parts += [f"keep-pulled-within={row.keep_pulled_days}d"] if row.keep_pulled_days else []
    parts += [f"match={row.keep_matching}"] if row.keep_matching else []
    parts += [f"exclude={row.drop_matching}"] if row.drop_matching else []
    parts += [f"min-age={row.min_age_hours}h"] if row.min_age_hours else []
    where = f"repositories {row.namespace}/{row.repository_pattern}" if row.repository_pattern else f"namespace {row.namespace}"
    return f"{where}: {' '.join(parts)} (set by {row.updated_by} at {rfc3339(row.updated_at)})"


async def set_retention(services: Services, args: argparse.Namespace) -> None:
    spec = retention.PolicySpec(
        args.keep_last, args.repository or "", args.keep_pulled_within, args.match, args.exclude, args.min_age,
    )
    print(policy_line(await retention.set_policy(services, OPERATOR, args.namespace, spec)))


async def show_retention(services: Services, namespace: str) -> None:
    rows = await retention.show_policies(services, OPERATOR, namespace)
    for row in rows:
        print(policy_line(row))
    if not rows:
        print(f"namespace {namespace}: no retention policy")


async def run_retention(settings: Settings, services: Services, dry_run: bool) -> None:
    """Every tag a policy lets go (or, dry, would), one line each, then the report."""
    run = await retention.begin_run(services, OPERATOR, dry_run=dry_run)
    on_terminal = sys.stderr.isatty()
    progress = terminal_bar(sys.stderr) if on_terminal else log_progress("retention")
    try:
        if dry_run:
            report = await run.complete(None, None, progress)
        else:
            async with registry(settings) as upstream:
                report = await run.complete(upstream, cli_recorder(), progress)
    finally:
        if on_terminal:
            sys.stderr.write("\n")
    verb = "would delete" if dry_run else "deleted"
    for repository, tag, policy in report.deleted:
        print(f"{verb} {repository}:{tag} (policy {policy})")
    print(report.text())
