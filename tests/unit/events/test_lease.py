"""The arithmetic of the webhook delivery lease: how long it runs, and when a holder whose
extension failed must stop."""

from __future__ import annotations

from gateway.events.lease import HEARTBEAT_SECONDS, LEASE_MS, lease_until, runs_out_before_next_beat

BEAT_MS = int(HEARTBEAT_SECONDS * 1000)


def test_a_lease_runs_a_few_seconds_from_when_it_was_taken_or_extended() -> None:
    assert lease_until(1_000) == 1_000 + LEASE_MS
    assert LEASE_MS <= 5_000, "a crashed holder is taken over within a few seconds"


def test_a_lease_outlives_two_missed_heartbeats() -> None:
    """A beat delayed by a busy event loop or a slow store does not hand the lease over."""
    assert LEASE_MS >= 3 * BEAT_MS


def test_a_holder_that_cannot_extend_stops_before_its_lease_may_be_taken() -> None:
    until = lease_until(0)
    assert not runs_out_before_next_beat(0, until)
    assert not runs_out_before_next_beat(until - BEAT_MS - 1, until)
    assert runs_out_before_next_beat(until - BEAT_MS, until)
    assert runs_out_before_next_beat(until + 1, until)
