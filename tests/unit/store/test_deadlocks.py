"""A MariaDB deadlock (or lock wait timeout) is a Deadlock, which `again_on_deadlock` runs again a
bounded number of times, each after a random pause that doubles; every other driver error stays
a plain StoreUnavailable."""

from __future__ import annotations

import pytest
from asyncmy import errors as driver

from gateway.store import Deadlock, StoreUnavailable, sql
from gateway.store.mysql import unavailable
from gateway.store.sql import DEADLOCK_ATTEMPTS, DEADLOCK_PAUSE, again_on_deadlock


@pytest.mark.parametrize(("code", "deadlock"), [(1213, True), (1205, True), (2013, False), (1146, False)])
def test_deadlocks_and_lock_wait_timeouts_are_told_apart(code: int, deadlock: bool) -> None:
    error = unavailable(driver.OperationalError(code, "message"))
    assert isinstance(error, StoreUnavailable)
    assert isinstance(error, Deadlock) is deadlock


def test_a_connection_error_is_no_deadlock() -> None:
    assert not isinstance(unavailable(OSError("connection refused")), Deadlock)


async def test_a_deadlocked_block_runs_again_until_it_succeeds() -> None:
    calls: list[int] = []

    async def block() -> str:
        calls.append(1)
        if len(calls) < DEADLOCK_ATTEMPTS:
            raise Deadlock("Deadlock found when trying to get lock")
        return "done"

    assert await again_on_deadlock(block) == "done"
    assert len(calls) == DEADLOCK_ATTEMPTS


async def test_the_last_deadlock_and_other_errors_are_raised() -> None:
    calls: list[int] = []

    async def always() -> None:
        calls.append(1)
        raise Deadlock("again")

    with pytest.raises(Deadlock):
        await again_on_deadlock(always)
    assert len(calls) == DEADLOCK_ATTEMPTS

    async def unreachable() -> None:
        calls.append(1)
        raise StoreUnavailable("gone")

    with pytest.raises(StoreUnavailable):
        await again_on_deadlock(unreachable)
    assert len(calls) == DEADLOCK_ATTEMPTS + 1, "an error that is no deadlock is not run again"



async def test_a_block_deadlocked_four_times_in_a_row_is_run_a_fifth_time() -> None:
    calls: list[int] = []

    async def block() -> str:
        calls.append(1)
        if len(calls) <= 4:
            raise Deadlock("Deadlock found when trying to get lock")
        return "done"

    assert await again_on_deadlock(block) == "done"
    assert len(calls) == 5


async def test_a_victim_pauses_before_each_new_attempt_and_not_after_the_last() -> None:
    pauses: list[int] = []

    async def pause(attempt: int) -> None:
        pauses.append(attempt)

    async def always() -> None:
        raise Deadlock("again")

    with pytest.raises(Deadlock):
        await again_on_deadlock(always, pause=pause)
    assert pauses == list(range(DEADLOCK_ATTEMPTS - 1))


async def test_the_pause_is_random_up_to_a_bound_that_doubles(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(sql.asyncio, "sleep", sleep)
    monkeypatch.setattr(sql.random, "uniform", lambda low, high: high)  # the longest it may draw
    for attempt in range(4):
        await sql._pause_before(attempt)
    assert slept == [DEADLOCK_PAUSE, 2 * DEADLOCK_PAUSE, 4 * DEADLOCK_PAUSE, 8 * DEADLOCK_PAUSE]
    monkeypatch.setattr(sql.random, "uniform", lambda low, high: low)
    await sql._pause_before(3)
    assert slept[-1] == 0
