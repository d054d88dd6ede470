"""Streamed body buffers reuse the heap's pages instead of faulting in fresh ones each time."""

from __future__ import annotations

import subprocess
import sys

from tests.support.processes import REPO_ROOT

# Batches of buffers the size of socket reads and joined upload pieces, freed together, as an
# upload does them; the page faults of the second half are counted (the first warms the heap).
_CHURN = """
import resource, sys
from gateway.ops.heap import keep_freed_buffers
applied = keep_freed_buffers()
def churn():
    for i in range(300):
        held = [bytes(200 * 1024 + 4096 * (i % 8)) for _ in range(6)]
        del held
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_freed_upload_sized_buffers_are_reused_without_page_faults() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CHURN], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60, check=True
    )
    applied, faults = result.stdout.split()
    assert applied == "True"
    # glibc's defaults fault in every page of every batch here: about 50,000 faults.
    assert int(faults) < 2_000, faults
