"""glibc's heap kept from handing streamed body buffers back to the kernel piece by piece.

An upload passes through the gateway as buffers of 32 KiB to a few hundred KiB (a read from
the client's socket, the pieces the HTTP parser cuts from it), each freed a moment after it
is sent on. With glibc's defaults, buffers of that size are often mapped and unmapped one by
one, or the top of the heap is trimmed and grown again (strace counted ~3,000 brk calls per
GiB uploaded), and every page of every buffer is then faulted in and zeroed afresh: measured
on a chunked 1 GiB PATCH, 0.2-0.3 s of the gateway's system CPU per GiB. Keeping up to
`TRIM_THRESHOLD` free at the top of the heap and serving buffers under `MMAP_THRESHOLD` from
it reuses the same pages instead; that much memory may stay resident after a burst.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

# mallopt parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 16 * 1024 * 1024
MMAP_THRESHOLD = 4 * 1024 * 1024


def keep_freed_buffers() -> bool:
    """Apply the settings above; False where there is no glibc-like mallopt (nothing changed)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    applied: bool = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not applied:
        log.info("heap: mallopt refused the thresholds; glibc's defaults stay")
    return applied
