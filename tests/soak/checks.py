"""After the load: what must hold however the faults fell.

- every push skopeo reported done pulls back byte-for-byte (manifest and every blob);
- every API write answered 201 is there afterwards;
- every acknowledged push is in the audit log exactly once; every acknowledged pull has its
  event, but for those a `kill -9` may lose (pull events are written in batches every second,
  README "Events and webhooks"); every event in the log reached the webhook receiver at least
  once, and a second copy only as the retry of a delivery a fault cut short;
- no 5xx outside the fault windows (a window runs from a fault's start until every kind of
  operation succeeded again);
- recovery: the time from a fault's end to the first success of each kind of operation started
  after it (on the killed instance, for the kill).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.soak.records import KINDS, Fault, Journal, Op
from tests.soak.stack import SERVICE, Stack
from tests.support.processes import Gateway

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
PULL_BATCH_SECONDS = 1.5  # pull events a kill -9 may take with it: the last flush interval, and some
RECOVERY_TARGET = 5.0
UNCONFIRMED_SECONDS = 2.5  # webhook cursor save interval (1 s) + delivery timeout (1 s) + slack


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    timing: bool = False  # a timing target: enforced by the full run, reported by the short one


@dataclass
class Outcome:
    ops: list[Op]
    faults: list[Fault]
    recovery: dict[str, dict[str, float | None]]
    windows: list[tuple[float, float]]
    errors: dict[str, tuple[int, int]]  # kind -> (inside windows, outside)
    server_errors: dict[str, tuple[int, int]]  # kind (client-seen 5xx; "access log" for the gateways' lines)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def failed(self, *, timing: bool) -> list[Check]:
        return [c for c in self.checks if not c.ok and (timing or not c.timing)]


def recovery_times(journal: Journal) -> dict[str, dict[str, float | None]]:
    times: dict[str, dict[str, float | None]] = {}
    for fault in journal.faults:
        times[fault.name] = {}
        for kind in KINDS:
            after = [
                op for op in journal.ops
                if op.kind == kind and op.ok and op.start >= fault.end and fault.target in (None, op.instance)
            ]
            times[fault.name][kind] = min(op.end for op in after) - fault.end if after else None
    return times


def event_time(stamp: str) -> float:
    """An event's RFC 3339 timestamp (nanoseconds, trailing Z) as a Unix time."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    moment = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.UTC)
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def webhook_recovery(journal: Journal, stack: Stack) -> dict[str, float | None]:
    """Per fault: from its end to the first delivery carrying an event recorded after that end."""
    times: dict[str, float | None] = {}
    for fault in journal.faults:
        arrived = [
            at for delivery, at in zip(stack.receiver.deliveries, stack.receiver.arrivals, strict=True)
            if any(event_time(event["timestamp"]) >= fault.end for event in delivery.events)
        ]
        times[fault.name] = min(arrived) - fault.end if arrived else None
    return times


def fault_windows(journal: Journal, recovery: dict[str, dict[str, float | None]], run_end: float) -> list[tuple[float, float]]:
    windows = []
    for fault in journal.faults:
        seen = recovery[fault.name].values()
        end = run_end if None in seen else fault.end + max(t for t in seen if t is not None)
        windows.append((fault.start, end))
    return windows


def inside(moment: float, windows: list[tuple[float, float]]) -> bool:
    return any(start <= moment <= end for start, end in windows)


def _op_inside(op: Op, windows: list[tuple[float, float]]) -> bool:
    return any(op.start <= end and op.end >= start for start, end in windows)


def access_5xx(gateway: Gateway) -> list[tuple[float, str]]:
    """(time, line) of each 5xx answer in a gateway's JSON access log."""
    found = []
    for line in gateway.log_text().splitlines():
        if '"gateway.access"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if int(entry.get("status") or 0) >= 500:
            moment = datetime.datetime.fromisoformat(entry["time"]).timestamp()
            found.append((moment, line))
    return found


def error_lines(gateway: Gateway) -> list[tuple[float, str]]:
    """(time, line) of each ERROR line of a gateway (not access lines)."""
    found = []
    for line in gateway.log_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("ERROR", "CRITICAL"):
            found.append((datetime.datetime.fromisoformat(entry["time"]).timestamp(), line))
    return found


def availability(journal: Journal, stack: Stack, run_end: float) -> Outcome:
    recovery = recovery_times(journal)
    windows = fault_windows(journal, recovery, run_end)
    errors, server_errors = {}, {}
    for kind in KINDS:
        failed = [op for op in journal.ops if op.kind == kind and not op.ok]
        within = sum(_op_inside(op, windows) for op in failed)
        errors[kind] = (within, len(failed) - within)
        fives = [op for op in journal.ops if op.kind == kind and (op.status or 0) >= 500]
        within = sum(_op_inside(op, windows) for op in fives)
        server_errors[kind] = (within, len(fives) - within)
    outcome = Outcome(journal.ops, journal.faults, recovery, windows, errors, server_errors)
    logged = [(name, moment, line) for name, gw in stack.gateways.items() for moment, line in access_5xx(gw)]
    outside_log = [(name, line) for name, moment, line in logged if not inside(moment, windows)]
    kinds = Counter(f"{name} {json.loads(line)['status']} {json.loads(line)['route']}" for name, _, line in logged)
    if kinds:
        outcome.notes.append("5xx in the access logs (instance, status, route): " + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())))
    server_errors["access log"] = (len(logged) - len(outside_log), len(outside_log))
    outside_ops = [op for op in journal.ops if (op.status or 0) >= 500 and not _op_inside(op, windows)]
    detail = "; ".join([f"{op.kind} on {op.instance}: {op.detail}" for op in outside_ops[:3]] + [f"{n}: {line[:300]}" for n, line in outside_log[:3]])
    outcome.checks.append(Check("no 5xx outside fault windows", not outside_ops and not outside_log,
                                f"{len(outside_ops)} seen by clients, {len(outside_log)} in access logs. {detail}".strip()))
    for fault, took in webhook_recovery(journal, stack).items():
        recovery[fault]["webhook"] = took
    late = {f"{fault}/{kind}": t for fault, kinds in recovery.items() for kind, t in kinds.items() if t is None or t > RECOVERY_TARGET}
    outcome.checks.append(Check(f"recovery within {RECOVERY_TARGET:.0f} s of each fault", not late,
                                ", ".join(f"{k}: {'never' if t is None else f'{t:.1f} s'}" for k, t in late.items()), timing=True))
    for kind in KINDS:
        failed = [op for op in journal.ops if op.kind == kind and not op.ok]
        if failed:
            outcome.notes.append(f"{kind}: first failure on {failed[0].instance}: {failed[0].detail[:300]}")
    for name, gateway in stack.gateways.items():
        lines = error_lines(gateway)
        outside_lines = [line for moment, line in lines if not inside(moment, windows)]
        unhandled = sum('"aiohttp.server"' in line for _, line in lines)
        if lines:
            outcome.notes.append(f"gateway {name}: {len(lines)} ERROR lines ({unhandled} unhandled exceptions), {len(outside_lines)} outside windows"
                                 + (f"; first outside: {outside_lines[0][:400]}" if outside_lines else ""))
    return outcome


async def _admin_token(session: aiohttp.ClientSession, gateway: Gateway, repository: str) -> str:
    params = {"service": SERVICE, "scope": f"repository:{repository}:pull"}
    headers = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
    async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
        response.raise_for_status()
        return str((await response.json())["token"])


async def _fetch(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    async with session.get(url, headers=headers) as response:
        return response.status, await response.read()


async def byte_for_byte(session: aiohttp.ClientSession, journal: Journal, stack: Stack) -> Check:
    """Manifest and blobs of every acknowledged push, fetched from the other instance than the push."""
    wrong: list[str] = []
    for pushed in journal.pushed:
        gateway = stack.gateways["b" if pushed.instance == "a" else "a"]
        token = await _admin_token(session, gateway, pushed.repository)
        headers = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
        blobs = pushed.layout.path / "blobs" / "sha256"
        digest = pushed.layout.manifest_digest
        status, body = await _fetch(session, f"{gateway.url}/v2/{pushed.repository}/manifests/{pushed.tag}", headers)
        if status != 200 or body != (blobs / digest.split(":")[1]).read_bytes():
            wrong.append(f"{pushed.repository}:{pushed.tag} manifest: {status}, sha256:{hashlib.sha256(body).hexdigest()} != {digest}")
            continue
        manifest = json.loads(body)
        for descriptor in [manifest["config"], *manifest["layers"]]:
            blob = descriptor["digest"]
            status, data = await _fetch(session, f"{gateway.url}/v2/{pushed.repository}/blobs/{blob}", headers)
            if status != 200 or data != (blobs / blob.split(":")[1]).read_bytes():
                wrong.append(f"{pushed.repository} blob {blob}: {status}, {len(data)} bytes")
    wrong += journal.mismatches
    return Check("every acknowledged push pulls back byte-for-byte", not wrong,
                 f"{len(journal.pushed)} pushes checked; {len(wrong)} wrong: {wrong[:3]}")


async def api_writes(session: aiohttp.ClientSession, journal: Journal, stack: Stack) -> Check:
    gateway = stack.gateways["a"]
    auth = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
    tokens = {item["name"] for item in await _pages(session, f"{gateway.url}/api/v1/users/alice/tokens")}
    missing = []
    for write in journal.writes:
        if write.what == "token":
            found = write.name in tokens
        else:
            found = (await _fetch(session, f"{gateway.url}/api/v1/{write.what}s/{write.name}", auth))[0] == 200
        if not found:
            missing.append(f"{write.what} {write.name} (made on {write.instance})")
    return Check("every API write answered 201 is there", not missing, f"{len(journal.writes)} writes; missing: {missing[:5]}")


async def _pages(session: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    """Every item of an /api/v1 list, page by page, as the admin."""
    auth = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
    items: list[dict[str, Any]] = []
    after = ""
    for _ in range(10_000):  # pages; a bound, not a hope
        async with session.get(url, params={"limit": "1000", "after": after}, headers=auth) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}: {body[:300]!r}")
        page = json.loads(body)
        items += page["items"]
        if page["next"] is None:
            return items
        after = page["next"]
    raise RuntimeError(f"{url} did not end within 10,000 pages")


async def audit_log(session: aiohttp.ClientSession, gateway: Gateway) -> list[dict[str, Any]]:
    """The whole audit log through /api/v1/events."""
    return await _pages(session, f"{gateway.url}/api/v1/events")


def _pull_shortfall(journal: Journal, events: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """Per repository: acknowledged pulls without an event, and how many of them a kill may excuse."""
    acked = Counter(op.target for op in journal.ops if op.kind == "pull" and op.ok)
    logged = Counter(
        e["target"]["repository"] for e in events
        if e["action"] == "pull" and e["actor"].get("name") == e["target"]["repository"].split("/")[0]
    )
    kills = [f for f in journal.faults if f.target is not None]
    excusable = Counter(
        op.target for op in journal.ops
        if op.kind == "pull" and op.ok and any(op.instance == f.target and f.start - PULL_BATCH_SECONDS <= op.end <= f.start for f in kills)
    )
    short = {repo: n - logged[repo] for repo, n in acked.items() if n > logged[repo]}
    return short, dict(excusable)


async def events_and_webhooks(
    session: aiohttp.ClientSession, journal: Journal, stack: Stack, windows: list[tuple[float, float]], webhook_timeout: float,
) -> tuple[list[Check], list[str]]:
    gateway = stack.gateways["a"]
    deadline = time.monotonic() + 10
    while True:  # pull events reach the log within about a second of the pull
        events = await audit_log(session, gateway)
        short, excusable = _pull_shortfall(journal, events)
        if not short or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    checks, notes = [], []
    pushes = Counter(
        (e["target"]["repository"], e["target"].get("tag"), e["target"]["digest"]) for e in events if e["action"] == "push"
    )
    counts = [(p, pushes[(p.repository, p.tag, p.layout.manifest_digest)]) for p in journal.pushed]
    wrong = [f"{p.repository}:{p.tag} x{n}" for p, n in counts if n != 1]
    checks.append(Check("every acknowledged push is in the audit log once", not wrong,
                        f"{len(counts)} pushes; not once: {wrong[:5]}"))
    unexcused = {repo: n - excusable.get(repo, 0) for repo, n in short.items() if n > excusable.get(repo, 0)}
    lost = sum(min(n, excusable.get(repo, 0)) for repo, n in short.items())
    acked_pulls = sum(1 for op in journal.ops if op.kind == "pull" and op.ok)
    checks.append(Check("every acknowledged pull has its event (but the kill's last batch)", not unexcused,
                        f"{acked_pulls} pulls; lost with the kill: {lost}; missing otherwise: {unexcused}"))
    ids = Counter(e["id"] for e in events)
    doubled = [i for i, n in ids.items() if n > 1]
    checks.append(Check("no event id twice in the audit log", not doubled, f"{len(ids)} events; twice: {doubled[:5]}"))
    expected = set(ids)
    try:
        await stack.receiver.wait_for(expected, timeout=webhook_timeout)
        undelivered: set[str] = set()
    except AssertionError:
        undelivered = expected - set(stack.receiver.delivered_ids())
    checks.append(Check("every logged event reached the webhook at least once", not undelivered,
                        f"{len(expected)} events; {len(undelivered)} not delivered within {webhook_timeout:.0f} s"))
    arrivals = stack.receiver.first_arrivals()
    copies = {i: times for i, times in arrivals.items() if len(times) > 1}
    # A copy is a retry when the first one may not have been confirmed: it arrived inside a fault
    # window or shortly before the fault (the cursor is saved once a second, a delivery times out
    # after one).
    resent = [(start - UNCONFIRMED_SECONDS, end) for start, end in windows]
    retries = {i for i, times in copies.items() if inside(times[0], resent)}
    others = sorted(set(copies) - retries)
    checks.append(Check("webhook copies beyond the first only as retries of a faulted delivery", not others,
                        f"{sum(len(t) - 1 for t in copies.values())} extra copies of {len(copies)} events; "
                        f"{len(retries)} retries of a delivery a fault cut short; unexplained: {others[:5]}"))
    for event_id in sorted(copies)[:10]:
        times = copies[event_id]
        nearest = min(journal.faults, key=lambda f: abs(f.start - times[0]))
        notes.append(f"webhook copy: event {event_id} arrived {len(times)} times, at "
                     + ", ".join(f"{t - nearest.start:+.1f} s" for t in times) + f" from the start of '{nearest.name}'")
    notes.append(f"audit log: {len(events)} events ({Counter(e['action'] for e in events)}); deliveries: "
                 f"{len(stack.receiver.deliveries)} POSTs")
    return checks, notes


async def judge(stack: Stack, journal: Journal, run_end: float, webhook_timeout: float) -> Outcome:
    outcome = availability(journal, stack, run_end)
    timeout = aiohttp.ClientTimeout(total=30, sock_connect=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        outcome.checks.insert(0, await byte_for_byte(session, journal, stack))
        outcome.checks.insert(1, await api_writes(session, journal, stack))
        checks, notes = await events_and_webhooks(session, journal, stack, outcome.windows, webhook_timeout)
    outcome.checks[2:2] = checks
    outcome.notes += notes
    return outcome
