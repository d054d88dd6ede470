"""Maintenance runs this process carries out in the background: those started through the API
or the web UI (which answer at once and show the state as it moves), and the scheduled ones.

Every task is kept referenced and cancelled when the application closes (a cancelled garbage
collection closes its write window on the way out). A scheduled slot is taken in the store by
one instance only; the others' attempts find it taken and wait for the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from gateway import keys
from gateway.app_services import services_of
from gateway.auth.permissions import SCHEDULER
from gateway.background import Tasks, running
from gateway.ops.schedule import Schedule
from gateway.registry.deleting import recorder_of, upstream_of
from gateway.services import retention
from gateway.services.errors import Conflict, ServiceError
from gateway.services.gc import GcConfig, begin_gc
from gateway.store import StoreError

log = logging.getLogger(__name__)

SCHEDULE_POLL_SECONDS = 15.0


def log_progress(kind: str) -> Callable[[str, str, float | None], None]:
    """A reporter writing each phase change, and progress at most every few seconds, to the log."""
    last: list[tuple[str, float]] = [("", 0.0)]

    def report(phase: str, text: str, fraction: float | None) -> None:
        moment = time.monotonic()
        if phase != last[0][0] or moment - last[0][1] >= 5:
            last[0] = (phase, moment)
            log.info("%s %s: %s", kind, phase, text)

    return report


async def scheduled_gc(app: web.Application, slot: int) -> None:
    run = await begin_gc(services_of(app), SCHEDULER, GcConfig.of(app[keys.SETTINGS]), dry_run=False, slot=slot)
    await run.complete(log_progress("garbage collection"))


async def scheduled_retention(app: web.Application, slot: int) -> None:
    settings = app[keys.SETTINGS]
    public = settings.public_url
    audience = settings.service or (public.host_port_subcomponent or "" if public is not None else "")  # no request to ask
    run = await retention.begin_run(services_of(app), SCHEDULER, dry_run=False, slot=slot)
    upstream = upstream_of(app, SCHEDULER.name, audience)
    await run.complete(upstream, recorder_of(app, SCHEDULER.name), log_progress("retention"))


async def follow_schedule(schedule: Schedule, name: str, start: Callable[[int], Awaitable[None]]) -> None:
    """Start `start(slot)` at each slot of the schedule after this process started."""
    tried = int(time.time())
    while True:
        await asyncio.sleep(SCHEDULE_POLL_SECONDS)
        slot = schedule.last_slot(time.time())
        if slot <= tried:
            continue
        tried = slot
        try:
            await start(slot)
        except Conflict:
            log.debug("scheduled %s of slot %d: taken by another instance or still running", name, slot)
        except (ServiceError, StoreError) as exc:
            log.warning("scheduled %s failed: %s", name, getattr(exc, "message", exc))


async def maintaining(app: web.Application) -> AsyncIterator[None]:
    """Cleanup-context body: the runner of background runs and the schedules' loops."""
    maintenance = Tasks(expected=(ServiceError, StoreError))
    app[keys.MAINTENANCE] = maintenance
    settings = app[keys.SETTINGS]
    async with contextlib.AsyncExitStack() as loops:
        if settings.gc_schedule is not None and settings.gc_command:
            schedule = settings.gc_schedule
            await loops.enter_async_context(
                running(follow_schedule(schedule, "garbage collection", lambda slot: scheduled_gc(app, slot)), "gc-schedule")
            )
        if settings.retention_schedule is not None:
            await loops.enter_async_context(
                running(
                    follow_schedule(settings.retention_schedule, "retention", lambda slot: scheduled_retention(app, slot)),
                    "retention-schedule",
                )
            )
        try:
            yield
        finally:
            await maintenance.close()
