"""Manifest figures: the gateway (token check + proxy) against registry 2.8 checking the same
token itself (the Portus-style deployment), by tag and by digest; and webhook delivery on vs off."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from tests.bench import sysstat
from tests.bench.common import Bench, Row, alternate, median, say
from tests.bench.loadgen import LoadResult, costed, hey, wrk
from tests.bench.stack import Stack, fetch_token
from tests.support.images import OCI_MANIFEST, push_image

REPOSITORY = "alice/bench-manifests"
TAG = "v1"


class ManifestTarget:
    """The image both sides serve, and the token both sides check."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.digest = ""
        self.headers: dict[str, str] = {}

    async def prepare(self) -> None:
        stack, session = self.bench.stack, self.bench.session
        assert stack.gateway is not None
        push = await fetch_token(session, stack.gateway.url, f"repository:{REPOSITORY}:pull,push")
        self.digest = await push_image(
            session, stack.gateway.url, REPOSITORY, TAG, {"Authorization": f"Bearer {push}"}, seed="bench"
        )
        pull = await fetch_token(session, stack.gateway.url, f"repository:{REPOSITORY}:pull")
        self.headers = {"Authorization": f"Bearer {pull}", "Accept": OCI_MANIFEST}
        for base in (stack.gateway.url, stack.portus.url if stack.portus else ""):
            async with session.get(f"{base}/v2/{REPOSITORY}/manifests/{TAG}", headers=self.headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"{base} answered {response.status} for the bench manifest: {await response.text()}")

    def url(self, base: str, reference: str) -> str:
        return f"{base}/v2/{REPOSITORY}/manifests/{reference}"


def _detail(ours: list[LoadResult], theirs: list[LoadResult]) -> dict[str, object]:
    return {
        "gateway_runs": [r.as_dict() for r in ours], "reference_runs": [r.as_dict() for r in theirs],
        "gateway_p50_ms": median([r.p50_ms for r in ours]), "gateway_p99_ms": median([r.p99_ms for r in ours]),
        "reference_p50_ms": median([r.p50_ms for r in theirs]), "reference_p99_ms": median([r.p99_ms for r in theirs]),
        "loadgen_cpu_share": round(median([r.loadgen_cpu_s / r.seconds for r in ours + theirs]) / 2, 3),
        **({
            "gateway_cpu_ms_per_request": round(median([r.per_request_ms(r.gateway_cpu_s) for r in ours]), 3),
            "gateway_side_cpu_ms_per_request": round(median([r.per_request_ms(r.server_cpu_s) for r in ours]), 3),
            "reference_cpu_ms_per_request": round(median([r.per_request_ms(r.server_cpu_s) for r in theirs]), 3),
        } if any(r.server_cpu_s for r in ours) else {}),
    }


async def _compare(bench: Bench, target: ManifestTarget, reference: str, method: str, connections: int):
    stack = bench.stack
    assert stack.gateway is not None and stack.portus is not None
    seconds = bench.plan.seconds

    def runner(base: str, servers: list[int], gateway: int | None):
        async def run() -> LoadResult:
            url = target.url(base, reference)
            if method == "HEAD":
                return await costed(hey(url, target.headers, connections, seconds), servers, gateway)
            return await costed(wrk(url, target.headers, connections, seconds), servers, gateway)
        return run

    gateway_pid = stack.pid()
    ours, theirs = await alternate(
        bench.plan.repeats,
        runner(stack.gateway.url, [gateway_pid, stack.pid(stack.upstream_name)], gateway_pid),
        runner(stack.portus.url, [stack.pid("portus")], None),
    )
    for result in ours + theirs:
        if result.errors:
            say(f"  warning: {result.errors} errors in a {method} run at c={connections}")
    return ours, theirs


async def by_tag(bench: Bench, target: ManifestTarget) -> None:
    for connections in (1, 16, 64):
        ours, theirs = await _compare(bench, target, TAG, "GET", connections)
        rps, ref_rps = median([r.rps for r in ours]), median([r.rps for r in theirs])
        detail = _detail(ours, theirs)
        met = rps >= 0.9 * ref_rps
        target_text = ">= 0.9x req/s"
        if connections == 1:
            overhead = float(detail["gateway_p50_ms"]) - float(detail["reference_p50_ms"])  # type: ignore[arg-type]
            detail["p50_overhead_ms"] = round(overhead, 3)
            met = met and overhead <= 1.0
            target_text += ", p50 overhead <= 1 ms"
        bench.add(Row(
            f"manifest GET by tag c={connections}", "req/s", rps, ref_rps, "registry 2.8 + token auth",
            target_text, met, detail=detail,
        ))


async def by_digest(bench: Bench, target: ManifestTarget) -> None:
    for method in ("GET", "HEAD"):
        for connections in (16, 64):
            ours, theirs = await _compare(bench, target, target.digest, method, connections)
            rps, ref_rps = median([r.rps for r in ours]), median([r.rps for r in theirs])
            bench.add(Row(
                f"manifest {method} by digest c={connections}", "req/s", rps, ref_rps, "registry 2.8 + token auth",
                ">= 2x req/s", rps >= 2 * ref_rps, detail=_detail(ours, theirs),
            ))


async def _delivered(stack: Stack, expected: int, timeout: float = 60.0) -> float:
    """Seconds until the receiver holds `expected` events (the webhook lags the load by its settle time)."""
    began = time.perf_counter()
    while stack.receiver is not None and stack.receiver.events < expected and time.perf_counter() - began < timeout:
        await asyncio.sleep(0.05)
    return time.perf_counter() - began


async def webhook_on_off(bench: Bench, target: ManifestTarget) -> None:
    """Pull events are always recorded (there is no switch); a webhook adds delivering each one.
    The hooked side's CPU is counted until its receiver has every event of the run, and the
    next run starts only then, so no delivery lands in the other side's window."""
    stack = bench.stack
    if stack.hooked is None or stack.gateway is None or stack.receiver is None:
        return
    seconds = bench.plan.seconds
    receiver = stack.receiver
    lags: list[float] = []
    for label, reference in (("by tag", TAG), ("by digest", target.digest)):
        def runner(name: str, base: str, ref: str = reference):
            async def run() -> LoadResult:
                pid = stack.pid(name)
                before, events = sysstat.cpu_seconds(pid), receiver.events
                result = await wrk(target.url(base, ref), target.headers, 16, seconds)
                if name == "hooked":
                    lags.append(await _delivered(stack, events + result.requests - result.errors))
                cpu = sysstat.cpu_seconds(pid) - before
                return replace(result, gateway_cpu_s=cpu, server_cpu_s=cpu)
            return run

        delivered_before = receiver.events
        hooked, plain = await alternate(
            bench.plan.repeats, runner("hooked", stack.hooked.url), runner("gateway", stack.gateway.url)
        )
        rps, ref_rps = median([r.rps for r in hooked]), median([r.rps for r in plain])
        detail = _detail(hooked, plain)
        for key in ("gateway_side_cpu_ms_per_request", "reference_cpu_ms_per_request"):
            detail.pop(key, None)
        detail["plain_gateway_cpu_ms_per_request"] = round(median([r.per_request_ms(r.gateway_cpu_s) for r in plain]), 3)
        detail["webhook_events_delivered"] = receiver.events - delivered_before
        detail["delivery_caught_up_s"] = round(max(lags), 2) if lags else 0.0
        bench.add(Row(
            f"manifest GET {label} c=16, webhook on vs off", "req/s", rps, ref_rps, "same gateway, no webhook",
            ">= 0.95x (<= 5% difference)", rps >= 0.95 * ref_rps, detail=detail,
        ))


async def run_all(bench: Bench) -> None:
    target = ManifestTarget(bench)
    await target.prepare()
    say("manifest GET by tag (gateway vs registry 2.8 doing its own token auth)")
    await by_tag(bench, target)
    say("manifest GET/HEAD by digest")
    await by_digest(bench, target)
    say("webhook delivery on vs off")
    await webhook_on_off(bench, target)
