"""Load generators: `wrk` for GET (it hangs on HEAD), `hey` for HEAD; both bounded by a duration.

Each run reports requests/s, p50 and p99 latency, errors (non-2xx included) and the CPU the load
generator itself used, so a table can show it was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import functools
import re
import resource
import shutil
import tempfile
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from tests.bench import sysstat

_WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    loadgen_cpu_s: float
    server_cpu_s: float = 0.0  # every process serving this side (the gateway side: gateway + registry)
    gateway_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def per_request_ms(self, cpu_s: float) -> float:
        return cpu_s * 1000 / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self), "rps": round(self.rps, 1),
            "server_cpu_ms_per_request": round(self.per_request_ms(self.server_cpu_s), 3),
            "gateway_cpu_ms_per_request": round(self.per_request_ms(self.gateway_cpu_s), 3),
        }


async def costed(run: Awaitable[LoadResult], servers: Sequence[int], gateway: int | None) -> LoadResult:
    """`run`, with the CPU the serving processes (and the gateway among them) spent meanwhile."""
    before = [sysstat.cpu_seconds(pid) for pid in servers]
    gateway_before = sysstat.cpu_seconds(gateway) if gateway else 0.0
    result = await run
    server = sum(sysstat.cpu_seconds(pid) - b for pid, b in zip(servers, before, strict=True))
    own = sysstat.cpu_seconds(gateway) - gateway_before if gateway else 0.0
    return replace(result, server_cpu_s=server, gateway_cpu_s=own)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _run(args: list[str], timeout: float) -> tuple[str, float]:
    before = _children_cpu()
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"{args[0]} did not finish within {timeout:.0f}s") from None
    if process.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({process.returncode}): {err.decode(errors='replace')[-2000:]}")
    return out.decode(errors="replace"), _children_cpu() - before


def _header_args(flag: str, headers: dict[str, str]) -> list[str]:
    args: list[str] = []
    for name, value in headers.items():
        args += [flag, f"{name}: {value}"]
    return args


def _lua_string(text: str) -> str:
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\{ord(c):03d}" for c in text) + '"'


def rotating_lua(requests: Sequence[tuple[str, str]]) -> str:
    """A wrk script sending GETs of (path, Authorization) pairs in turn (many users, one run)."""
    if not requests:
        raise ValueError("no requests to rotate through")
    pairs = ",\n".join(f"  {{{_lua_string(path)}, {_lua_string(auth)}}}" for path, auth in requests)
    return f"""
local pairs_ = {{
{pairs}
}}
local requests = {{}}
init = function(args)
  for i, pair in ipairs(pairs_) do
    requests[i] = wrk.format("GET", pair[1], {{["Authorization"] = pair[2]}})
  end
end
local n = 0
request = function()
  n = n % #requests + 1
  return requests[n]
end
""" + _WRK_SCRIPT


def write_script(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def combined(results: Sequence[LoadResult]) -> LoadResult:
    """Runs that went on at the same time (one per instance) as one: requests and CPU add up, the
    slowest run's duration and the worst p50/p99 stand for all (percentiles do not add). The load
    generators' own CPU is the largest one seen: each run's figure is read from RUSAGE_CHILDREN,
    which also holds a sibling that ended first."""
    if not results:
        raise ValueError("no runs to combine")
    return LoadResult(
        requests=sum(r.requests for r in results), seconds=max(r.seconds for r in results),
        p50_ms=max(r.p50_ms for r in results), p99_ms=max(r.p99_ms for r in results),
        errors=sum(r.errors for r in results), loadgen_cpu_s=max(r.loadgen_cpu_s for r in results),
        server_cpu_s=sum(r.server_cpu_s for r in results), gateway_cpu_s=sum(r.gateway_cpu_s for r in results),
    )


@functools.cache
def _wrk_script() -> Path:
    """The wrk script, written to a temporary file once per bench process."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-", delete=False) as handle:
        handle.write(_WRK_SCRIPT)
    return Path(handle.name)


async def wrk(url: str, headers: dict[str, str], connections: int, seconds: float, script: Path | None = None) -> LoadResult:
    """GET `url` with `connections` keep-alive connections for `seconds` (`script`: see `rotating_script`)."""
    threads = 1 if connections < 4 else 2
    args = [
        shutil.which("wrk") or "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(script or _wrk_script()), *_header_args("-H", headers), url,
    ]
    out, cpu = await _run(args, seconds + 30)
    match = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests, duration_us, p50_us, p99_us, errors = (int(g) for g in match.groups())
    return LoadResult(requests, duration_us / 1e6, p50_us / 1000, p99_us / 1000, errors, cpu)


async def hey(url: str, headers: dict[str, str], connections: int, seconds: float, method: str = "HEAD") -> LoadResult:
    """`method` on `url` with `connections` workers for `seconds` (hey, since wrk hangs on HEAD)."""
    args = [
        shutil.which("hey") or "hey", "-z", f"{seconds:g}s", "-c", str(connections), "-m", method, "-t", "10",
        *_header_args("-H", headers), url,
    ]
    out, cpu = await _run(args, seconds + 60)
    total = re.search(r"Total:\s+([\d.]+) secs", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%+ in ([\d.]+) secs", out)
    p99 = re.search(r"99%+ in ([\d.]+) secs", out)
    if not (total and rps and p50 and p99):
        raise RuntimeError(f"unexpected hey output:\n{out}")
    statuses = {int(code): int(count) for code, count in re.findall(r"\[(\d+)\]\s+(\d+) responses", out)}
    requests = sum(statuses.values())
    errors = sum(count for code, count in statuses.items() if code >= 300)
    if "Error distribution:" in out:
        errors += sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s", out.split("Error distribution:", 1)[1], re.MULTILINE))
    seconds_taken = float(total.group(1))
    return LoadResult(requests, seconds_taken, float(p50.group(1)) * 1000, float(p99.group(1)) * 1000, errors, cpu)
