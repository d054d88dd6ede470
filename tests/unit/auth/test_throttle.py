"""The login throttle: bounded, and no flood of other failures buys a throttled key a fresh start."""

from __future__ import annotations

from gateway.auth.throttle import LoginThrottle

ADDRESS = "10.0.0.9"


def _throttled_alice(throttle: LoginThrottle, now: float = 1000.0) -> None:
    for n in range(3):
        throttle.failed("alice", ADDRESS, now + n)
    assert throttle.retry_after("alice", ADDRESS, now + 3) > 0


def test_alice_stays_throttled_after_a_flood_of_failures_for_other_users() -> None:
    throttle = LoginThrottle(max_failures=3, window_seconds=300)
    _throttled_alice(throttle)
    for n in range(101_000):  # more than the table holds
        throttle.failed(f"user{n}", ADDRESS, 1010.0)
    assert throttle.retry_after("alice", ADDRESS, 1011.0) > 0


def test_the_table_keeps_the_most_recent_failures_when_full() -> None:
    throttle = LoginThrottle(max_failures=3, window_seconds=300, watched_limit=10, blocked_limit=10)
    throttle.failed("early", ADDRESS, 1000.0)
    throttle.failed("early", ADDRESS, 1001.0)
    for n in range(10):
        throttle.failed(f"user{n}", ADDRESS, 1002.0 + n)
    throttle.failed("user9", ADDRESS, 1020.0)
    assert len(throttle) == 10
    throttle.failed("early", ADDRESS, 1021.0)
    assert throttle.retry_after("early", ADDRESS, 1022.0) == 0, "its two older failures were evicted, not kept"
    throttle.failed("user9", ADDRESS, 1023.0)
    assert throttle.retry_after("user9", ADDRESS, 1024.0) > 0, "the most recent failures were kept"


def test_throttled_keys_are_bounded_too_and_the_one_nearest_its_end_goes_first() -> None:
    throttle = LoginThrottle(max_failures=2, window_seconds=300, watched_limit=10, blocked_limit=3)
    for n in range(4):
        throttle.failed(f"user{n}", ADDRESS, 1000.0 + n)
        throttle.failed(f"user{n}", ADDRESS, 1000.5 + n)
    assert len(throttle) == 3
    assert throttle.retry_after("user0", ADDRESS, 1010.0) == 0
    assert all(throttle.retry_after(f"user{n}", ADDRESS, 1010.0) > 0 for n in (1, 2, 3))


def test_failures_past_the_window_are_forgotten() -> None:
    throttle = LoginThrottle(max_failures=3, window_seconds=300)
    _throttled_alice(throttle)
    assert throttle.retry_after("alice", ADDRESS, 1000.0 + 303) == 0
    throttle.failed("bob", ADDRESS, 2000.0)
    assert len(throttle) == 1


def test_a_long_user_name_costs_what_a_short_one_does() -> None:
    throttle = LoginThrottle(max_failures=3, window_seconds=300)
    for n in range(3):
        throttle.failed("x" * 4096, ADDRESS, 1000.0 + n)
    assert throttle.retry_after("x" * 4096, ADDRESS, 1004.0) > 0
    assert throttle.retry_after("x" * 4095, ADDRESS, 1004.0) == 0
    assert throttle.retry_after("x" * 4096, "10.0.0.10", 1004.0) == 0


def test_a_success_clears_the_key() -> None:
    throttle = LoginThrottle(max_failures=3, window_seconds=300)
    _throttled_alice(throttle)
    throttle.succeeded("alice", ADDRESS)
    assert throttle.retry_after("alice", ADDRESS, 1004.0) == 0
