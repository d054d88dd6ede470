"""Issue 20's targets in one small table, a column per store: the figures it names picked out of
a run's rows, with the ratios its targets are written in (MariaDB against SQLite, the gateway
against registry 2.8 verifying the same tokens, two instances against one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.bench.common import Row
from tests.bench.databases import STORE_NAMES, STORES
from tests.bench.report import COLD_NOTE

WARM_TOKENS = "token endpoint c=64, 200 distinct warm users"


@dataclass(frozen=True)
class Target:
    label: str
    matches: Callable[[str], bool]
    cell: Callable[[Row], str]
    quantity: Callable[[Row], float | None]  # what the MariaDB ÷ SQLite column divides
    target: str
    met: Callable[[dict[str, Row]], bool | None]


def _ratio_cell(row: Row) -> str:
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
    reference = "-" if row.reference is None else f"{row.reference:,.0f}"
    return f"{ratio} ({row.gateway:,.0f} / {reference} {row.unit})"


def _cold(row: Row) -> str:
    return f" ({COLD_NOTE})" if row.detail.get("credentials_partly_cold") else ""


def _tokens_cell(row: Row) -> str:
    p99 = row.detail.get("p99_ms")
    return f"{row.gateway:,.0f} tokens/s" + (f" (p99 {p99:.1f} ms)" if isinstance(p99, (int, float)) else "") + _cold(row)


def _tokens_met(rows: dict[str, Row]) -> bool | None:
    mariadb, sqlite = rows.get("mariadb"), rows.get("sqlite")
    if mariadb is None:
        return None
    p99 = mariadb.detail.get("p99_ms")
    fast = mariadb.gateway >= 5000 and isinstance(p99, (int, float)) and p99 <= 20
    return fast and (sqlite is None or mariadb.gateway >= 0.8 * sqlite.gateway)


def _mariadb_ratio_at_least(minimum: float) -> Callable[[dict[str, Row]], bool | None]:
    def met(rows: dict[str, Row]) -> bool | None:
        row = rows.get("mariadb")
        return None if row is None or row.ratio is None else row.ratio >= minimum
    return met


def _push_cpu(row: Row) -> float | None:
    value = row.detail.get("gateway_cpu_s_per_gib")
    return float(value) if isinstance(value, (int, float)) else None


def _push_cell(row: Row) -> str:
    cpu = _push_cpu(row)
    ratio = "" if row.ratio is None else f", {row.ratio:.2f}x direct"
    return ("-" if cpu is None else f"{cpu:.2f} s/GiB") + f" ({row.gateway:,.0f} MB/s{ratio})"


def _push_met(rows: dict[str, Row]) -> bool | None:
    values = [_push_cpu(row) for row in rows.values()]
    return None if not values or None in values else all(v is not None and v <= 1.0 for v in values)


def _scaling_cell(row: Row) -> str:
    one, two = row.detail.get("one_instance_cpu_ms_per_request"), row.detail.get("two_instances_cpu_ms_per_request")
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
    cpu = f"; gateway CPU {one:.2f} -> {two:.2f} ms/req" if isinstance(one, (int, float)) and isinstance(two, (int, float)) else ""
    return f"{ratio} ({row.reference or 0:,.0f} -> {row.gateway:,.0f} {row.unit}){cpu}" + _cold(row)


def _row_met(rows: dict[str, Row]) -> bool | None:
    return rows["mariadb"].met if "mariadb" in rows else None


TARGETS = (
    Target(f"tokens/s, {WARM_TOKENS.split(', ', 1)[1]}, c=64", lambda f: f == WARM_TOKENS, _tokens_cell,
           lambda r: r.gateway, "MariaDB >= 0.8x SQLite and >= 5,000/s, p99 <= 20 ms", _tokens_met),
    Target("manifest GET by tag c=64 ÷ registry 2.8 verifying the same tokens", lambda f: f == "manifest GET by tag c=64",
           _ratio_cell, lambda r: r.gateway, "MariaDB >= 2x", _mariadb_ratio_at_least(2.0)),
    Target("manifest GET by digest c=64 ÷ the same", lambda f: f == "manifest GET by digest c=64",
           _ratio_cell, lambda r: r.gateway, "(issue 7: >= 2x)", _mariadb_ratio_at_least(2.0)),
    Target("skopeo push: gateway CPU per GiB pushed", lambda f: f.startswith("skopeo ") and f.endswith(" push"),
           _push_cell, _push_cpu, "<= 1 s/GiB", _push_met),
    Target("N instances ÷ one on MariaDB: tokens", lambda f: " instances vs 1: tokens" in f,
           _scaling_cell, lambda r: None, ">= 1.6x where cores allow, else CPU per request", _row_met),
    Target("N instances ÷ one on MariaDB: manifest GET by tag", lambda f: " instances vs 1: manifest" in f,
           _scaling_cell, lambda r: None, ">= 1.6x where cores allow, else CPU per request", _row_met),
)


def _cross_ratio(target: Target, rows: dict[str, Row]) -> str:
    if "mariadb" not in rows or "sqlite" not in rows:
        return "-"
    mariadb, sqlite = target.quantity(rows["mariadb"]), target.quantity(rows["sqlite"])
    return "-" if mariadb is None or not sqlite else f"{mariadb / sqlite:.2f}x"


def summary(rows: list[Row]) -> str:
    """The table of issue 20's figures ("" when the run measured none of them)."""
    stores = [s for s in STORES if any(row.store == s for row in rows)]
    both = "sqlite" in stores and "mariadb" in stores
    lines = [
        "| figure (issue 20) | " + " | ".join(STORE_NAMES[s] for s in stores) + (" | MariaDB ÷ SQLite" if both else "")
        + " | target | met |",
        "|---|" + "---|" * len(stores) + ("---|" if both else "") + "---|---|",
    ]
    for target in TARGETS:
        found = {row.store: row for row in rows if target.matches(row.figure)}
        if not found:
            continue
        cells = [target.cell(found[s]) if s in found else "-" for s in stores]
        if both:
            cells.append(_cross_ratio(target, found))
        met = {True: "yes", False: "**no**", None: "-"}[target.met(found)]
        lines.append(f"| {target.label} | " + " | ".join(cells) + f" | {target.target} | {met} |")
    return "\n".join(lines) if len(lines) > 2 else ""
