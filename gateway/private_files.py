"""Files only the gateway's own user may read: the data dir (0700) and what it holds (0600).

The SQLite store holds password hashes and sealed webhook secrets, the data dir the signing and
secrets keys; none of it is for other local users. SQLite gives its -wal and -shm files the
mode of the database file, so creating that one 0600 covers all three.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, *, tighten: bool = True) -> None:
    """Create `path` (and missing parents) 0700. An existing one that group or others may enter
    is tightened to 0700 with a warning (or only warned about with `tighten=False`, and always
    when shared: sticky, like /tmp, or not ours)."""
    if not path.exists():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return
    shared = bool(path.stat().st_mode & stat.S_ISVTX) or path.stat().st_uid != os.geteuid()
    if tighten and not shared:
        path.chmod(DIR_MODE)
        log.warning("data dir %s was mode %04o (readable by other users); tightened to 0700", path, mode)
    else:
        log.warning("%s is mode %04o: other local users may read the gateway's files there; make it 0700", path, mode)


def private_file(path: Path) -> None:
    """Make sure `path` exists with mode 0600 (created so, or an existing one narrowed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def write_private_file(path: Path, data: bytes, *, replace: bool) -> bool:
    """Write `path` (0600) in one step: a reader sees the old content or the new, never half.
    Without `replace`, an existing file wins and False is returned."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp, path)
            return True
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        return True
    finally:
        temp.unlink(missing_ok=True)
