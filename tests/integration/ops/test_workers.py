"""`serve --workers N`: several processes answer on one port (SO_REUSEPORT), /metrics adds up all of
them, SIGTERM to the supervisor stops every worker, and each worker has an index of its own
(its webhook lease holder id), kept by the one started in place of a dead worker."""

from __future__ import annotations

import fcntl
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.ops.helpers import get, samples, value, wait_until
from tests.support.processes import Gateway

REQUESTS = 60


def worker_pids(supervisor: int) -> set[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def worker_index(pid: int) -> int:
    """The index the supervisor gave the worker: the last argument of its command line. A worker
    just forked still shows the supervisor's command line until it has started its own, so that
    is waited for (it ends in the index)."""
    last = wait_until(
        lambda: Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")[-1], lambda arg: arg.isdigit(),
    )
    return int(last)


def lock_held(path: Path) -> bool:
    """Whether a live process holds the lock on `path` (trying to take it, and letting it go)."""
    with path.open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_workers_answer_on_one_port_and_stop_together(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway({"GATEWAY_SERVER_WORKERS": "2", "GATEWAY_LOG_FORMAT": "json"})
    assert gateway.process is not None
    workers = wait_until(lambda: worker_pids(gateway.process.pid), lambda pids: len(pids) == 2)  # type: ignore[union-attr]
    assert len(workers) == 2, workers
    # Both must be listening before the load starts; each answers /healthz once it is up.
    wait_until(lambda: get(f"{gateway.url}/readyz")[0], lambda status: status == 200)
    wait_until(gateway.log_text, lambda text: text.count("serving on http") == 2)

    before = samples(gateway.url)
    for _ in range(REQUESTS):  # a new connection each time (urllib closes it): the kernel picks a worker
        assert get(f"{gateway.url}/healthz")[0] == 200

    def counted() -> float:
        after = samples(gateway.url)
        return value(after, "gateway_http_requests_total", route="healthz") - value(before, "gateway_http_requests_total", route="healthz")

    # A request is counted when its access line is written, just after the client has its answer.
    total = wait_until(counted, lambda n: n >= REQUESTS)
    assert total == REQUESTS, "/metrics on any worker reports the requests of all workers"

    def answered_by() -> set[int]:
        access = [json.loads(line) for line in gateway.log_text().splitlines() if line.startswith("{")]
        return {line["pid"] for line in access if line.get("logger") == "gateway.access" and line["path"] == "/healthz"}

    # Access lines are written in batches, a fraction of a second after the answer.
    pids = wait_until(answered_by, lambda found: found == workers)
    assert pids == workers, f"requests answered by {pids}, workers are {workers}"
    assert sorted(worker_index(pid) for pid in workers) == [0, 1]
    data = gateway.workdir / "data"
    assert lock_held(data / "holder-0.lock") and lock_held(data / "holder-1.lock"), "each worker holds its own holder id"

    gateway.process.send_signal(signal.SIGTERM)
    assert gateway.process.wait(20) == 0
    assert not any(alive(pid) for pid in workers)
    assert "supervisor: all workers stopped" in gateway.log_text()


@pytest.mark.slow
def test_a_worker_that_dies_is_replaced(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway({"GATEWAY_SERVER_WORKERS": "2"})
    assert gateway.process is not None
    supervisor = gateway.process.pid
    workers = wait_until(lambda: worker_pids(supervisor), lambda pids: len(pids) == 2)
    # Past the early-exit window, a crash is replaced rather than taken as a failed start.
    wait_until(gateway.log_text, lambda text: False, timeout=5.5)
    victim = min(workers)
    indexes = {pid: worker_index(pid) for pid in workers}
    os.kill(victim, signal.SIGKILL)
    replaced = wait_until(lambda: worker_pids(supervisor), lambda pids: len(pids) == 2 and victim not in pids)
    assert len(replaced) == 2 and victim not in replaced, replaced
    [successor] = replaced - workers
    assert worker_index(successor) == indexes[victim], "the new worker takes the dead one's webhook leases back"
    assert f"worker {victim} exited with -9; starting a new one" in gateway.log_text()
    assert wait_until(lambda: get(f"{gateway.url}/readyz")[0], lambda status: status == 200) == 200
