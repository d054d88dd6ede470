"""Token endpoint figures: one user asking again and again (credentials verified recently), 200
distinct users whose credentials were verified recently (each request another user's), and many
distinct users (every login a cold scrypt) while /healthz shows whether the loop stays free."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import aiohttp

from gateway.auth.credentials import DEFAULT_COST, SCRYPT_P, SCRYPT_R
from gateway.auth.login import CACHE_SECONDS
from gateway.store import ManifestRow, open_store
from tests.bench.common import Bench, Row, median, say
from tests.bench.loadgen import costed, rotating_lua, write_script, wrk
from tests.bench.stack import SERVICE, USER, pid_of
from tests.support.processes import Gateway

SCOPE = "repository:alice/bench-manifests:pull"
WARM_USERS = 200
PUSHES_PER_SECOND = 20  # committed by "another instance" during the warm-users-while-pushing figure
_MARGIN = 5.0  # seconds between a warm-up's end and the run's start, and slack


def _scrypt_seconds() -> float:
    """What one password check costs on this machine now (the gateway's parameters)."""
    samples = []
    for _ in range(5):
        began = time.perf_counter()
        n = 2**DEFAULT_COST
        hashlib.scrypt(b"bench", salt=b"s" * 16, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=129 * SCRYPT_R * n, dklen=32)
        samples.append(time.perf_counter() - began)
    return sorted(samples)[len(samples) // 2]


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def same_user(bench: Bench) -> None:
    gateway = bench.stack.gateway
    assert gateway is not None
    url = f"{gateway.url}/v2/token?service={SERVICE}&scope={SCOPE}"
    headers = {"Authorization": aiohttp.encode_basic_auth(*USER)}
    async with bench.session.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
    # Every worker checks the password once before anything is measured: this figure is about
    # credentials verified recently; cold checks are the distinct-users figure.
    await wrk(url, headers, 16, 1.0)
    for connections in (16, 64):
        pid = bench.stack.pid()
        runs = [
            await costed(wrk(url, headers, connections, bench.plan.seconds), [pid], pid) for _ in range(bench.plan.repeats)
        ]
        rps, p99 = median([r.rps for r in runs]), median([r.p99_ms for r in runs])
        bench.add(Row(
            f"token endpoint c={connections}, same user", "tokens/s", rps, None, "-",
            ">= 5000 tokens/s, p99 <= 20 ms", rps >= 5000 and p99 <= 20,
            detail={
                "runs": [r.as_dict() for r in runs], "p50_ms": median([r.p50_ms for r in runs]), "p99_ms": p99,
                "gateway_cpu_ms_per_request": round(median([r.per_request_ms(r.gateway_cpu_s) for r in runs]), 3),
            },
        ))


async def _create_users(session: aiohttp.ClientSession, gateway: Gateway, count: int, prefix: str) -> list[tuple[str, str]]:
    admin = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
    users = [(f"{prefix}{i}", f"cold-password-{i}") for i in range(count)]
    semaphore = asyncio.Semaphore(4)

    async def create(name: str, password: str) -> None:
        async with semaphore:
            body = {"name": name, "password": password}
            async with session.post(f"{gateway.url}/api/v1/users", json=body, headers=admin) as response:
                if response.status != 201:
                    raise RuntimeError(f"creating {name}: {response.status} {await response.text()}")

    await asyncio.gather(*(create(n, p) for n, p in users))
    return users


async def _probe(session: aiohttp.ClientSession, url: str, stop: asyncio.Event, samples: list[float]) -> None:
    while not stop.is_set():
        began = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
        samples.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(0.01)


async def distinct_users(bench: Bench) -> None:
    gateway = bench.stack.gateway
    assert gateway is not None
    say(f"  creating {bench.plan.cold_users} users")
    users = await _create_users(bench.session, gateway, bench.plan.cold_users, f"cold{int(time.time()) % 100000}u")
    healthz = f"{gateway.url}/healthz"
    idle: list[float] = []
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as probe_session:
        probe = asyncio.create_task(_probe(probe_session, healthz, stop, idle))
        await asyncio.sleep(1.0)
        stop.set()
        await probe
        busy: list[float] = []
        stop = asyncio.Event()
        probe = asyncio.create_task(_probe(probe_session, healthz, stop, busy))
        latencies: list[float] = []
        semaphore = asyncio.Semaphore(16)

        async def login(name: str, password: str) -> None:
            async with semaphore:
                began = time.perf_counter()
                params = {"service": SERVICE, "scope": f"repository:{name}/app:pull"}
                async with bench.session.get(f"{gateway.url}/v2/token", params=params, headers={"Authorization": aiohttp.encode_basic_auth(name, password)}) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"cold login of {name}: {response.status}")
                latencies.append((time.perf_counter() - began) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(login(n, p) for n, p in users))
        elapsed = time.perf_counter() - began
        stop.set()
        await probe
    rate = len(users) / elapsed
    kdf = _scrypt_seconds()
    bound = (os.cpu_count() or 1) / kdf
    busy_p99 = _percentile(busy, 0.99)
    bench.add(Row(
        "token endpoint c=16, distinct users (cold scrypt)", "tokens/s", rate, None, "-",
        ">= 0.5x the KDF bound; /healthz p99 <= 25 ms meanwhile", rate >= 0.5 * bound and busy_p99 <= 25,
        detail={
            "users": len(users), "seconds": round(elapsed, 2), "scrypt_ms": round(kdf * 1000, 1),
            "kdf_bound_tokens_per_s": round(bound, 1), "share_of_kdf_bound": round(rate / bound, 2),
            "token_p50_ms": round(_percentile(latencies, 0.5), 1), "token_p99_ms": round(_percentile(latencies, 0.99), 1),
            "healthz_idle_p50_ms": round(_percentile(idle, 0.5), 2), "healthz_busy_p50_ms": round(_percentile(busy, 0.5), 2),
            "healthz_busy_p99_ms": round(busy_p99, 2), "healthz_busy_max_ms": round(max(busy, default=0), 2),
            "healthz_samples": len(busy),
        },
    ))


async def ensure_warm_users(bench: Bench, instances: list[Gateway], seconds: float) -> float:
    """WARM_USERS users (made once per store), each logged in lately on every instance and worker
    of `instances`, lately enough that a run of `seconds` ends before the gateway's credential
    cache (CACHE_SECONDS after each use) forgets them. Returns the seconds the longest warm-up
    took (0 when every instance was warm enough)."""
    gateway = bench.stack.gateway
    assert gateway is not None
    if not bench.warm_users:
        say(f"  creating {WARM_USERS} users")
        bench.warm_users = await _create_users(bench.session, gateway, WARM_USERS, f"warm{int(time.time()) % 100000}u")
    # Logins per user on fresh connections, as many rounds as there are workers: what is left
    # cold after that shows in the p99.
    longest = 0.0
    connector = aiohttp.TCPConnector(force_close=True, limit=4)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def login(url: str, name: str, password: str) -> None:
            params = {"service": SERVICE, "scope": f"repository:{name}/app:pull"}
            headers = {"Authorization": aiohttp.encode_basic_auth(name, password)}
            async with session.get(f"{url}/v2/token", params=params, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"login of {name}: {response.status} {await response.text()}")

        for instance in instances:
            began = bench.warmed.get(instance.url)
            if began is not None and time.monotonic() - began + seconds + _MARGIN < CACHE_SECONDS:
                continue
            began = time.monotonic()
            for _ in range(bench.stack.workers):
                await asyncio.gather(*(login(instance.url, n, p) for n, p in bench.warm_users))
            bench.warmed[instance.url] = began
            took = time.monotonic() - began
            longest = max(longest, took)
            if too_slow(took, seconds):
                say(f"  warning: warming {len(bench.warm_users)} users took {took:.0f} s, too long for the"
                    f" {CACHE_SECONDS:.0f} s credential cache: the next run includes cold password checks")
    return longest


def too_slow(warm_up: float, seconds: float) -> bool:
    """Whether the first users of a warm-up this long were forgotten before a run of `seconds` ended."""
    return warm_up + seconds + _MARGIN >= CACHE_SECONDS


def warm_users_script(bench: Bench) -> Path:
    """The wrk script asking a token for each warm user in turn, for its own repository."""
    requests = [
        (f"/v2/token?service={SERVICE}&scope=repository:{name}/app:pull", aiohttp.encode_basic_auth(name, password))
        for name, password in bench.warm_users
    ]
    return write_script(bench.workdir, "warm-users.lua", rotating_lua(requests))


async def warm_users(bench: Bench) -> None:
    """Issue 20's token figure: 200 distinct users, credentials verified lately, c=64."""
    gateway = bench.stack.gateway
    assert gateway is not None
    runs, warm_ups = [], []
    for _ in range(bench.plan.repeats):
        warm_ups.append(round(await ensure_warm_users(bench, [gateway], bench.plan.seconds), 1))
        pid = pid_of(gateway)
        runs.append(await costed(wrk(gateway.url, {}, 64, bench.plan.seconds, warm_users_script(bench)), [pid], pid))
    for run in runs:
        if run.errors:
            say(f"  warning: {run.errors} errors in a warm-users run")
    rps, p99 = median([r.rps for r in runs]), median([r.p99_ms for r in runs])
    bench.add(Row(
        f"token endpoint c=64, {WARM_USERS} distinct warm users", "tokens/s", rps, None, "-",
        ">= 5000 tokens/s, p99 <= 20 ms", rps >= 5000 and p99 <= 20,
        detail={
            "runs": [r.as_dict() for r in runs], "users": len(bench.warm_users), "warm_up_seconds": warm_ups,
            "credentials_partly_cold": any(too_slow(w, bench.plan.seconds) for w in warm_ups),
            "p50_ms": median([r.p50_ms for r in runs]), "p99_ms": p99,
            "gateway_cpu_ms_per_request": round(median([r.per_request_ms(r.gateway_cpu_s) for r in runs]), 3),
        },
    ))


async def _pushes_elsewhere(url: str, stop: asyncio.Event) -> int:
    """What another instance's pushes do to this one: a tag moved, committed straight to the
    shared store `PUSHES_PER_SECOND` times a second until `stop`; returns how many."""
    store = await open_store(url)
    count = 0
    try:
        while not stop.is_set():
            count += 1
            digest = "sha256:" + hashlib.sha256(b"bench-push-%d" % count).hexdigest()
            manifest = ManifestRow(
                "alice/bench-pushes", digest, "application/vnd.oci.image.manifest.v1+json", 100, None, None, None,
                int(time.time() * 1000),
            )
            await store.index_push(manifest, "latest")
            await asyncio.sleep(1 / PUSHES_PER_SECOND)
    finally:
        await store.close()
    return count


async def warm_users_while_pushing(bench: Bench) -> None:
    """The warm-users figure while pushes land elsewhere: CI fleets push and ask for tokens at
    once. A push decides no token grant, so the grants should stay cached (the access version,
    docs/design.md); when every push ended them, each user's next request was decided again."""
    gateway = bench.stack.gateway
    assert gateway is not None
    runs, pushes = [], []
    for _ in range(bench.plan.repeats):
        await ensure_warm_users(bench, [gateway], bench.plan.seconds)
        stop = asyncio.Event()
        pusher = asyncio.create_task(_pushes_elsewhere(bench.stack.database_url, stop))
        pid = pid_of(gateway)
        try:
            runs.append(await costed(wrk(gateway.url, {}, 64, bench.plan.seconds, warm_users_script(bench)), [pid], pid))
        finally:
            stop.set()
            pushes.append(await pusher)
    rps, p99 = median([r.rps for r in runs]), median([r.p99_ms for r in runs])
    bench.add(Row(
        f"token endpoint c=64, {WARM_USERS} distinct warm users, {PUSHES_PER_SECOND} pushes/s committed elsewhere",
        "tokens/s", rps, None, "-", ">= 5000 tokens/s, p99 <= 20 ms", rps >= 5000 and p99 <= 20,
        detail={
            "runs": [r.as_dict() for r in runs], "pushes": pushes, "p50_ms": median([r.p50_ms for r in runs]),
            "p99_ms": p99,
            "gateway_cpu_ms_per_request": round(median([r.per_request_ms(r.gateway_cpu_s) for r in runs]), 3),
        },
    ))


async def run_all(bench: Bench) -> None:
    say("token endpoint, same user")
    await same_user(bench)
    say(f"token endpoint, {WARM_USERS} distinct warm users")
    await warm_users(bench)
    say(f"token endpoint, {WARM_USERS} distinct warm users, {PUSHES_PER_SECOND} pushes/s committed elsewhere")
    await warm_users_while_pushing(bench)
    say("token endpoint, distinct users (cold scrypt)")
    await distinct_users(bench)
