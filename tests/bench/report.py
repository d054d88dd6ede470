"""The table (Markdown, so it pastes into the README) and the JSON document."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.bench.common import Plan, Row
from tests.bench.databases import STORE_NAMES
from tests.support.processes import REPO_ROOT

COLD_NOTE = "partly cold: the warm-up outlasted the 60 s credential cache"


def _number(value: float, unit: str) -> str:
    if unit in ("req/s", "tokens/s") and value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _latency(row: Row, side: str) -> str:
    p50, p99 = row.detail.get(f"{side}_p50_ms"), row.detail.get(f"{side}_p99_ms")
    return f" (p50 {p50:.2f} / p99 {p99:.2f} ms)" if isinstance(p50, float) and isinstance(p99, float) else ""


def _gateway_cell(row: Row) -> str:
    cell = f"{_number(row.gateway, row.unit)} {row.unit}" + _latency(row, "gateway")
    if "p99_ms" in row.detail and "p50_ms" in row.detail:
        cell += f" (p50 {row.detail['p50_ms']:.2f} / p99 {row.detail['p99_ms']:.2f} ms)"
    if "gateway_cpu_ms_per_request" in row.detail:
        cell += f", gateway CPU {row.detail['gateway_cpu_ms_per_request']:.2f} ms/req"
    if "gateway_cpu_s_per_gb" in row.detail:
        cell += f", gateway CPU {row.detail['gateway_cpu_s_per_gb']:.2f} s/GB"
    if "gateway_cpu_s_per_gib" in row.detail:
        cell += f", gateway CPU {row.detail['gateway_cpu_s_per_gib']:.2f} s/GiB pushed"
    if row.detail.get("credentials_partly_cold"):
        cell += f", {COLD_NOTE}"
    if "two_instances_cpu_ms_per_request" in row.detail:
        cell += f", gateway CPU {row.detail['two_instances_cpu_ms_per_request']:.2f} ms/req (all instances)"
    if "healthz_busy_p99_ms" in row.detail:
        d = row.detail
        cell += (f" (KDF bound ~{d['kdf_bound_tokens_per_s']:.0f}/s at {d['scrypt_ms']:.0f} ms a hash);"
                 f" /healthz p50 {d['healthz_busy_p50_ms']:.1f} /"
                 f" p99 {d['healthz_busy_p99_ms']:.1f} ms meanwhile (idle p50 {d['healthz_idle_p50_ms']:.1f})")
    return cell


def by_figure(rows: list[Row]) -> list[Row]:
    """Each figure's rows next to each other (one per store), figures in the order first measured."""
    order: dict[str, int] = {}
    for row in rows:
        order.setdefault(row.figure, len(order))
    return sorted(rows, key=lambda row: order[row.figure])  # stable: stores stay in run order


def markdown(rows: list[Row]) -> str:
    stores = len({row.store for row in rows}) > 1
    lines = [
        "| figure | " + ("store | " if stores else "") + "gateway | compared with | ratio | target | met |",
        "|---|" + ("---|" if stores else "") + "---|---|---|---|---|",
    ]
    for row in by_figure(rows):
        reference = "-" if row.reference is None else (
            f"{_number(row.reference, row.unit)} {row.unit}" + _latency(row, "reference") + f" ({row.reference_name})"
        )
        if "reference_cpu_ms_per_request" in row.detail and "gateway_side_cpu_ms_per_request" in row.detail:
            reference += (f"; CPU per request {row.detail['reference_cpu_ms_per_request']:.2f} ms there,"
                          f" {row.detail['gateway_side_cpu_ms_per_request']:.2f} ms gateway + registry")
        if "plain_gateway_cpu_ms_per_request" in row.detail:
            reference += f", gateway CPU {row.detail['plain_gateway_cpu_ms_per_request']:.2f} ms/req"
        if "one_instance_cpu_ms_per_request" in row.detail:
            reference += f", gateway CPU {row.detail['one_instance_cpu_ms_per_request']:.2f} ms/req"
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        store = f"{STORE_NAMES.get(row.store, row.store)} | " if stores else ""
        lines.append(f"| {row.figure} | {store}{_gateway_cell(row)} | {reference} | {ratio} | {row.target} | {met} |")
    return "\n".join(lines)


def _git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "gateway"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
        "kernel": platform.release(), "loadavg_at_end": os.getloadavg(),
    }


def document(rows: list[Row], plan: Plan, workers: int, started: float, argv: list[str]) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(["python -m tests.bench", *argv]),
        "revision": _git_revision(),
        "machine": machine(),
        "plan": plan.__dict__,
        "gateway_workers": workers,
        "seconds": round(time.monotonic() - started, 1),
        "rows": [row.as_dict() for row in rows],
    }


def header(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    return (f"\n{doc['date']} · {m['cpus']} CPUs ({m['cpu_model']}) · Python {m['python']} · "
            f"revision {doc['revision']} · {doc['seconds']} s\n`{doc['command']}`\n")


def row_of(saved: dict[str, Any]) -> Row:
    """A row back from the JSON document (for --render)."""
    fields = {k: saved[k] for k in ("figure", "unit", "gateway", "reference", "reference_name", "target", "met")}
    detail = dict(saved.get("detail", {}))
    if detail.get("gateway_side_cpu_ms_per_request") == 0 and detail.get("reference_cpu_ms_per_request") == 0:
        for key in ("gateway_cpu_ms_per_request", "gateway_side_cpu_ms_per_request", "reference_cpu_ms_per_request"):
            detail.pop(key, None)  # runs of a version that recorded no CPU for this figure
    return Row(**fields, higher_is_better=saved["unit"] != "MiB", detail=detail, store=saved.get("store", "sqlite"))


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n")
