"""When a scheduled maintenance run (`gc.schedule`, `retention.schedule`) is due.

Two forms, both in UTC: `daily HH:MM` (once a day at that time) and `every N` with N a number
of minutes, hours or days (`every 30m`, `every 6h`, `every 1d`; counted from midnight UTC, so
`every 6h` runs at 00:00, 06:00, 12:00 and 18:00). Empty: no schedule. Each instance looks
every few seconds; the slot is taken in the store by one of them only
(gateway/store/maintenance.py), so with several instances a slot runs once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DAILY = re.compile(r"daily\s+([01]?\d|2[0-3]):([0-5]\d)")
_EVERY = re.compile(r"every\s+(\d{1,6})\s*([mhd])")
_UNIT = {"m": 60, "h": 3600, "d": 86400}
_DAY = 86400
MIN_INTERVAL = 300  # five minutes: each run of the collector refuses pushes for a while


class BadSchedule(ValueError):
    """The text is not a schedule; the message says what is expected."""


@dataclass(frozen=True)
class Schedule:
    """Slots at `offset + k * period` seconds since the epoch."""

    period: int
    offset: int
    text: str

    def last_slot(self, at: float) -> int:
        """The latest slot at or before `at`."""
        return int((at - self.offset) // self.period) * self.period + self.offset

    def __str__(self) -> str:
        return self.text


def parse_schedule(text: str) -> Schedule | None:
    """A schedule from its text; None for an empty one."""
    cleaned = " ".join(text.lower().split())
    if not cleaned:
        return None
    if (daily := _DAILY.fullmatch(cleaned)) is not None:
        hour, minute = int(daily.group(1)), int(daily.group(2))
        return Schedule(_DAY, hour * 3600 + minute * 60, f"daily {hour:02d}:{minute:02d}")
    if (every := _EVERY.fullmatch(cleaned)) is not None:
        period = int(every.group(1)) * _UNIT[every.group(2)]
        if not MIN_INTERVAL <= period <= 366 * _DAY:
            raise BadSchedule(f"an interval must be between 5 minutes and 366 days, got {text.strip()[:40]!r}")
        return Schedule(period, 0, f"every {every.group(1)}{every.group(2)}")
    raise BadSchedule(f"expected 'daily HH:MM' or 'every N' with N like 30m, 6h, 1d (UTC), got {text.strip()[:40]!r}")
