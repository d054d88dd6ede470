"""Tag retention policies and their runs (the rules themselves: gateway/services/retention_rules.py).

A namespace's managers (its user, its team's owners, admins) set and read its policies: one
for the whole namespace and any number for repository globs inside it. A run (admins: the CLI,
the API or `retention.schedule`) walks every namespace that has a policy, one repository at a
time, and deletes each tag its policy lets go through the tag-delete service
(gateway/services/tags.py): the other tags of the same manifest stay, and each deletion is a
delete event whose user agent names the policy. A dry run only says what would go, for the
whole registry or one namespace (the web UI's namespace page shows it beside the policy).

A real run takes the store's `retention` row (one at a time across instances, its progress
visible to every instance) and stops, keeping what it did, when a garbage collection's window
opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity
from gateway.registry.purge import Actor as DeleteRecorder
from gateway.registry.purge import Upstream
from gateway.services import gc
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unavailable
from gateway.services.guards import require_admin
from gateway.services.namespaces import require_namespace_manager
from gateway.services.retention_rules import (
    MAX_DAYS,
    MAX_HOURS,
    MAX_KEEP_LAST,
    BadPattern,
    Policy,
    TagFacts,
    Verdict,
    check_repository_pattern,
    compile_tag_pattern,
    evaluate,
    policy_for,
)
from gateway.services.tags import delete_tag
from gateway.store import MaintenanceRun, RetentionPolicyRow, Store, StoreError
from gateway.store.maintenance import COLLECTING, DONE, FAILED, RETENTION
from gateway.store.sql import now

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
_PAGE = 1000
_USER_AGENT = "portus-gateway retention"

Reporter = Callable[[str, str, float | None], None]


@dataclass(frozen=True)
class PolicySpec:
    """A policy as someone typed it (CLI options, API fields, a form)."""

    keep_last: int
    repository_pattern: str = ""
    keep_pulled_days: int | None = None
    keep_matching: str | None = None
    drop_matching: str | None = None
    min_age_hours: int | None = None


def _bounded(name: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise Invalid(f"{name} must be between {low} and {high}")


def _checked(spec: PolicySpec) -> PolicySpec:
    _bounded("keep-last", spec.keep_last, 0, MAX_KEEP_LAST)
    _bounded("keep-pulled-within (days)", spec.keep_pulled_days, 1, MAX_DAYS)
    _bounded("min-age (hours)", spec.min_age_hours, 0, MAX_HOURS)
    try:
        check_repository_pattern(spec.repository_pattern)
        for label, pattern in (("match", spec.keep_matching), ("exclude", spec.drop_matching)):
            if pattern is not None:
                try:
                    compile_tag_pattern(pattern)
                except BadPattern as exc:
                    raise BadPattern(f"--{label}: {exc}") from None
    except BadPattern as exc:
        raise Invalid(str(exc)) from None
    return spec


def as_policy(row: RetentionPolicyRow) -> Policy:
    return Policy(
        row.namespace, row.repository_pattern, row.keep_last, row.keep_pulled_days, row.keep_matching,
        row.drop_matching, row.min_age_hours,
    )


async def set_policy(services: Services, actor: Actor, namespace: str, spec: PolicySpec) -> RetentionPolicyRow:
    """Create or replace the namespace's policy for `spec.repository_pattern` ('' = its default)."""
    await require_namespace_manager(services, actor, namespace, "set its retention policy")
    spec = _checked(spec)
    row = RetentionPolicyRow(
        namespace, spec.repository_pattern, spec.keep_last, spec.keep_pulled_days, spec.keep_matching or None,
        spec.drop_matching or None, spec.min_age_hours, actor.name, now(),
    )
    await services.store.put_retention_policy(row)
    return row


async def remove_policy(services: Services, actor: Actor, namespace: str, repository_pattern: str = "") -> None:
    await require_namespace_manager(services, actor, namespace, "remove its retention policy")
    if not await services.store.delete_retention_policy(namespace, repository_pattern):
        raise NotFound(f"namespace {namespace!r} has no retention policy for {repository_pattern or 'all repositories'!r}")


async def show_policies(services: Services, actor: Actor, namespace: str) -> list[RetentionPolicyRow]:
    await require_namespace_manager(services, actor, namespace, "see its retention policy")
    return await services.store.retention_policies(namespace)


@dataclass(frozen=True)
class RepositoryPlan:
    repository: str
    policy: str
    verdicts: tuple[Verdict, ...]

    @property
    def doomed(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.keep)


async def _repositories(store: Store, namespace: str) -> AsyncIterator[str]:
    after = ""
    while rows := await store.list_repositories_in(namespace, after, _PAGE):
        for row in rows:
            yield row.name
        after = rows[-1].name


async def plan_repository(store: Store, repository: str, policy: Policy) -> RepositoryPlan:
    """What `policy` keeps and deletes of the repository's tags now (by the gateway's index)."""
    moment = now()
    pulled: set[str] = set()
    if policy.keep_pulled_days:
        pulled = await store.pulled_digests_since(repository, moment - policy.keep_pulled_days * 86400)
    facts: list[TagFacts] = []
    after = ""
    while rows := await store.list_tags(repository, after, _PAGE):
        facts += [TagFacts(t.tag, t.digest, t.pushed_at, t.digest in pulled) for t in rows]
        after = rows[-1].tag
    verdicts = await asyncio.to_thread(evaluate, policy, facts, moment)  # user patterns: never on the loop
    return RepositoryPlan(repository, policy.name, tuple(verdicts))


async def plan_namespace(services: Services, actor: Actor, namespace: str) -> list[RepositoryPlan]:
    """A dry run of one namespace, for its managers."""
    await require_namespace_manager(services, actor, namespace, "see its retention policy")
    return [plan async for plan in _plans(services.store, namespace)]


async def _plans(store: Store, namespace: str) -> AsyncIterator[RepositoryPlan]:
    policies = [as_policy(row) for row in await store.retention_policies(namespace)]
    async for repository in _repositories(store, namespace):
        policy = policy_for(repository, policies)
        if policy is not None:
            yield await plan_repository(store, repository, policy)


@dataclass
class RetentionReport:
    dry_run: bool
    repositories: int = 0
    kept: int = 0
    deleted: list[tuple[str, str, str]] = field(default_factory=list)  # repository, tag, policy
    skipped: list[str] = field(default_factory=list)  # why a tag that should go stayed

    def text(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        more = ", ..." if len(self.skipped) > 1 else ""
        skipped = f"; {len(self.skipped)} skipped ({self.skipped[0]}{more})" if self.skipped else ""
        return f"retention {verb} {len(self.deleted)} tags and kept {self.kept} in {self.repositories} repositories{skipped}"


async def status(services: Services, actor: Actor) -> MaintenanceRun:
    require_admin(actor, "see retention runs")
    run = await services.store.maintenance_run(RETENTION)
    if run is None:
        raise Unavailable("the store has no maintenance table yet; run `portus-gateway migrate`")
    return run


async def begin_run(services: Services, actor: Actor, *, dry_run: bool, slot: int | None = None) -> RetentionRun:
    """Admins only. A real run takes the store's row (Conflict while another holds it) and is
    refused while a garbage collection's window is open."""
    require_admin(actor, "run retention")
    if dry_run:
        return RetentionRun(services, actor, None)
    await gc.check_writable(services.store)
    run_id = uuid.uuid4().hex
    taken = await services.store.take_maintenance(
        RETENTION, run_id, gc.holder_name(), actor.name, dry_run=False, write_window=False, phase=COLLECTING,
        lease_seconds=LEASE_SECONDS, not_started_since=slot,
    )
    if not taken:
        raise Conflict("a retention run is going on already (or this scheduled one ran)")
    return RetentionRun(services, actor, run_id)


class RetentionRun:
    """One run over every namespace with a policy; a dry run (`run_id` None) touches nothing."""

    def __init__(self, services: Services, actor: Actor, run_id: str | None) -> None:
        self._services = services
        self._actor = actor
        self.run_id = run_id
        self._last_renewal = 0.0

    async def complete(
        self, upstream: Upstream | None, recorder: DeleteRecorder | None, report: Reporter | None = None
    ) -> RetentionReport:
        """Run to the end; `upstream` and `recorder` are needed unless it is a dry run."""
        notify = report or (lambda phase, text, fraction: None)
        result = RetentionReport(dry_run=self.run_id is None)
        try:
            await self._walk(result, upstream, recorder, notify)
        except ServiceError as exc:
            await self._finish(FAILED, f"{exc.message} ({result.text()} before it stopped)")
            raise
        except BaseException:
            with contextlib.suppress(StoreError, asyncio.CancelledError):
                await asyncio.shield(self._finish(FAILED, f"stopped before it ended ({result.text()})"))
            raise
        await self._finish(DONE, result.text())
        notify(DONE, result.text(), 1.0)
        return result

    async def _walk(
        self, result: RetentionReport, upstream: Upstream | None, recorder: DeleteRecorder | None, notify: Reporter
    ) -> None:
        store = self._services.store
        namespaces = sorted({row.namespace for row in await store.retention_policies()})
        for index, namespace in enumerate(namespaces):
            async for plan in _plans(store, namespace):
                result.repositories += 1
                result.kept += len(plan.verdicts) - len(plan.doomed)
                for verdict in plan.doomed:
                    if self.run_id is None or await self._delete(plan, verdict, upstream, recorder, result):
                        result.deleted.append((plan.repository, verdict.tag, plan.policy))
                text = f"namespace {index + 1} of {len(namespaces)} ({namespace}): {len(result.deleted)} tags so far"
                notify(COLLECTING, text, index / len(namespaces))
                await self._renew(text)

    async def _delete(
        self, plan: RepositoryPlan, verdict: Verdict, upstream: Upstream | None, recorder: DeleteRecorder | None,
        result: RetentionReport,
    ) -> bool:
        assert upstream is not None and recorder is not None
        await gc.check_writable(self._services.store)  # a window opened: stop here, keep what was done
        identity = Identity(self._actor.name, admin=True)
        try:
            await delete_tag(
                self._services, identity, plan.repository, verdict.tag, upstream, recorder,
                useragent=f"{_USER_AGENT} (policy {plan.policy}: {verdict.reason})",
            )
        except Forbidden as exc:  # an immutable tag, or deletion disabled
            result.skipped.append(f"{plan.repository}:{verdict.tag}: {exc.message}")
            return False
        except NotFound:  # gone meanwhile
            return False
        return True

    async def _renew(self, text: str) -> None:
        if self.run_id is None or time.monotonic() - self._last_renewal < 2:
            return
        self._last_renewal = time.monotonic()
        store = self._services.store
        if not await store.renew_maintenance(RETENTION, self.run_id, COLLECTING, text, LEASE_SECONDS, write_window=False):
            raise Conflict("the retention run lost its lease (it was stalled for a minute); run it again")

    async def _finish(self, phase: str, text: str) -> None:
        if self.run_id is not None:
            await self._services.store.finish_maintenance(RETENTION, self.run_id, phase, text)
        log.info("retention %s: %s", phase, text)
