"""Tag retention: /namespaces/{namespace}/retention (a namespace's policies, set by its
managers; `/plan`: what they would delete now) and /retention (admins: the running or last run;
POST runs every policy, at once for a dry run, in the background otherwise)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import keys
from gateway.api.caller import authenticate, services
from gateway.api.gc import run_json
from gateway.api.inputs import Body, json_object
from gateway.api.names import namespace_param
from gateway.api.render import json_response, no_content, time_text
from gateway.ops.maintenance import log_progress
from gateway.registry.deleting import recorder_for, upstream_for
from gateway.services import retention
from gateway.services.retention import RepositoryPlan, RetentionReport
from gateway.store import RetentionPolicyRow

_FIELDS = ("repository_pattern", "keep_last", "keep_pulled_within_days", "match", "exclude", "min_age_hours")


def policy_json(row: RetentionPolicyRow) -> dict[str, Any]:
    return {
        "namespace": row.namespace, "repository_pattern": row.repository_pattern, "keep_last": row.keep_last,
        "keep_pulled_within_days": row.keep_pulled_days, "match": row.keep_matching, "exclude": row.drop_matching,
        "min_age_hours": row.min_age_hours, "updated_by": row.updated_by, "updated_at": time_text(row.updated_at),
    }


def plan_json(plan: RepositoryPlan) -> dict[str, Any]:
    return {
        "repository": plan.repository, "policy": plan.policy,
        "keep": [{"tag": v.tag, "reason": v.reason} for v in plan.verdicts if v.keep],
        "delete": [{"tag": v.tag, "reason": v.reason} for v in plan.verdicts if not v.keep],
    }


def report_json(report: RetentionReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run, "repositories": report.repositories, "kept": report.kept,
        "deleted": [{"repository": r, "tag": t, "policy": p} for r, t, p in report.deleted],
        "skipped": report.skipped, "result": report.text(),
    }


async def get_policies(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    rows = await retention.show_policies(services(request), actor, namespace_param(request))
    return json_response({"items": [policy_json(r) for r in rows]})


async def put_policy(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    body = Body(await json_object(request), _FIELDS)
    keep_last = body.integer("keep_last", required=True)
    assert keep_last is not None
    spec = retention.PolicySpec(
        keep_last, body.text("repository_pattern", max_length=255) or "", body.integer("keep_pulled_within_days"),
        body.text("match", max_length=256), body.text("exclude", max_length=256), body.integer("min_age_hours"),
    )
    return json_response(policy_json(await retention.set_policy(services(request), actor, namespace_param(request), spec)))


async def delete_policy(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    pattern = request.query.get("repository_pattern", "")[:256]
    await retention.remove_policy(services(request), actor, namespace_param(request), pattern)
    return no_content()


async def get_plan(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    plans = await retention.plan_namespace(services(request), actor, namespace_param(request))
    return json_response({"items": [plan_json(p) for p in plans]})


async def get_run(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    return json_response(run_json(await retention.status(services(request), actor)))


async def start_run(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    data = await json_object(request) if request.body_exists else {}
    dry_run = Body(data, ("dry_run",)).flag("dry_run") or False
    run = await retention.begin_run(services(request), caller.actor, dry_run=dry_run)
    if dry_run:
        return json_response(report_json(await run.complete(None, None)))
    work = run.complete(upstream_for(request, caller.name), recorder_for(request, caller.name), log_progress("retention"))
    request.config_dict[keys.MAINTENANCE].spawn(work, f"retention-{(run.run_id or '')[:8]}")
    return json_response(run_json(await retention.status(services(request), caller.actor)), status=202)
