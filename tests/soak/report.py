"""The soak's tables, in Markdown (docs/performance.md carries one)."""

from __future__ import annotations

from tests.soak.checks import RECOVERY_TARGET, Outcome
from tests.soak.records import KINDS

RECOVERED = (*KINDS, "webhook")


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def render(outcome: Outcome, minutes: float, enforce_timing: bool) -> str:
    lines = [
        f"Soak: {minutes:g} min of mixed load over 2 gateway instances on MariaDB.",
        "",
        "| kind | operations | ok | errors in fault windows | errors outside | 5xx in windows | 5xx outside |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        ops = [op for op in outcome.ops if op.kind == kind]
        inside, outside = outcome.errors[kind]
        five_in, five_out = outcome.server_errors[kind]
        lines.append(f"| {kind} | {len(ops)} | {sum(op.ok for op in ops)} | {inside} | {outside} | {five_in} | {five_out} |")
    five_in, five_out = outcome.server_errors["access log"]
    lines.append(f"| (gateways' access logs, all requests) | | | | | {five_in} | {five_out} |")
    began = min((op.start for op in outcome.ops), default=0.0)
    lines += [
        "",
        "| fault | at | down for | " + " | ".join(f"{kind} back after" for kind in RECOVERED) + " | window |",
        "|---|---|---|" + "---|" * len(RECOVERED) + "---|",
    ]
    for fault, (start, end) in zip(outcome.faults, outcome.windows, strict=True):
        times = " | ".join(_seconds(outcome.recovery[fault.name].get(kind)) for kind in RECOVERED)
        lines.append(f"| {fault.name} | {fault.start - began:.0f} s | {fault.end - fault.start:.1f} s | {times} | {end - start:.1f} s |")
    rule = "enforced" if enforce_timing else "reported, not enforced in this mode"
    recovery = (f"Recovery: from the fault's end (the component answers again) to the first success of each kind "
                f"started after it (on the killed instance, for the kill), and to the first webhook delivery carrying "
                f"an event recorded after it; target {RECOVERY_TARGET:.0f} s ({rule}). A window runs from a fault's "
                f"start until every kind of operation succeeded again.")
    lines += ["", recovery, ""]
    for check in outcome.checks:
        mark = "PASS" if check.ok else ("FAIL" if enforce_timing or not check.timing else "MISS")
        lines.append(f"- {mark} {check.name}: {check.detail}")
    lines += [f"- note: {note}" for note in outcome.notes]
    return "\n".join(lines)
