"""Importing a Portus database into the store: the rules of what is written, once.

All or nothing: a plan with problems (rows Portus would not have written) is refused before
anything is written; otherwise every write happens in one transaction of the store, and a
failure part way rolls all of it back. A dry run makes the same writes and rolls them back, so
its report is the one a real run would give.

Idempotent: every source row written is recorded in `imported_rows`; a second run finds each
there and leaves it as it is (rehashed passwords, revoked tokens and later changes included).
A gateway row of the same name that no import made is a conflict: reported, never overwritten,
and whatever depends on it (a user's memberships and tokens, a namespace's repositories) is
left out with it.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, TextIO, TypeVar

from gateway import names
from gateway.auth.policy import ALL_REPOSITORY_ACTIONS
from gateway.portus.plan import (
    EVENT_ID_PREFIX,
    ORIGIN,
    Plan,
    PlannedMember,
    PlannedNamespace,
    PlannedRepository,
    PlannedTeam,
    PlannedToken,
    PlannedUser,
    PlannedWebhook,
    detail,
    kinds,
)
from gateway.services.context import Services
from gateway.services.directory import email_or_none
from gateway.services.errors import Invalid
from gateway.store import AppToken, ImportedTag, NewEvent, Webhook

log = logging.getLogger(__name__)

T = TypeVar("T")
_ACTIONS = tuple(a for a in ("pull", "push", "delete") if a in ALL_REPOSITORY_ACTIONS)
_EVENT_BATCH = 500


class Progress(Protocol):
    """Told how far the import is: a bar on a terminal, counts in the log otherwise."""

    def start(self, kind: str, total: int) -> None: ...

    def advance(self, count: int = 1) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    def start(self, kind: str, total: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


class ImportRefused(Invalid):
    """The Portus database breaks its own rules: nothing was written. `problems` names each row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} Portus row(s) Portus itself would not have written; nothing was imported")
        self.problems = problems


@dataclass
class KindCount:
    imported: int = 0
    unchanged: int = 0  # imported by an earlier run
    conflicts: int = 0
    skipped: int = 0


@dataclass
class ImportReport:
    dry_run: bool
    counts: dict[str, KindCount] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    webhooks_moved: int = 0

    def count(self, kind: str) -> KindCount:
        return self.counts.setdefault(kind, KindCount())

    @property
    def changed(self) -> bool:
        return any(c.imported for c in self.counts.values())


class _DryRun(Exception):
    """Raised inside the transaction of a dry run, so every write is rolled back."""


class _Importer:
    def __init__(self, services: Services, plan: Plan, report: ImportReport, progress: Progress) -> None:
        self.services = services
        self.store = services.store
        self.plan = plan
        self.report = report
        self.progress = progress
        self.users: set[str] = set()  # gateway users this import owns (made now or by an earlier run)
        self.teams: set[str] = set()
        self.namespaces: set[str] = set()
        self.repositories: set[str] = set()

    async def each(
        self, kind: str, items: Iterable[T], source_id: Callable[[T], int], write: Callable[[T], Awaitable[str | None]],
    ) -> None:
        """Write each item not imported before; `write` returns the gateway row's name, or None
        when it reported a conflict or a skip itself."""
        done = await self.store.imported_targets(ORIGIN, kind)
        listed = list(items)
        self.progress.start(kind, len(listed))
        count = self.report.count(kind)
        for item in listed:
            if source_id(item) in done:
                count.unchanged += 1
                self._owned(kind, done[source_id(item)])
            elif (target := await write(item)) is not None:
                count.imported += 1
                self._owned(kind, target)
            self.progress.advance()

    def _owned(self, kind: str, target: str) -> None:
        owned = {"user": self.users, "team": self.teams, "namespace": self.namespaces, "repository": self.repositories}.get(kind)
        if owned is not None:
            owned.add(target)

    def conflict(self, kind: str, source_id: int, text: str) -> None:
        self.report.count(kind).conflicts += 1
        self.report.conflicts.append(f"{kind} {text} (Portus #{source_id})")

    def skip(self, kind: str, source_id: int, text: str) -> None:
        self.report.count(kind).skipped += 1
        self.report.skipped.append(f"{kind} {text} (Portus #{source_id})")

    async def record(self, kind: str, source_id: int, target: str, **values: object) -> str:
        await self.store.record_import(ORIGIN, kind, source_id, target, detail(**values))
        return target

    # -- the kinds, in the order they depend on each other ---------------------------------------

    async def run(self) -> None:
        plan = self.plan
        await self.each("user", plan.users, lambda u: u.source_id, self.user)
        await self.each("team", plan.teams, lambda t: t.source_id, self.team)
        await self.each("member", plan.members, lambda m: m.source_id, self.member)
        await self.each("namespace", plan.namespaces, lambda n: n.source_id, self.namespace)
        await self.each("token", plan.tokens, lambda t: t.source_id, self.token)
        await self.each("repository", plan.repositories, lambda r: r.source_id, self.repository)
        await self.tags(plan.repositories)
        before = await self.store.max_event_seq()
        await self.events()
        after = await self.store.max_event_seq()
        if after > before:
            self.report.webhooks_moved = await self.store.move_webhook_cursors(before, after)
        await self.each("webhook", plan.webhooks, lambda w: w.source_id, self.webhook)

    async def user(self, user: PlannedUser) -> str | None:
        store = self.store
        if await store.get_user(user.name) is not None:
            self.conflict("user", user.source_id, f"{user.name!r}: a user of that name exists here")
            return None
        taken = await store.get_namespace(user.name) is not None or await store.get_tombstone(user.name) is not None
        if taken:
            self.conflict("user", user.source_id, f"{user.name!r}: a namespace of that name exists or is reserved here")
            return None
        # Portus's LDAP users stay the directory's: with [ldap] set, their directory password
        # signs them in (an OAuth identity cannot be tied to an OpenID subject, so those stay
        # password-less local accounts until an admin sets a password).
        await store.import_user(
            user.name, user.password_hash, admin=user.admin, disabled=user.disabled, created_at=user.created_at,
            source="ldap" if user.how == "ldap" else "local", email=email_or_none(user.email),
        )
        return await self.record("user", user.source_id, user.name, how=user.how, email=user.email)

    async def team(self, team: PlannedTeam) -> str | None:
        if await self.store.get_team(team.name) is not None:
            self.conflict("team", team.source_id, f"{team.name!r}: a team of that name exists here")
            return None
        await self.store.import_team(team.name, team.created_at)
        return await self.record("team", team.source_id, team.name)

    async def member(self, member: PlannedMember) -> str | None:
        shown = f"{member.user!r} in {member.team!r}"
        if member.team not in self.teams or member.user not in self.users:
            self.skip("member", member.source_id, f"{shown}: the team or the user is not imported (a conflict)")
            return None
        if await self.store.get_role(member.team, member.user) is not None:
            self.conflict("member", member.source_id, f"{shown}: already a member here")
            return None
        await self.store.import_member(member.team, member.user, member.role, member.created_at)
        return await self.record("member", member.source_id, f"{member.team}/{member.user}", role=member.role)

    async def namespace(self, namespace: PlannedNamespace) -> str | None:
        store, name = self.store, namespace.name
        if namespace.team is None and name not in self.users:
            self.skip("namespace", namespace.source_id, f"{name!r}: its user is not imported (a conflict)")
            return None
        if namespace.team is not None and namespace.team not in self.teams:
            self.skip("namespace", namespace.source_id, f"{name!r}: its team is not imported (a conflict)")
            return None
        if await store.get_namespace(name) is not None or await store.get_tombstone(name) is not None:
            self.conflict("namespace", namespace.source_id, f"{name!r}: a namespace of that name exists or is reserved here")
            return None
        if namespace.team is not None and await store.get_user(name) is not None and name not in self.users:
            self.conflict("namespace", namespace.source_id, f"{name!r}: a user of that name exists here (their namespace)")
            return None
        await store.import_namespace(name, namespace.team, namespace.visibility, namespace.created_at)
        return await self.record("namespace", namespace.source_id, name, visibility=namespace.visibility)

    async def token(self, token: PlannedToken) -> str | None:
        shown = f"{token.name!r} of {token.user!r}"
        if token.user not in self.users:
            self.skip("token", token.source_id, f"{shown}: its user is not imported (a conflict)")
            return None
        if any(t.name == token.name for t in await self.store.list_app_tokens(token.user)):
            self.conflict("token", token.source_id, f"{shown}: the user has a token of that name here")
            return None
        record = AppToken(
            id=secrets.token_hex(6), username=token.user, name=token.name, secret_hash="", namespaces=(), actions=_ACTIONS,
            expires_at=None, created_at=token.created_at, last_used_at=None, origin=ORIGIN, legacy_hash=token.legacy_hash,
        )
        await self.store.create_app_token(record)
        return await self.record("token", token.source_id, f"{token.user}/{token.name}", id=record.id)

    async def repository(self, repository: PlannedRepository) -> str | None:
        name = repository.name
        if repository.namespace and repository.namespace not in self.namespaces:
            self.skip("repository", repository.source_id, f"{name!r}: its namespace is not imported (a conflict)")
            return None
        if await self.store.get_repository(name) is not None:
            self.conflict("repository", repository.source_id, f"{name!r}: the gateway has indexed it already")
            return None
        await self.store.import_repository(name, repository.created_at, repository.last_push_at, repository.last_pull_at)
        return await self.record("repository", repository.source_id, name)

    async def tags(self, repositories: list[PlannedRepository]) -> None:
        done = await self.store.imported_targets(ORIGIN, "tag")
        total = sum(len(r.tags) for r in repositories)
        self.progress.start("tag", total)
        count = self.report.count("tag")
        for repository in repositories:
            new = []
            for tag in repository.tags:
                if tag.source_id in done:
                    count.unchanged += 1
                elif repository.name not in self.repositories:
                    self.skip("tag", tag.source_id, f"{repository.name}:{tag.name}: its repository is not imported")
                else:
                    new.append(tag)
            if new:
                await self.store.import_tags(
                    repository.name, [ImportedTag(t.name, t.digest, t.size, t.pushed_at, t.pulled_at) for t in new]
                )
                await self.store.record_imports(
                    ORIGIN, "tag", [(t.source_id, f"{repository.name}:{t.name}", detail(digest=t.digest)) for t in new]
                )
                count.imported += len(new)
            self.progress.advance(len(repository.tags))

    async def events(self) -> None:
        """The audit entries, in batches; an entry whose id is stored already came from an earlier run."""
        stored = await self.store.event_ids_with_prefix(EVENT_ID_PREFIX)
        count = self.report.count("event")
        self.progress.start("event", self.plan.event_count)
        batch: list[NewEvent] = []
        for event in self.plan.events():
            if event.id in stored:
                count.unchanged += 1
                self.progress.advance()
                continue
            batch.append(event)
            if len(batch) >= _EVENT_BATCH:
                await self._add_events(batch, count)
                batch = []
        await self._add_events(batch, count)

    async def _add_events(self, batch: list[NewEvent], count: KindCount) -> None:
        if batch:
            added = await self.store.add_events(batch)
            count.imported += added
            count.unchanged += len(batch) - added
            self.progress.advance(len(batch))

    async def webhook(self, hook: PlannedWebhook) -> str | None:
        if hook.namespace and hook.namespace not in self.namespaces:
            self.skip("webhook", hook.source_id, f"{hook.name!r}: its namespace is not imported (a conflict)")
            return None
        if await self.store.get_webhook(hook.name) is not None:
            self.conflict("webhook", hook.source_id, f"{hook.name!r}: a webhook of that name exists here")
            return None
        reasons = [hook.disabled_reason] if hook.disabled_reason else []
        if (problem := names.webhook_url_problem(hook.url, self.services.allow_private_webhooks)) is not None:
            reasons.append(problem)
        disabled = "; ".join(reasons)[:255] or None
        record = Webhook(
            hook.name, hook.url, secrets.token_urlsafe(32), dict(hook.headers), ("push", "delete"), hook.repository_pattern,
            source="import", cursor_seq=await self.store.max_event_seq(), disabled_reason=disabled,
        )
        await self.store.add_webhook(record, int(time.time()))
        if disabled:
            self.report.notes.append(f"webhook {hook.name!r} is imported disabled: {disabled}")
        return await self.record("webhook", hook.source_id, hook.name, disabled=disabled)


async def import_portus(services: Services, plan: Plan, *, dry_run: bool, progress: Progress | None = None) -> ImportReport:
    """Write `plan` into the store (see the module's docstring); raises ImportRefused when the
    Portus database has problems, before any write."""
    if plan.problems:
        raise ImportRefused([str(p) for p in plan.problems])
    report = ImportReport(dry_run=dry_run)
    report.skipped.extend(str(s) for s in plan.skipped)
    for skipped in plan.skipped:
        report.count(skipped.kind).skipped += 1
    report.notes.extend(plan.notes)
    if plan.global_visibility is not None and plan.global_visibility != services.rules.global_visibility:
        report.notes.append(
            f"Portus's global namespace was {plan.global_visibility}; here it is {services.rules.global_visibility}:"
            f" set GATEWAY_NAMESPACES_GLOBAL_VISIBILITY={plan.global_visibility} to keep it"
        )
    importer = _Importer(services, plan, report, progress or NoProgress())
    try:
        async with services.store.transaction():
            await importer.run()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        (progress or NoProgress()).finish()
    for kind, total in kinds(plan):
        log.info("portus import: %s: %d in Portus", kind, total)
    return report


def print_report(report: ImportReport, out: TextIO) -> None:
    """The report: counts per kind, then every conflict, skip and note, one a line."""
    heading = "Portus import, dry run (nothing written)" if report.dry_run else "Portus import"
    print(f"{heading}:", file=out)
    for kind, count in report.counts.items():
        print(
            f"  {kind + ':':<12} {count.imported} imported, {count.unchanged} imported before, "
            f"{count.conflicts} conflicts, {count.skipped} skipped",
            file=out,
        )
    sections = (("conflicts (never overwritten)", report.conflicts), ("skipped", report.skipped), ("notes", report.notes))
    for title, lines in sections:
        if lines:
            print(f"{title}:", file=out)
            for line in lines:
                print(f"  - {line}", file=out)
    if report.webhooks_moved:
        print(f"{report.webhooks_moved} webhook(s) here skip the imported history (it is not news to deliver)", file=out)
    if not report.changed:
        print("nothing to change: every Portus row was imported before, or is listed above", file=out)
    elif report.dry_run:
        print("dry run: run again without --dry-run to import", file=out)
