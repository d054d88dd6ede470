"""Admins' health summary: the readiness checks (store, upstream, signing key) as the probe
runs them, the gateway's version, and the maintenance runs: blob garbage collection and tag
retention, each with its state (phase and progress while it runs, the last report after) and
buttons to start one (a dry run of garbage collection too)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import __version__, keys
from gateway.ops.maintenance import log_progress
from gateway.ops.readiness import check_components
from gateway.registry.deleting import recorder_for, upstream_for
from gateway.services import gc, retention
from gateway.services.errors import Conflict, Unavailable
from gateway.services.guards import require_admin
from gateway.store import MaintenanceRun
from gateway.store.sql import now
from gateway.ui.context import services
from gateway.ui.errors import status_of
from gateway.ui.manage.common import done, flash
from gateway.ui.pages import render, require_signed_in
from gateway.ui.sessions import UI_PATH

HEALTH_PATH = f"{UI_PATH}/health"


async def _page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    who = require_signed_in(request)
    require_admin(who.actor, "see the gateway's health")
    root = request.match_info.apps[0]  # the gateway's application, whose objects the checks use
    components = await check_components(root)
    collection = _shown(await gc.gc_status(services(request), who.actor))
    collection["configured"] = bool(request.config_dict[keys.SETTINGS].gc_command)
    context = {
        "title": "Health", "nav": "health", "components": components, "version": __version__, "gc": collection,
        "retention": _shown(await retention.status(services(request), who.actor)), "flash": flash(request), "error": error,
    }
    return render(request, "manage_health.html", context, status=status)


def _shown(run: MaintenanceRun) -> dict[str, Any]:
    return {
        "running": run.live(now()), "phase": run.shown_phase(now()), "progress": run.progress,
        "dry_run": run.dry_run, "started_at": run.started_at, "finished_at": run.finished_at, "result": run.result,
        "requested_by": run.requested_by,
    }


async def health_page(request: web.Request) -> web.Response:
    return await _page(request)


async def start_gc(request: web.Request) -> web.Response:
    """Start a run (or a dry run) in the background; the page then shows how it moves."""
    who = require_signed_in(request)
    dry_run = (await request.post()).get("dry_run") == "1"
    config = gc.GcConfig.of(request.config_dict[keys.SETTINGS])
    try:
        run = await gc.begin_gc(services(request), who.actor, config, dry_run=dry_run)
    except (Conflict, Unavailable) as exc:
        return await _page(request, error=exc.message, status=status_of(exc))
    request.config_dict[keys.MAINTENANCE].spawn(run.complete(log_progress("garbage collection")), f"gc-{run.run_id[:8]}")
    raise done(request, HEALTH_PATH, "Garbage collection (dry run) started." if dry_run else "Garbage collection started.")


async def start_retention(request: web.Request) -> web.Response:
    """Apply every retention policy now, in the background; the page shows how it moves."""
    who = require_signed_in(request)
    await request.post()  # the form token was checked; nothing else is sent
    try:
        run = await retention.begin_run(services(request), who.actor, dry_run=False)
    except (Conflict, Unavailable) as exc:
        return await _page(request, error=exc.message, status=status_of(exc))
    work = run.complete(upstream_for(request, who.actor.name), recorder_for(request, who.actor.name), log_progress("retention"))
    request.config_dict[keys.MAINTENANCE].spawn(work, f"retention-{(run.run_id or '')[:8]}")
    raise done(request, HEALTH_PATH, "Retention run started.")
