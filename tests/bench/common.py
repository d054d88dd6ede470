"""What every figure shares: the run's settings, its result rows, and side-by-side alternation."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from tests.bench.stack import Stack

T = TypeVar("T")
MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Plan:
    """Sizes and durations: the full run, or `--quick` (smaller, fewer repeats)."""

    quick: bool
    repeats: int
    seconds: float
    blob_bytes: int
    big_bytes: int
    image_bytes: int
    chunk_bytes: int
    cold_users: int

    @classmethod
    def of(cls, quick: bool, repeats: int | None, seconds: float | None) -> Plan:
        if quick:
            return cls(True, repeats or 1, seconds or 3.0, 256 * MiB, 1 * GiB, 50 * MiB, 32 * MiB, 24)
        return cls(False, repeats or 3, seconds or 5.0, 1 * GiB, 5 * GiB, 200 * MiB, 64 * MiB, 96)


@dataclass
class Row:
    """One line of the table: the gateway's figure next to what it is compared with."""

    figure: str
    unit: str
    gateway: float
    reference: float | None
    reference_name: str
    target: str
    met: bool | None
    higher_is_better: bool = True
    detail: dict[str, Any] = field(default_factory=dict)
    store: str = "sqlite"

    @property
    def ratio(self) -> float | None:
        if self.reference is None or not self.reference or not self.gateway:
            return None
        return self.gateway / self.reference if self.higher_is_better else self.reference / self.gateway

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure, "unit": self.unit, "gateway": self.gateway, "reference": self.reference,
            "reference_name": self.reference_name, "ratio": None if self.ratio is None else round(self.ratio, 3),
            "target": self.target, "met": self.met, "store": self.store, "detail": self.detail,
        }


@dataclass
class Bench:
    stack: Stack
    plan: Plan
    session: aiohttp.ClientSession
    workdir: Path
    rows: list[Row] = field(default_factory=list)  # shared by the benches of one run, one per store
    started: float = field(default_factory=time.monotonic)
    warm_users: list[tuple[str, str]] = field(default_factory=list)  # made once, by tokens.ensure_warm_users
    warmed: dict[str, float] = field(default_factory=dict)  # instance URL -> when its last warm-up began

    @property
    def store(self) -> str:
        return self.stack.store

    def add(self, row: Row) -> None:
        row.store = self.store
        self.rows.append(row)
        ratio = f" ratio {row.ratio:.2f}" if row.ratio is not None else ""
        reference = f" vs {row.reference:,.1f}" if row.reference is not None else ""
        verdict = {True: "met", False: "NOT met", None: "-"}[row.met]
        say(f"  [{row.store}] {row.figure}: {row.gateway:,.1f}{reference} {row.unit}{ratio} [{row.target}: {verdict}]")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def alternate(
    repeats: int, gateway: Callable[[], Awaitable[T]], reference: Callable[[], Awaitable[T]]
) -> tuple[list[T], list[T]]:
    """Run both sides `repeats` times, alternating which goes first, so drift hits both alike."""
    ours: list[T] = []
    theirs: list[T] = []
    for index in range(repeats):
        if index % 2 == 0:
            ours.append(await gateway())
            theirs.append(await reference())
        else:
            theirs.append(await reference())
            ours.append(await gateway())
    return ours, theirs


async def written_back() -> None:
    """Before a timed upload or copy: what earlier work left dirty (a layout just written, the last
    upload's gigabyte) is written back now, not by the kernel during whichever side runs next."""
    await asyncio.get_running_loop().run_in_executor(None, os.sync)


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0
