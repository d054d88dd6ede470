"""What a process tree costs: CPU seconds (utime + stime from /proc/PID/stat) and resident memory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; everything after its closing paren is plain.
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (a `serve --workers N` supervisor and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, ()))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its descendants so far."""
    total = 0
    for member in descendants(pid):
        fields = _stat_fields(member)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / _TICKS


def cpu_seconds_fine(pid: int) -> float:
    """The same to the nanosecond (each thread's time on a CPU from /proc/PID/task/TID/schedstat)
    where `cpu_seconds` counts in ticks of 10 ms: for what costs a few ticks. A thread that ends
    between two readings takes its time with it; the gateway's threads live as long as it does."""
    total = 0
    for member in descendants(pid):
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{member}/task"):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int(Path(f"/proc/{member}/task/{task}/schedstat").read_text().split()[0])
    return total / 1e9


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    return sum(_status_kib(p, "VmRSS") for p in descendants(pid))


def reset_peak(pid: int) -> None:
    """Reset VmHWM (peak RSS) to the current RSS for the tree (needs the right to write clear_refs)."""
    for member in descendants(pid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{member}/clear_refs").write_text("5")


def peak_rss_kib(pid: int) -> int:
    return sum(_status_kib(p, "VmHWM") for p in descendants(pid))
