"""/gc: blob garbage collection (admins). GET shows the current or last run; POST starts one in
the background and answers 202 with its state, which GET then follows (phase and progress while
it runs, the report when it ended)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import keys
from gateway.api.caller import authenticate, services
from gateway.api.inputs import Body, json_object
from gateway.api.render import json_response, time_text
from gateway.ops.maintenance import log_progress
from gateway.services import gc
from gateway.store import MaintenanceRun
from gateway.store.sql import now


def run_json(run: MaintenanceRun) -> dict[str, Any]:
    live = run.live(now())
    return {
        "running": live, "phase": run.shown_phase(now()) or "never run", "progress": run.progress if live else None,
        "dry_run": run.dry_run, "write_window": run.refuses_writes(now()), "requested_by": run.requested_by,
        "started_at": time_text(run.started_at), "finished_at": time_text(run.finished_at), "result": run.result,
    }


async def get_gc(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    return json_response(run_json(await gc.gc_status(services(request), actor)))


async def start_gc(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    data = await json_object(request) if request.body_exists else {}
    dry_run = Body(data, ("dry_run",)).flag("dry_run") or False
    config = gc.GcConfig.of(request.config_dict[keys.SETTINGS])
    run = await gc.begin_gc(services(request), actor, config, dry_run=dry_run)
    request.config_dict[keys.MAINTENANCE].spawn(run.complete(log_progress("garbage collection")), f"gc-{run.run_id[:8]}")
    return json_response(run_json(await gc.gc_status(services(request), actor)), status=202)
