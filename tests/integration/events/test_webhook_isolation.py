"""One endpoint whose receiver hangs (or keeps failing, retried with backoff for minutes) holds up
only its own deliveries: another endpoint of the same gateway still gets each new event at once,
where it used to wait for the stuck endpoint's round to end."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.integration.events.helpers import push
from tests.support.processes import Gateway, free_port
from tests.support.receiver import Receiver
from tests.support.waiting import eventually

# Far below the stuck endpoint's 60 s attempt: meeting it proves the rounds are independent.
DEADLINE = 25.0


async def test_a_hanging_receiver_does_not_hold_up_another_endpoint(make_gateway: Callable[..., Gateway]) -> None:
    stuck, healthy = Receiver(free_port(), plan=["hold"] * 10), Receiver(free_port())
    await stuck.start()
    await healthy.start()
    try:
        hooks = [
            {"name": "stuck", "url": stuck.url, "secret": "stuck-secret"},
            {"name": "healthy", "url": healthy.url, "secret": "healthy-secret"},
        ]
        gateway = make_gateway({"GATEWAY_WEBHOOKS": json.dumps(hooks), "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT": "60"})
        await push(gateway, "alice/isolated", "first")
        first = await _ids_after(healthy, 1)
        held = await eventually(lambda: stuck.held_attempts, lambda n: n >= 1, timeout=DEADLINE)
        assert held == 1, "the stuck receiver holds its first delivery"
        await push(gateway, "alice/isolated", "second")
        later = await _ids_after(healthy, len(first) + 1)
        assert set(first) < set(later)
        assert stuck.held_attempts == 1 and not stuck.deliveries, "the stuck endpoint is still in its first attempt"
    finally:
        await stuck.stop()
        await healthy.stop()


async def _ids_after(receiver: Receiver, count: int) -> list[str]:
    """The ids delivered once at least `count` are (failing the test at the deadline)."""
    ids = await eventually(receiver.delivered_ids, lambda found: len(found) >= count, timeout=DEADLINE)
    assert len(ids) >= count, f"only {len(ids)} of {count} events delivered to the healthy endpoint"
    return ids
