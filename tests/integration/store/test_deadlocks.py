"""A deadlock inside a block that joined an outer transaction is not run again alone."""

from __future__ import annotations

import pytest

from gateway.store import Deadlock, open_store
from gateway.store.sql import DEADLOCK_ATTEMPTS


async def test_a_deadlock_inside_a_joined_block_is_not_run_again_alone(mariadb_url: str) -> None:
    """InnoDB rolls back the whole transaction: running an inner block again would commit it
    without what the outer block wrote before."""
    store = await open_store(mariadb_url)
    calls: list[int] = []

    async def inner() -> None:
        async with store.transaction():
            calls.append(1)
            raise Deadlock("victim")

    try:
        async with store.transaction():
            with pytest.raises(Deadlock):
                await store.again_on_deadlock(inner)
        assert len(calls) == 1, "run once: the outer block's owner decides"
        calls.clear()
        with pytest.raises(Deadlock):
            await store.again_on_deadlock(inner)
        assert len(calls) == DEADLOCK_ATTEMPTS, "outside any transaction the block runs again"
    finally:
        await store.close()
