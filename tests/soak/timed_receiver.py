"""The tests' webhook receiver, noting when each delivery arrived: a duplicate whose first copy
came during a fault is a retry of an attempt the fault cut short."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.receiver import Receiver


@dataclass
class TimedReceiver(Receiver):
    arrivals: list[float] = field(default_factory=list)  # wall-clock time of deliveries[i]

    async def _handle(self, request: web.Request) -> web.Response:
        response = await super()._handle(request)
        while len(self.arrivals) < len(self.deliveries):
            self.arrivals.append(time.time())
        return response

    def first_arrivals(self) -> dict[str, list[float]]:
        """Each delivered event id with the arrival times of its copies."""
        seen: dict[str, list[float]] = {}
        for delivery, arrived in zip(self.deliveries, self.arrivals, strict=True):
            for event in delivery.events:
                seen.setdefault(event["id"], []).append(arrived)
        return seen
