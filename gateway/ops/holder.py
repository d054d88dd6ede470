"""Who this process is among the gateways sharing one database, as the holder of the leases
they share (webhook delivery).

The holder id is the instance id kept in the data dir, the host's name (hashed) and the worker
index of `serve --workers N`, so it survives a restart: a restarted instance (or a worker the
supervisor started again) takes its own lease back at once instead of waiting for it to run
out. Two live processes must never share one, or both would deliver: on one host each keeps an
exclusive lock on a file of its worker index while it runs (the kernel drops it when the
process dies, kill -9 included), and a data dir copied to another host gives another holder
there. A process that finds the lock taken (two instances given one data dir) or has no data
dir uses a random id, and its leases are taken over only when they run out, seconds later.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

from gateway.private_files import FILE_MODE, write_private_file

log = logging.getLogger(__name__)

INSTANCE_FILE = "instance-id"
_INSTANCE_ID = re.compile(r"[0-9a-f]{32}")


def holder_id(instance: str, worker: int, host: str) -> str:
    """What a lease row names: at most 64 characters (instance 32, host 8, worker up to 20)."""
    return f"{instance}-{hashlib.sha256(host.encode()).hexdigest()[:8]}/{worker}"


def random_instance_id() -> str:
    return uuid.uuid4().hex


def parse_instance_id(text: str) -> str | None:
    """The id an instance-id file holds, or None for anything else (empty, edited, cut short)."""
    stripped = text.strip()
    return stripped if _INSTANCE_ID.fullmatch(stripped) else None


def load_or_create_instance_id(data_dir: Path) -> str:
    """The instance id in `data_dir`, created on first use; the workers of one instance starting
    together agree on it (the first file written wins)."""
    path = data_dir / INSTANCE_FILE
    try:
        existing = parse_instance_id(path.read_text(encoding="ascii", errors="replace"))
    except FileNotFoundError:
        existing, present = None, False
    else:
        present = True
    if existing is not None:
        return existing
    if present:
        log.warning("%s does not hold an instance id; writing a new one", path)
    fresh = random_instance_id()
    if write_private_file(path, f"{fresh}\n".encode("ascii"), replace=present):
        return fresh
    return parse_instance_id(path.read_text(encoding="ascii", errors="replace")) or fresh


def _lock(path: Path) -> int | None:
    """An open descriptor holding an exclusive lock on `path`, or None if another process has it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def lease_holder(data_dir: Path | None, worker: int) -> Iterator[str]:
    """This process's holder id for the duration of the block (its lock held that long)."""
    fd: int | None = None
    instance = random_instance_id()
    if data_dir is None:
        log.info("no data dir: a restarted instance waits for its webhook leases to run out")
    else:
        try:
            fd = _lock(data_dir / f"holder-{worker}.lock")
            if fd is None:
                log.warning(
                    "another live gateway uses data dir %s as worker %d: give each instance its own data dir;"
                    " this one delivers webhooks under a random id", data_dir, worker,
                )
            else:
                instance = load_or_create_instance_id(data_dir)
        except OSError as exc:
            log.warning("cannot keep an instance id in %s (%s): a restarted instance waits for its leases", data_dir, exc)
    try:
        yield holder_id(instance, worker, socket.gethostname())
    finally:
        if fd is not None:
            os.close(fd)
