"""The soak's judging of recovery and fault windows, on a made-up journal (the short soak cannot
make a slow recovery happen on purpose)."""

from __future__ import annotations

import pytest

from tests.soak.checks import event_time, fault_windows, recovery_times
from tests.soak.records import Fault, Journal, Op


def journal_with_a_kill() -> Journal:
    journal = Journal(faults=[Fault("kill -9 gateway a", "a", start=100.0, end=103.0)])
    for kind in ("push", "pull", "token", "api"):
        journal.ops.append(Op(kind, "b", 103.5, 103.6, True))  # the other instance: says nothing of a's recovery
        journal.ops.append(Op(kind, "a", 102.0, 104.0, True))  # started before the end: does not count
        journal.ops.append(Op(kind, "a", 103.2, 103.9, False))
    journal.ops += [Op(kind, "a", 104.0, 105.5, True) for kind in ("push", "pull", "token")]
    return journal


def test_recovery_counts_the_first_success_on_the_killed_instance_started_after_the_fault() -> None:
    times = recovery_times(journal_with_a_kill())["kill -9 gateway a"]
    assert times == {"push": 2.5, "pull": 2.5, "token": 2.5, "api": None}


def test_a_kind_that_never_recovers_stretches_the_window_to_the_end_of_the_run() -> None:
    journal = journal_with_a_kill()
    assert fault_windows(journal, recovery_times(journal), run_end=400.0) == [(100.0, 400.0)]
    journal.ops.append(Op("api", "a", 103.1, 103.4, True))
    assert fault_windows(journal, recovery_times(journal), run_end=400.0) == [(100.0, 105.5)]


def testevent_timestamps_with_nanoseconds_read_as_unix_time() -> None:
    assert event_time("2026-12-05T08:30:00.123456789Z") == pytest.approx(1796459400.123457, abs=1e-6)
    assert event_time("2026-12-05T08:30:00Z") == 1796459400.0
