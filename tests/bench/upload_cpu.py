"""Gateway CPU seconds per GiB uploaded in one chunked-transfer PATCH: `python -m tests.bench.upload_cpu`.

Three ways of pushing the same amount, each repeated, the gateway's CPU (utime + stime of the
process tree, from /proc) read before and after each push, the median printed:
- `skopeo`: a skopeo push of an image of a few big pseudo-random layers (skopeo gzips each and
  sends it as one PATCH with chunked encoding, flushing every 32 KiB chunk and then its closing
  CRLF on its own);
- `aiohttp`: one blob PATCHed by an aiohttp client from an iterator of 32 KiB pieces (chunked
  encoding, each chunk written whole);
- `split`: the same from a bare socket, writing each chunk's header and bytes, then its CRLF, as
  two sends like skopeo does, with no compression to share the cores with.

And the floor the skopeo figure stands on, on this machine:
- `relay`: the same skopeo pushes through a bare byte relay in front of the same registry
  (tests/bench/relay.py: uvloop, no parsing, no copy in user space), its CPU per GiB. With
  `skopeo` in the same run, the gateway's figure is also printed as a multiple of it: CPU
  seconds per GiB differ from one machine to the next by a third or more, the ratio much less.

And what a push costs besides its bytes, which per GiB weighs the more the smaller the image:
- `requests`: gateway CPU in ms per request of each kind a blob's upload makes (HEAD, POST,
  PATCH, PUT), each kind timed over `--requests` uploads of 1 KiB blobs;
- `small`: gateway CPU in ms per skopeo push of a 1 MiB image of four layers, as the bench's.

The stack is the bench's (tests/bench/stack.py): the registry on a Unix socket as the gateway's
upstream, `upstream.storage_dir` set, the store SQLite or (`--store mariadb`) a fresh MariaDB
database. CPU time, not wall time: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import random
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp

from tests.bench import sysstat
from tests.bench.common import Bench, GiB, MiB, Plan, median, say, written_back
from tests.bench.databases import MariaDB
from tests.bench.images import Skopeo, build_image
from tests.bench.stack import Stack, fetch_token, warm_logins
from tests.support.processes import free_port

REPOSITORY = "alice/bench-upload-cpu"
_UNITS = {
    "skopeo": "s gateway CPU per GiB", "aiohttp": "s gateway CPU per GiB", "split": "s gateway CPU per GiB",
    "relay": "s relay CPU per GiB", "skopeo/relay": "x", "small": "ms gateway CPU per push",
}
CHUNK = 32 * 1024


class BigLayers(Skopeo):
    """skopeo pushing images of 128 MiB layers, however big the image."""

    def _fresh_layout(self) -> Path:
        self.count += 1
        size = self.bench.plan.image_bytes
        return build_image(self.bench.workdir / f"image{self.count}", size, self.count, max(1, size // (128 * MiB)))


class Pieces:
    """`size` pseudo-random bytes in CHUNK pieces, the same every time, made once."""

    def __init__(self, size: int) -> None:
        block = random.Random(size).randbytes(8 * MiB)
        self.size = size
        self.block = block
        digest = hashlib.sha256()
        for piece in self:
            digest.update(piece)
        self.digest = "sha256:" + digest.hexdigest()

    def __iter__(self) -> Iterator[bytes]:
        view = memoryview(self.block)
        sent = 0
        while sent < self.size:
            offset = sent % len(self.block)
            piece = view[offset : offset + min(CHUNK, self.size - sent)]
            sent += len(piece)
            yield bytes(piece)


async def _start(session: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> str:
    async with session.post(f"{base}/v2/{REPOSITORY}/blobs/uploads/", headers=headers) as response:
        if response.status != 202:
            raise RuntimeError(f"upload POST: {response.status} {await response.text()}")
        return urljoin(base + "/", response.headers["Location"])


async def _finish(session: aiohttp.ClientSession, location: str, headers: dict[str, str], digest: str) -> None:
    separator = "&" if "?" in location else "?"
    async with session.put(f"{location}{separator}digest={digest}", headers={**headers, "Content-Length": "0"}) as response:
        if response.status != 201:
            raise RuntimeError(f"closing PUT: {response.status} {await response.text()}")


async def push_aiohttp(session: aiohttp.ClientSession, base: str, headers: dict[str, str], pieces: Pieces) -> None:
    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    location = await _start(session, base, headers)
    patch_headers = {**headers, "Content-Type": "application/octet-stream"}
    async with session.patch(location, data=body(), headers=patch_headers) as response:
        if response.status != 202:
            raise RuntimeError(f"PATCH: {response.status} {await response.text()}")
        location = urljoin(base + "/", response.headers["Location"])
    await _finish(session, location, headers, pieces.digest)


async def push_split(session: aiohttp.ClientSession, base: str, headers: dict[str, str], pieces: Pieces) -> None:
    location = await _start(session, base, headers)
    url = urlsplit(location)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        head = [f"PATCH {url.path}?{url.query} HTTP/1.1", f"Host: {url.netloc}", "Transfer-Encoding: chunked",
                "Content-Type: application/octet-stream", *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        for piece in pieces:
            writer.write(f"{len(piece):x}\r\n".encode() + piece)
            await writer.drain()
            writer.write(b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        status_line = await reader.readline()
        answer: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            answer[name.strip().lower()] = value.strip()
    finally:
        writer.close()
    if b" 202 " not in status_line:
        raise RuntimeError(f"PATCH: {status_line!r}")
    await _finish(session, urljoin(base + "/", answer["location"]), headers, pieces.digest)


async def per_request(session: aiohttp.ClientSession, base: str, headers: dict[str, str], pid: int, count: int) -> dict[str, float]:
    """Gateway CPU ms per request of each kind, each kind `count` times in a row (a /proc tick is
    10 ms: one request alone cannot be timed)."""
    blobs = [os.urandom(1024) for _ in range(count)]
    digests = ["sha256:" + hashlib.sha256(blob).hexdigest() for blob in blobs]
    locations: list[str] = []
    results: dict[str, float] = {}

    async def head(i: int) -> None:
        async with session.head(f"{base}/v2/{REPOSITORY}/blobs/{digests[i]}", headers=headers) as response:
            if response.status != 404:
                raise RuntimeError(f"HEAD: {response.status}")

    async def post(i: int) -> None:
        locations.append(await _start(session, base, headers))

    async def patch(i: int) -> None:
        async def body() -> AsyncIterator[bytes]:
            yield blobs[i]

        patch_headers = {**headers, "Content-Type": "application/octet-stream"}
        async with session.patch(locations[i], data=body(), headers=patch_headers) as response:
            if response.status != 202:
                raise RuntimeError(f"PATCH: {response.status} {await response.text()}")
            locations[i] = urljoin(base + "/", response.headers["Location"])

    async def put(i: int) -> None:
        await _finish(session, locations[i], headers, digests[i])

    for label, one in (("HEAD (404)", head), ("POST", post), ("PATCH 1 KiB chunked", patch), ("PUT ?digest", put)):
        before = sysstat.cpu_seconds(pid)
        for i in range(count):
            await one(i)
        results[label] = (sysstat.cpu_seconds(pid) - before) / count * 1000
        say(f"{label}: {results[label]:.2f} ms of gateway CPU per request")
    return results


async def _per_push(pid: int, repeats: int, push: Callable[[], Awaitable[object]]) -> float:
    """Median gateway CPU ms of a push whose bytes are too few to count, read to the nanosecond:
    /proc's ticks of 10 ms are a third of such a push."""
    figures = []
    for _ in range(repeats):
        before = sysstat.cpu_seconds_fine(pid)
        await push()
        figures.append((sysstat.cpu_seconds_fine(pid) - before) * 1000)
    say(f"skopeo push of 1 MiB in 4 layers: median {median(figures):.1f} ms of gateway CPU ({', '.join(f'{f:.1f}' for f in figures)})")
    return median(figures)


async def _cpu_per_gib(pid: int, size: int, push: Callable[[], Awaitable[object]]) -> float:
    """CPU seconds per GiB that `pid` (and its workers) spent on one push of `size` bytes, started
    after a `sync` so that it does not pay for the write-back of the push before."""
    await written_back()
    before = sysstat.cpu_seconds(pid)
    await push()
    return (sysstat.cpu_seconds(pid) - before) / (size / GiB)


async def _measure(label: str, pid: int, repeats: int, size: int, push: Callable[[], Awaitable[object]]) -> float:
    figures = []
    for _ in range(repeats):
        figures.append(await _cpu_per_gib(pid, size, push))
        say(f"  {label}: {figures[-1]:.3f} s/GiB")
    result = median(figures)
    say(f"{label}: median {result:.3f} s of gateway CPU per GiB ({', '.join(f'{f:.3f}' for f in figures)})")
    return result


@contextlib.asynccontextmanager
async def bare_relay(upstream_socket: Path) -> AsyncIterator[tuple[str, int]]:
    """tests/bench/relay.py in front of the registry's socket: (host:port, pid)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bench.relay", f"127.0.0.1:{port}", str(upstream_socket),
        stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if line.strip() != b"ready":
            raise RuntimeError(f"the relay did not start: {line!r}")
        yield f"127.0.0.1:{port}", process.pid
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def _against_relay(
    stack: Stack, session: aiohttp.ClientSession, workdir: Path, repeats: int, size: int, with_gateway: bool
) -> dict[str, float]:
    """The bare relay's CPU per GiB of skopeo pushes and, `with_gateway`, the gateway's for pushes
    alternated with them: a push through each in turn, so that both meet the machine in the same
    state, and the ratio of each pair (this VM's CPU seconds per GiB drift by a fifth and more
    between runs)."""
    assert stack.gateway is not None and stack.upstream is not None and stack.upstream.socket is not None
    gateway, gateway_pid = stack.gateway, stack.pid()
    plan = Plan(False, repeats, 5.0, 0, 0, size, 0, 0)
    pushes = BigLayers(Bench(stack, plan, session, workdir))
    relay: list[float] = []
    through: list[float] = []
    async with bare_relay(stack.upstream.socket) as (host, relay_pid):
        for _ in range(repeats):
            relay.append(await _cpu_per_gib(relay_pid, size, lambda: pushes.push(host, False)))
            if with_gateway:
                through.append(await _cpu_per_gib(gateway_pid, size, lambda: pushes.push(gateway.host, True)))
                say(f"  relay {relay[-1]:.3f}, gateway {through[-1]:.3f} s/GiB")
            else:
                say(f"  relay {relay[-1]:.3f} s/GiB")
    results = {"relay": median(relay)}
    say(f"skopeo push through the bare relay: median {results['relay']:.3f} s of its CPU per GiB")
    if through:
        results["skopeo"] = median(through)
        results["skopeo/relay"] = median([t / r for t, r in zip(through, relay, strict=True)])
        say(f"skopeo push through the gateway: median {results['skopeo']:.3f} s of its CPU per GiB; "
            f"{results['skopeo/relay']:.2f}x the relay's (median of the pairs)")
    return results


async def _run(args: argparse.Namespace) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="portus-upload-cpu-"))
    mariadb = MariaDB.at(args.mariadb_url) if args.store == "mariadb" else None
    stack = Stack(workdir, workers=args.workers, with_hooked=False, databases=mariadb.create if mariadb else None)
    size = int(args.gib * GiB)
    results: dict[str, float] = {}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
    try:
        await stack.start()
        assert stack.gateway is not None
        base, pid = stack.gateway.url, stack.pid()
        await warm_logins(base)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            token = await fetch_token(session, base, f"repository:{REPOSITORY}:pull,push")
            headers = {"Authorization": f"Bearer {token}"}
            if "relay" in args.ways:
                results.update(await _against_relay(stack, session, workdir, args.repeats, size, "skopeo" in args.ways))
            elif "skopeo" in args.ways:
                plan = Plan(False, args.repeats, 5.0, 0, 0, size, 0, 0)
                skopeo = BigLayers(Bench(stack, plan, session, workdir))
                results["skopeo"] = await _measure(
                    "skopeo push", pid, args.repeats, size, lambda: skopeo.push(stack.gateway.host, True)  # type: ignore[union-attr]
                )
            if "small" in args.ways:
                plan = Plan(False, args.repeats, 5.0, 0, 0, 1 * MiB, 0, 0)
                small = Skopeo(Bench(stack, plan, session, workdir))
                results["small"] = await _per_push(pid, args.repeats, lambda: small.push(stack.gateway.host, True))  # type: ignore[union-attr]
            if "requests" in args.ways:
                results.update(await per_request(session, base, headers, pid, args.requests))
            pieces = Pieces(size)
            if "aiohttp" in args.ways:
                results["aiohttp"] = await _measure(
                    "aiohttp chunked PATCH", pid, args.repeats, size, lambda: push_aiohttp(session, base, headers, pieces)
                )
            if "split" in args.ways:
                results["split"] = await _measure(
                    "split-CRLF chunked PATCH", pid, args.repeats, size, lambda: push_split(session, base, headers, pieces)
                )
    finally:
        await stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if mariadb is not None:
            mariadb.drop_all()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.upload_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=1.0, help="GiB per push (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="pushes per way (default %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument("--ways", default="skopeo,aiohttp,split", help="comma-separated: %(default)s, relay, small, requests")
    parser.add_argument("--requests", type=int, default=300, help="uploads per request kind (way `requests`)")
    parser.add_argument("--store", choices=("sqlite", "mariadb"), default="sqlite", help="the gateway's store")
    parser.add_argument("--mariadb-url", default=None, help="the MariaDB server for --store mariadb")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    args.ways = {w.strip() for w in args.ways.split(",")}
    results = asyncio.run(_run(args))
    for way, figure in results.items():
        unit = _UNITS.get(way, "ms gateway CPU per request")
        print(f"{way}: {figure:.3f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
