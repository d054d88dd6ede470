"""Portus rows -> what the gateway would hold: a pure mapping, no I/O.

`plan_import` checks every row first. A row that breaks Portus's own rules (an enum value it
never wrote, a reference to a row that does not exist) is a *problem*: the import refuses to
run at all, naming each one, so nothing is imported from a database in that state. A row the
gateway has no place for, or that it would hold differently, is *skipped* with its reason and
the rest goes ahead.

The mapping, from PORTUS-FACTS.md:
- users keep admin, enabled and their Devise bcrypt hash (verified at the first login, then
  rehashed); LDAP, OAuth and bot users get no usable password (bots log in with tokens only);
- hidden teams (each user's personal team, the global team) are no teams here; a personal team
  that owns namespaces besides its user's own becomes a team of that name;
- visibility 0/1/2 -> private/protected/public, roles 0/1/2 -> viewer/contributor/owner;
- the global namespace's visibility is a setting here (`namespaces.global_visibility`): a note;
- application tokens keep their bcrypt hash and get every right of their user (Portus tokens
  had no scopes), no expiry;
- webhooks fire on push and delete of their namespace's repositories; GET or form-encoded ones
  (the gateway POSTs JSON), disabled ones, and the global namespace's are imported disabled;
- tags (not those `marked` for deletion) go into the repository index; activities into the
  audit log with their own times and actors; a tag no `repository.push` activity names gets a
  push entry of its own, so the tag page can say who pushed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from gateway import names
from gateway.auth.credentials import is_bcrypt
from gateway.auth.scopes import is_valid_digest, is_valid_tag
from gateway.events.hook_headers import headers_problem
from gateway.events.model import IMPORTED_ACTION, Event, RequestInfo, Target, event_json
from gateway.portus.source import PortusData, Row, seconds
from gateway.store import NewEvent

ORIGIN = "portus"
EVENT_ID_PREFIX = "portus-"  # every imported audit entry's id: portus-activity-N, portus-tag-N
VISIBILITY = {0: "private", 1: "protected", 2: "public"}
ROLE = {0: "viewer", 1: "contributor", 2: "owner"}
REQUEST_METHOD = {0: "GET", 1: "POST"}
CONTENT_TYPE = {0: "application/json", 1: "application/x-www-form-urlencoded"}
NO_PASSWORD = "!no-password"  # matches no scheme: such a user has no password login until one is set
_PARAMETERS_MAX = 2000  # characters of an activity's YAML parameters kept in its audit entry
_TOKEN_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_HEADERS_MAX = 50


@dataclass(frozen=True)
class Problem:
    """A row Portus itself would not have written: the import refuses to run."""

    table: str
    source_id: int
    reason: str

    def __str__(self) -> str:
        return f"{self.table} #{self.source_id}: {self.reason}"


@dataclass(frozen=True)
class Skipped:
    kind: str
    source_id: int
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name!r} (Portus #{self.source_id}): {self.reason}"


@dataclass(frozen=True)
class PlannedUser:
    source_id: int
    name: str
    password_hash: str
    admin: bool
    disabled: bool
    created_at: int
    how: str  # password, ldap, oauth:PROVIDER, bot
    email: str


@dataclass(frozen=True)
class PlannedTeam:
    source_id: int
    name: str
    created_at: int


@dataclass(frozen=True)
class PlannedMember:
    source_id: int
    team: str
    user: str
    role: str
    created_at: int


@dataclass(frozen=True)
class PlannedNamespace:
    source_id: int
    name: str
    team: str | None  # None: a user's personal namespace
    visibility: str
    created_at: int


@dataclass(frozen=True)
class PlannedToken:
    source_id: int
    user: str
    name: str
    legacy_hash: str
    created_at: int


@dataclass(frozen=True)
class PlannedWebhook:
    source_id: int
    name: str
    namespace: str
    url: str
    headers: dict[str, str]
    repository_pattern: str
    disabled_reason: str | None


@dataclass(frozen=True)
class PlannedTag:
    source_id: int
    name: str
    digest: str
    size: int
    pushed_at: int
    pulled_at: int | None = None


@dataclass(frozen=True)
class PlannedRepository:
    source_id: int
    name: str
    namespace: str  # "" for the global namespace
    created_at: int
    last_push_at: int | None
    last_pull_at: int | None
    tags: tuple[PlannedTag, ...]


@dataclass
class Plan:
    users: list[PlannedUser] = field(default_factory=list)
    teams: list[PlannedTeam] = field(default_factory=list)
    members: list[PlannedMember] = field(default_factory=list)
    namespaces: list[PlannedNamespace] = field(default_factory=list)
    tokens: list[PlannedToken] = field(default_factory=list)
    webhooks: list[PlannedWebhook] = field(default_factory=list)
    repositories: list[PlannedRepository] = field(default_factory=list)
    event_count: int = 0
    make_events: Callable[[], Iterator[NewEvent]] = field(default=lambda: iter(()), repr=False)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    global_visibility: str | None = None

    def events(self) -> Iterator[NewEvent]:
        """The audit entries, oldest activity first, then a push entry for each tag no push names."""
        return self.make_events()


def _int(row: Row, column: str) -> int | None:
    value = row.get(column)
    if value is None or isinstance(value, bool):
        return int(value) if isinstance(value, bool) else None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(row: Row, column: str) -> str:
    value = row.get(column)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _flag(row: Row, column: str) -> bool:
    return bool(_int(row, column))


def _time(row: Row, column: str = "created_at") -> int:
    return seconds(row.get(column)) or 0


class _Planner:
    def __init__(self, data: PortusData) -> None:
        self.data = data
        self.plan = Plan()
        self.users = {int(r["id"]): r for r in data.rows("users")}
        self.teams = {int(r["id"]): r for r in data.rows("teams")}
        self.namespaces = {int(r["id"]): r for r in data.rows("namespaces")}
        self.repositories = {int(r["id"]): r for r in data.rows("repositories")}
        self.tags = {int(r["id"]): r for r in data.rows("tags")}
        self.user_names: dict[int, str] = {}  # Portus user id -> gateway user, for the users planned
        self.team_names: dict[int, str] = {}  # Portus team id -> gateway team, for the teams planned
        self.namespace_names: dict[int, str] = {}  # Portus namespace id -> gateway namespace ("" global)
        self.repository_names: dict[int, str] = {}

    def problem(self, table: str, row: Row, reason: str) -> None:
        self.plan.problems.append(Problem(table, int(row["id"]), reason))

    def skip(self, kind: str, row: Row, name: str, reason: str) -> None:
        self.plan.skipped.append(Skipped(kind, int(row["id"]), name, reason))

    # -- checks of Portus's own rules -----------------------------------------------------------

    def check(self) -> None:
        for row in self.data.rows("team_users"):
            if _int(row, "role") not in ROLE:
                self.problem("team_users", row, f"role {row.get('role')!r} is none of 0 (viewer), 1 (contributor), 2 (owner)")
            if _int(row, "team_id") not in self.teams:
                self.problem("team_users", row, f"team #{row.get('team_id')} does not exist")
            if _int(row, "user_id") not in self.users:
                self.problem("team_users", row, f"user #{row.get('user_id')} does not exist")
        for row in self.data.rows("namespaces"):
            if _int(row, "visibility") not in VISIBILITY:
                self.problem(
                    "namespaces", row, f"visibility {row.get('visibility')!r} is none of 0 (private), 1 (protected), 2 (public)"
                )
            if _int(row, "team_id") not in self.teams:
                self.problem("namespaces", row, f"team #{row.get('team_id')} does not exist")
        for row in self.data.rows("repositories"):
            if _int(row, "namespace_id") not in self.namespaces:
                self.problem("repositories", row, f"namespace #{row.get('namespace_id')} does not exist")
        for row in self.data.rows("tags"):
            if _int(row, "repository_id") not in self.repositories:
                self.problem("tags", row, f"repository #{row.get('repository_id')} does not exist")
        for row in self.data.rows("application_tokens"):
            if _int(row, "user_id") not in self.users:
                self.problem("application_tokens", row, f"user #{row.get('user_id')} does not exist")
        hooks = set()
        for row in self.data.rows("webhooks"):
            hooks.add(int(row["id"]))
            if _int(row, "namespace_id") not in self.namespaces:
                self.problem("webhooks", row, f"namespace #{row.get('namespace_id')} does not exist")
            if _int(row, "request_method") not in REQUEST_METHOD:
                self.problem("webhooks", row, f"request_method {row.get('request_method')!r} is none of 0 (GET), 1 (POST)")
            if _int(row, "content_type") not in CONTENT_TYPE:
                self.problem("webhooks", row, f"content_type {row.get('content_type')!r} is none of 0 (JSON), 1 (form)")
        for row in self.data.rows("webhook_headers"):
            if _int(row, "webhook_id") not in hooks:
                self.problem("webhook_headers", row, f"webhook #{row.get('webhook_id')} does not exist")

    # -- users and teams ------------------------------------------------------------------------

    def plan_users(self) -> None:
        for row in self.data.rows("users"):
            name = _text(row, "username")
            if (problem := names.USER.problem(name)) is not None:
                self.skip("user", row, name, problem)
                continue
            stored = _text(row, "encrypted_password")
            provider = _text(row, "provider")
            if _flag(row, "bot"):
                how, password_hash = "bot", NO_PASSWORD
            elif is_bcrypt(stored):
                how, password_hash = "password", stored
            elif stored:
                how, password_hash = "password", NO_PASSWORD
                self.plan.notes.append(f"user {name!r}: the stored password is no bcrypt hash; set a new password")
            else:
                how, password_hash = (f"oauth:{provider}" if provider else "ldap"), NO_PASSWORD
            self.plan.users.append(PlannedUser(
                int(row["id"]), name, password_hash, _flag(row, "admin"), not _flag(row, "enabled"), _time(row), how,
                _text(row, "email"),
            ))
            self.user_names[int(row["id"])] = name

    def _personal_namespace_ids(self) -> set[int]:
        return {ns for ns in (_int(u, "namespace_id") for u in self.users.values()) if ns is not None}

    def plan_teams(self) -> None:
        personal_ids = self._personal_namespace_ids()
        owning = {_int(ns, "team_id") for ns in self.namespaces.values()
                  if int(ns["id"]) not in personal_ids and not _flag(ns, "global")}
        for team_id, row in self.teams.items():
            name = _text(row, "name")
            if _flag(row, "hidden") and team_id not in owning:
                continue  # a personal or the global team: no team here
            if (problem := names.TEAM.problem(name)) is not None:
                self.skip("team", row, name, problem + "; its namespaces are imported without a team (admins only)")
                continue
            self.plan.teams.append(PlannedTeam(team_id, name, _time(row)))
            self.team_names[team_id] = name
            if _flag(row, "hidden"):
                self.plan.notes.append(f"the personal team {name!r} owns namespaces besides its user's own: it is a team here")
        for row in self.data.rows("team_users"):
            team, user = self.team_names.get(_int(row, "team_id") or -1), self.user_names.get(_int(row, "user_id") or -1)
            if team is None:
                continue
            if user is None:
                self.skip("member", row, f"#{row.get('user_id')} in {team}", "the user is not imported")
                continue
            self.plan.members.append(PlannedMember(int(row["id"]), team, user, ROLE[_int(row, "role") or 0], _time(row)))

    # -- namespaces -----------------------------------------------------------------------------

    def plan_namespaces(self) -> None:
        owner_of = {_int(u, "namespace_id"): uid for uid, u in self.users.items() if _int(u, "namespace_id") is not None}
        for ns_id, row in self.namespaces.items():
            name = _text(row, "name")
            visibility = VISIBILITY[_int(row, "visibility") or 0]
            if _flag(row, "global"):
                self.namespace_names[ns_id] = ""
                self.plan.global_visibility = visibility
                continue
            if ns_id in owner_of:
                user = self.user_names.get(owner_of[ns_id])
                if user is None:
                    self.skip("namespace", row, name, "its user is not imported")
                elif user != name:
                    self.skip("namespace", row, name, f"the personal namespace of {user!r}, whose namespace here is {user!r}")
                else:
                    self.plan.namespaces.append(PlannedNamespace(ns_id, name, None, visibility, _time(row)))
                    self.namespace_names[ns_id] = name
                continue
            if (problem := names.NAMESPACE.problem(name)) is not None:
                self.skip("namespace", row, name, problem)
                continue
            team = self.team_names.get(_int(row, "team_id") or -1)
            if team is None:
                self.plan.notes.append(f"namespace {name!r} has no team here (its team is not imported): admins only")
            self.plan.namespaces.append(PlannedNamespace(ns_id, name, team, visibility, _time(row)))
            self.namespace_names[ns_id] = name

    # -- tokens and webhooks --------------------------------------------------------------------

    def plan_tokens(self) -> None:
        for row in self.data.rows("application_tokens"):
            user = self.user_names.get(_int(row, "user_id") or -1)
            application = _text(row, "application")
            if user is None:
                self.skip("token", row, application, "its user is not imported")
                continue
            stored = _text(row, "token_hash")
            if not is_bcrypt(stored):
                self.skip("token", row, application, "its hash is no bcrypt hash")
                continue
            name = application
            if not names.TOKEN.valid(name):
                name = _TOKEN_NAME_BAD.sub("-", application).strip("-._")[:64] or f"portus-{row['id']}"
                self.plan.notes.append(f"token {application!r} of {user!r} is named {name!r} here (a token name's rule)")
            self.plan.tokens.append(PlannedToken(int(row["id"]), user, name, stored, _time(row)))

    def plan_webhooks(self) -> None:
        headers: dict[int, dict[str, str]] = {}
        for row in self.data.rows("webhook_headers"):
            headers.setdefault(_int(row, "webhook_id") or -1, {})[_text(row, "name")] = _text(row, "value")
        for row in self.data.rows("webhooks"):
            hook_id = int(row["id"])
            namespace = self.namespace_names.get(_int(row, "namespace_id") or -1)
            label = _text(row, "name") or _text(row, "url")
            if namespace is None:
                self.skip("webhook", row, label, "its namespace is not imported")
                continue
            reasons = []
            if not _flag(row, "enabled"):
                reasons.append("disabled in Portus")
            if REQUEST_METHOD[_int(row, "request_method") or 0] != "POST":
                reasons.append("Portus sent it GET requests; the gateway POSTs JSON")
            if CONTENT_TYPE[_int(row, "content_type") or 0] != "application/json":
                reasons.append("Portus sent it form-encoded bodies; the gateway POSTs JSON")
            if namespace == "":
                reasons.append("a repository pattern here cannot pick out the global namespace's repositories")
            url = _text(row, "url")
            try:
                parsed = URL(url)
                user, password = _text(row, "username"), _text(row, "password")
                if user and parsed.host:
                    url = str(parsed.with_user(user).with_password(password or None))
            except (ValueError, TypeError):
                reasons.append("its URL is not one")
            extra = headers.get(hook_id, {})
            if len(extra) > _HEADERS_MAX:
                reasons.append(f"it has more than {_HEADERS_MAX} headers")
            elif (problem := headers_problem(extra)) is not None:
                reasons.append(problem)
            slug = _TOKEN_NAME_BAD.sub("-", _text(row, "name") or namespace or "global").strip("-._")
            name = f"portus-{hook_id}-{slug}"[:64].rstrip("-._")
            self.plan.webhooks.append(PlannedWebhook(
                hook_id, name, namespace, url, extra, f"{namespace}/*" if namespace else "",
                "; ".join(reasons)[:255] or None,
            ))

    # -- the repository index and the audit log -------------------------------------------------

    def plan_repositories(self) -> None:
        tags_of: dict[int, list[Row]] = {}
        for row in self.tags.values():
            tags_of.setdefault(_int(row, "repository_id") or -1, []).append(row)
        for repo_id, row in self.repositories.items():
            namespace = self.namespace_names.get(_int(row, "namespace_id") or -1)
            short = _text(row, "name")
            if namespace is None:
                self.skip("repository", row, short, "its namespace is not imported")
                continue
            full = f"{namespace}/{short}" if namespace else short
            if (problem := names.REPOSITORY.problem(full)) is not None:
                self.skip("repository", row, full, problem)
                continue
            self.repository_names[repo_id] = full
            tags: list[PlannedTag] = []
            pulls: list[int] = []
            for tag in tags_of.get(repo_id, []):
                tag_name, digest = _text(tag, "name"), _text(tag, "digest")
                if _flag(tag, "marked"):
                    self.skip("tag", tag, f"{full}:{tag_name}", "marked for deletion in Portus")
                elif not is_valid_tag(tag_name):
                    self.skip("tag", tag, f"{full}:{tag_name}", "not a valid tag name")
                elif not is_valid_digest(digest):
                    self.skip("tag", tag, f"{full}:{tag_name}", f"no valid manifest digest ({digest[:80]!r})")
                else:
                    size = max(0, _int(tag, "size") or 0)
                    pulled = seconds(tag.get("pulled_at"))
                    tags.append(PlannedTag(int(tag["id"]), tag_name, digest, size, _time(tag, "updated_at"), pulled))
                    if pulled is not None:
                        pulls.append(pulled)
            self.plan.repositories.append(PlannedRepository(
                repo_id, full, namespace, _time(row), max((t.pushed_at for t in tags), default=None), max(pulls, default=None),
                tuple(tags),
            ))

    def _name_of(self, kind: str, ident: int | None) -> str:
        """The name of the row an activity is about, when it still exists (as imported, if it is)."""
        if ident is None:
            return ""
        if kind == "User":
            return self.user_names.get(ident) or _text(self.users.get(ident, {}), "username")
        if kind == "Team":
            return _text(self.teams.get(ident, {}), "name")
        if kind == "Namespace":
            return self.namespace_names.get(ident, _text(self.namespaces.get(ident, {}), "name"))
        if kind == "Repository":
            return self.repository_names.get(ident, "")
        if kind == "Tag":
            return _text(self.tags.get(ident, {}), "name")
        return ""

    def _event(self, event_id: str, at: int, action: str, repository: str, tag: Row | None, actor: str) -> NewEvent:
        target = Target(
            repository, digest=_text(tag, "digest") if tag else "", size=(_int(tag, "size") or 0) if tag else 0,
            tag=_text(tag, "name") if tag else "",
        )
        event = Event(
            event_id, float(at), action, target, RequestInfo("", "", "", "", "portus-import"), actor, "", "", "portus-import",
        )
        return NewEvent(event_id, at * 1000, action, repository, target.tag, target.digest, actor, event_json(event))

    def _activity(self, row: Row) -> tuple[str, str, str, Row | None]:
        """An activity's key, audit action, repository (or namespace) name and tag row."""
        key = _text(row, "key")
        trackable_type, trackable_id = _text(row, "trackable_type"), _int(row, "trackable_id")
        recipient_id = _int(row, "recipient_id")
        repository = ""
        if trackable_type in ("Repository", "Namespace"):
            repository = self._name_of(trackable_type, trackable_id)
        tag = self.tags.get(recipient_id) if _text(row, "recipient_type") == "Tag" and recipient_id is not None else None
        if key == "repository.push" and repository:
            action = "push"
        elif key in ("repository.delete", "repository.delete_tag", "tag.delete", "namespace.delete") and repository:
            action = "delete"
        else:
            action = IMPORTED_ACTION
        return key, action, repository, tag

    def plan_events(self) -> None:
        """Counted now, made while they are written (`Plan.events`): years of activity would
        otherwise sit in memory twice, as rows and as audit entries."""
        pushed_tags: set[int] = set()
        for row in self.data.rows("activities"):
            _, action, _, tag = self._activity(row)
            if action == "push" and tag is not None:
                pushed_tags.add(int(tag["id"]))
        unpushed = [
            (repository.name, planned) for repository in self.plan.repositories for planned in repository.tags
            if planned.source_id not in pushed_tags
        ]
        self.plan.event_count = len(self.data.rows("activities")) + len(unpushed)

        def events() -> Iterator[NewEvent]:
            for row in self.data.rows("activities"):
                yield self._activity_event(row)
            for repository, planned in unpushed:
                tag = self.tags[planned.source_id]
                actor = self.user_names.get(_int(tag, "user_id") or -1) or _text(tag, "username")
                new = self._event(f"{EVENT_ID_PREFIX}tag-{planned.source_id}", planned.pushed_at, "push", repository, tag, actor)
                new.body["portus"] = {"key": "tag", "note": "the tag as Portus held it (no push activity names it)"}
                yield new

        self.plan.make_events = events

    def _activity_event(self, row: Row) -> NewEvent:
        key, action, repository, tag = self._activity(row)
        actor = self._name_of(_text(row, "owner_type"), _int(row, "owner_id"))
        trackable_type, trackable_id = _text(row, "trackable_type"), _int(row, "trackable_id")
        recipient_type, recipient_id = _text(row, "recipient_type"), _int(row, "recipient_id")
        new = self._event(f"{EVENT_ID_PREFIX}activity-{row['id']}", _time(row), action, repository, tag, actor)
        new.body["portus"] = {
            "key": key,
            "trackable": {"type": trackable_type, "id": trackable_id, "name": self._name_of(trackable_type, trackable_id)},
            "recipient": {"type": recipient_type, "id": recipient_id, "name": self._name_of(recipient_type, recipient_id)},
            "parameters": _text(row, "parameters")[:_PARAMETERS_MAX],
        }
        return new


def plan_import(data: PortusData) -> Plan:
    planner = _Planner(data)
    planner.check()
    if planner.plan.problems:
        return planner.plan
    planner.plan_users()
    planner.plan_teams()
    planner.plan_namespaces()
    planner.plan_tokens()
    planner.plan_webhooks()
    planner.plan_repositories()
    planner.plan_events()
    for table, count in data.not_imported.items():
        planner.plan.notes.append(f"{count} row(s) of {table}: the gateway has no place for them, not imported")
    return planner.plan


def detail(**values: Any) -> str:
    """What imported_rows.detail keeps of a row: compact JSON, at most 255 characters."""
    shown = {k: (v[:100] if isinstance(v, str) else v) for k, v in values.items() if v not in (None, "")}
    return json.dumps(shown, separators=(",", ":"), ensure_ascii=True)[:255]


def kinds(plan: Plan) -> Iterable[tuple[str, int]]:
    """How many rows of each kind the plan holds, in the order they are written."""
    yield "user", len(plan.users)
    yield "team", len(plan.teams)
    yield "member", len(plan.members)
    yield "namespace", len(plan.namespaces)
    yield "token", len(plan.tokens)
    yield "repository", len(plan.repositories)
    yield "tag", sum(len(r.tags) for r in plan.repositories)
    yield "event", plan.event_count
    yield "webhook", len(plan.webhooks)

