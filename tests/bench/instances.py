"""One gateway instance against two on the same MariaDB (`--instances 2`): the same total load
(tokens for the 200 warm users, manifest GETs by tag, c=64 in all) on the first instance alone,
then split evenly across both ports, alternating. Throughput scales only with cores to spare: on
two cores shared with the load generator and the registry, the figure that tells is the gateway
CPU per request (both instances together), which must not grow with a second instance."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench import sysstat
from tests.bench.common import Bench, Row, alternate, median, say
from tests.bench.loadgen import LoadResult, combined, wrk
from tests.bench.manifests import TAG, ManifestTarget
from tests.bench.stack import pid_of
from tests.bench.tokens import WARM_USERS, ensure_warm_users, too_slow, warm_users_script
from tests.support.processes import Gateway

CONNECTIONS = 64
SCALING_CORES = 4  # below this, a second instance has no core of its own to scale onto


@dataclass(frozen=True)
class Load:
    """What a run sends: GETs of `url` (below each instance's address) or wrk's `script`."""

    url: str
    headers: dict[str, str]
    script: Path | None = None  # the warm users' token requests, kept warm before each run
    warm_ups: list[float] = field(default_factory=list)  # seconds each warm-up before a run took


async def _spread(bench: Bench, instances: list[Gateway], load: Load) -> LoadResult:
    """CONNECTIONS split across `instances` at once; the gateway CPU is that of all of them."""
    if load.script is not None:
        load.warm_ups.append(await ensure_warm_users(bench, instances, bench.plan.seconds))
    pids = [pid_of(g) for g in instances]
    before = [sysstat.cpu_seconds(pid) for pid in pids]
    share = CONNECTIONS // len(instances)
    results = await asyncio.gather(
        *(wrk(g.url + load.url, load.headers, share, bench.plan.seconds, load.script) for g in instances)
    )
    cpu = sum(sysstat.cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True))
    run = combined(list(results))
    return LoadResult(run.requests, run.seconds, run.p50_ms, run.p99_ms, run.errors, run.loadgen_cpu_s, cpu, cpu)


def scaling_row(figure: str, unit: str, one: list[LoadResult], two: list[LoadResult], cores: int) -> Row:
    """Two instances against one: the throughput ratio, judged only where the cores allow it."""
    rps, ref_rps = median([r.rps for r in two]), median([r.rps for r in one])
    scales = cores >= SCALING_CORES
    return Row(
        figure, unit, rps, ref_rps, "one instance, the same load",
        ">= 1.6x" if scales else f">= 1.6x where cores allow ({cores} here: CPU per request shown)",
        rps >= 1.6 * ref_rps if scales else None,
        detail={
            "cores": cores, "two_runs": [r.as_dict() for r in two], "one_runs": [r.as_dict() for r in one],
            "gateway_p50_ms": median([r.p50_ms for r in two]), "gateway_p99_ms": median([r.p99_ms for r in two]),
            "reference_p50_ms": median([r.p50_ms for r in one]), "reference_p99_ms": median([r.p99_ms for r in one]),
            "two_instances_cpu_ms_per_request": round(median([r.per_request_ms(r.gateway_cpu_s) for r in two]), 3),
            "one_instance_cpu_ms_per_request": round(median([r.per_request_ms(r.gateway_cpu_s) for r in one]), 3),
        },
    )


async def _compare(bench: Bench, figure: str, unit: str, load: Load) -> None:
    instances = bench.stack.instances_started
    one, two = await alternate(
        bench.plan.repeats, lambda: _spread(bench, instances[:1], load), lambda: _spread(bench, instances, load)
    )
    for result in one + two:
        if result.errors:
            say(f"  warning: {result.errors} errors in a run of {figure}")
    row = scaling_row(figure, unit, one, two, os.cpu_count() or 1)
    if load.script is not None:
        row.detail["warm_up_seconds"] = [round(w, 1) for w in load.warm_ups]
        row.detail["credentials_partly_cold"] = any(too_slow(w, bench.plan.seconds) for w in load.warm_ups)
    bench.add(row)


async def run_all(bench: Bench) -> None:
    instances = bench.stack.instances_started
    if len(instances) < 2:
        return
    n = len(instances)
    say(f"{n} instances on one {bench.store} database against one")
    await ensure_warm_users(bench, instances, bench.plan.seconds)  # the users the script names
    await _compare(bench, f"{n} instances vs 1: tokens c={CONNECTIONS}, {WARM_USERS} warm users", "tokens/s",
                   Load("", {}, warm_users_script(bench)))
    target = ManifestTarget(bench)
    await target.prepare()
    for instance in instances[1:]:  # the tag must be served (and cached) by every instance first
        await wrk(target.url(instance.url, TAG), target.headers, 4, 1.0)
    await _compare(bench, f"{n} instances vs 1: manifest GET by tag c={CONNECTIONS}", "req/s",
                   Load(target.url("", TAG), target.headers))
