"""The registry's blob garbage collector as a child process, and the storage it frees.

`gc.command` is the collector's command line (registry 2.8: `docker-registry garbage-collect
--delete-untagged CONFIG`). Its output is read line by line as it comes: the repositories and
manifests it marks, the summary (`N blobs marked, M blobs and K manifests eligible for
deletion`) and each `blob eligible for deletion: DIGEST` make the progress shown while it runs.
A dry run appends `--dry-run`: the collector then only says what it would delete.

On a storage no blob was ever pushed to, registry 2.8's collector fails (`Path not found:
/docker/registry/v2/repositories`, or `.../blobs` when a first push never finished): the failure
says so (`no_storage`), and `holds_no_blobs` tells whether the storage directory agrees.

Bytes are measured on the storage directory (the registry's `rootdirectory`) as the space its
files take on disk, before and after; with S3 storage there is no directory and no figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

_SUMMARY = re.compile(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion")
_ELIGIBLE_BLOB = re.compile(r"blob eligible for deletion: (sha256:[0-9a-f]{64})")
_MARKING_MANIFEST = re.compile(r": marking manifest ")
_NO_STORAGE = re.compile(r"Path not found: /docker/registry/v2/(?:repositories|blobs)\s*$")
_ROOT_DIRECTORY = re.compile(r"^\s*rootdirectory:\s*['\"]?([^'\"#\s]+)", re.MULTILINE)
_KEPT_OUTPUT = 20  # lines of the collector's output kept for the report of a failure
_MAX_LINE = 64 * 1024
_V2 = Path("docker", "registry", "v2")


class CollectorFailed(Exception):
    """The collector could not start, failed or ran too long; the message says which.
    `no_storage`: it failed saying its storage has no repositories or no blobs directory."""

    def __init__(self, message: str, *, no_storage: bool = False) -> None:
        super().__init__(message)
        self.no_storage = no_storage


@dataclass
class Tally:
    """What the collector's output said so far."""

    manifests_marked: int = 0
    blobs_marked: int | None = None
    blobs_eligible: int | None = None
    manifests_eligible: int | None = None
    blobs_listed: int = 0
    no_storage: bool = False  # it said the storage has no repositories or no blobs directory

    def read(self, line: str) -> str | None:
        """Count one line; the digest of a blob it names as eligible for deletion, if any."""
        if _NO_STORAGE.search(line):
            self.no_storage = True
        elif _MARKING_MANIFEST.search(line):
            self.manifests_marked += 1
        elif (summary := _SUMMARY.search(line)) is not None:
            self.blobs_marked, self.blobs_eligible, self.manifests_eligible = map(int, summary.groups())
        elif (eligible := _ELIGIBLE_BLOB.search(line)) is not None:
            self.blobs_listed += 1
            return eligible.group(1)
        return None

    def text(self) -> str:
        if self.blobs_eligible is None:
            return f"marking: {self.manifests_marked} manifests marked"
        return (
            f"sweeping: blob {self.blobs_listed} of {self.blobs_eligible} eligible"
            f" ({self.manifests_eligible} manifests eligible, {self.blobs_marked} blobs kept)"
        )

    def fraction(self) -> float | None:
        if not self.blobs_eligible:
            return None
        return min(self.blobs_listed / self.blobs_eligible, 1.0)


def registry_root(command: Sequence[str]) -> Path | None:
    """The `storage.filesystem.rootdirectory` of the registry config the command names, if any."""
    for argument in command:
        if argument.endswith((".yml", ".yaml")):
            try:
                match = _ROOT_DIRECTORY.search(Path(argument).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
            if match is not None:
                return Path(match.group(1))
    return None


def disk_usage(root: Path) -> int:
    """Bytes the files under `root` take on disk (blocks allocated), read in the caller's thread."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
    return total


def holds_no_blobs(root: Path) -> bool:
    """True when `root` is a directory without the registry's blob store: no push ever committed
    a blob there (the registry makes `docker/registry/v2/blobs` at the first). False when `root`
    is not a directory: a missing storage is not an empty one."""
    return root.is_dir() and not (root / _V2 / "blobs").exists()


def blob_bytes(root: Path, digests: Sequence[str]) -> int:
    """Bytes on disk of the blobs named, in the registry's filesystem layout."""
    total = 0
    for digest in digests:
        hexa = digest.removeprefix("sha256:")
        path = root / _V2 / "blobs" / "sha256" / hexa[:2] / hexa / "data"
        with contextlib.suppress(OSError):
            total += path.stat().st_blocks * 512
    return total


Progress = Callable[[Tally], None]


@dataclass(frozen=True)
class Collected:
    tally: Tally
    eligible: tuple[str, ...]


async def run_collector(command: Sequence[str], *, dry_run: bool, timeout: float, progress: Progress) -> Collected:
    """Run the collector to its end (killed after `timeout` seconds, or when cancelled)."""
    argv = [*command, "--dry-run"] if dry_run else list(command)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            limit=_MAX_LINE,
        )
    except OSError as exc:
        raise CollectorFailed(f"the collector {argv[0]!r} could not start: {exc.strerror or exc}") from None
    assert process.stdout is not None
    tally, eligible, tail = Tally(), list[str](), list[str]()
    try:
        async with asyncio.timeout(timeout):
            while (line := await _line(process.stdout)) is not None:
                digest = tally.read(line)
                if digest is not None:
                    eligible.append(digest)
                tail = [*tail[-(_KEPT_OUTPUT - 1):], line]
                progress(tally)
            status = await process.wait()
    except TimeoutError:
        raise CollectorFailed(f"the collector ran longer than {timeout:g} s and was stopped") from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if status != 0:
        said = " | ".join(tail[-3:]) or "no output"
        raise CollectorFailed(f"the collector exited with status {status}: {said}"[:1000], no_storage=tally.no_storage)
    return Collected(tally, tuple(eligible))


async def _line(stream: asyncio.StreamReader) -> str | None:
    """The next line of output (None at the end); an overlong line is cut, not fatal."""
    try:
        raw = await stream.readline()
    except ValueError:  # longer than the limit: drop what is buffered
        raw = await stream.read(_MAX_LINE) or b" "
    return raw.decode("utf-8", errors="replace").rstrip("\r\n") if raw else None
