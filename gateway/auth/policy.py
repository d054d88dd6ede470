"""Who may do what: requested scopes in, granted scopes and the reasons for every refusal out.

Pure functions over an `Identity` and the `NamespaceFacts` the caller looked up. The model:
- personal namespace (`alice/...`): its user pulls, pushes and deletes; others per visibility;
- team namespace: owner pull/push/delete, contributor pull/push (delete where configured),
  viewer pull; non-members per visibility;
- global namespace (names without `/`): pull per its visibility, push and delete by admins;
- visibility: public (anyone, anonymous too, pulls), protected (signed-in users pull), private;
- admins may do everything; delete only where deletion is enabled;
- a reserved namespace (deleted with repositories in it, see gateway/store/tombstones.py):
  nobody pushes; admins alone pull (to inspect before purging) and delete;
- an application token narrows its user's rights to its namespaces and actions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from gateway.auth.scopes import Scope

ALL_REPOSITORY_ACTIONS = frozenset({"pull", "push", "delete"})
ROLES = ("owner", "contributor", "viewer")
VISIBILITIES = ("public", "protected", "private")
NamespaceKind = Literal["global", "personal", "team", "unowned", "missing", "reserved"]


@dataclass(frozen=True)
class TokenLimits:
    """What an application token narrows its user to: namespaces (empty = all) and actions."""

    token_id: str
    name: str
    namespaces: frozenset[str]
    actions: frozenset[str]
    expires_at: int | None = None


@dataclass(frozen=True)
class Identity:
    """The authenticated caller; `name == ""` is anonymous."""

    name: str
    admin: bool = False
    limits: TokenLimits | None = None

    @property
    def anonymous(self) -> bool:
        return self.name == ""


ANONYMOUS = Identity("")


@dataclass(frozen=True)
class Rules:
    """The policy settings."""

    delete_enabled: bool = True
    contributors_delete: bool = False
    global_visibility: str = "protected"
    auto_create: bool = False


@dataclass(frozen=True)
class NamespaceFacts:
    """What the store knows about one namespace, as seen by one caller."""

    name: str
    kind: NamespaceKind
    visibility: str = "private"
    role: str | None = None


@dataclass(frozen=True)
class Allowance:
    actions: frozenset[str]
    reason: str


@dataclass(frozen=True)
class Grant:
    scopes: tuple[Scope, ...]
    refusals: tuple[str, ...] = field(default=())


def namespace_of(repository: str) -> str:
    """The namespace of a repository name; "" for the global namespace."""
    head, sep, _ = repository.partition("/")
    return head if sep else ""


def _visible(identity: Identity, visibility: str) -> bool:
    return visibility == "public" or (visibility == "protected" and not identity.anonymous)


def _with_delete(actions: set[str], rules: Rules, allowed: bool, why: list[str]) -> None:
    if allowed and rules.delete_enabled:
        actions.add("delete")
    elif allowed:
        why.append("deletion is disabled")


def reserved_message(namespace: str) -> str:
    return (
        f"namespace {namespace!r} is reserved: it was deleted while repositories were in it;"
        " an administrator must release or purge it"
    )


def _reserved_actions(identity: Identity, facts: NamespaceFacts, rules: Rules) -> Allowance:
    if not identity.admin:
        return Allowance(frozenset(), reserved_message(facts.name))
    why: list[str] = []
    actions = {"pull"}
    _with_delete(actions, rules, True, why)
    return Allowance(frozenset(actions), "; ".join([f"admin; namespace {facts.name!r} is reserved, nobody pushes", *why]))


def _base_actions(identity: Identity, facts: NamespaceFacts, rules: Rules) -> Allowance:
    why: list[str] = []
    actions: set[str] = set()
    if facts.kind == "reserved":
        return _reserved_actions(identity, facts, rules)
    if identity.admin:
        actions |= {"pull", "push"}
        _with_delete(actions, rules, True, why)
        return Allowance(frozenset(actions), "; ".join(["admin", *why]))
    if facts.kind == "missing":
        return Allowance(frozenset(), f"namespace {facts.name!r} does not exist")
    if facts.kind == "global":
        if _visible(identity, facts.visibility):
            actions.add("pull")
        return Allowance(frozenset(actions), f"global namespace is {facts.visibility}; only admins push or delete")
    if facts.kind == "personal" and facts.role == "owner":
        actions |= {"pull", "push"}
        _with_delete(actions, rules, True, why)
        return Allowance(frozenset(actions), "; ".join(["personal namespace", *why]))
    if facts.role in ROLES:
        actions.add("pull")
        if facts.role in ("owner", "contributor"):
            actions.add("push")
        can_delete = facts.role == "owner" or (facts.role == "contributor" and rules.contributors_delete)
        _with_delete(actions, rules, can_delete, why)
        if not can_delete:
            why.append(f"{facts.role}s may not delete")
        return Allowance(frozenset(actions), "; ".join([f"{facts.role} of namespace {facts.name!r}", *why]))
    if _visible(identity, facts.visibility):
        actions.add("pull")
    who = "anonymous callers" if identity.anonymous else "non-members"
    access = "pull only" if actions else "have no access"
    return Allowance(frozenset(actions), f"namespace {facts.name!r} is {facts.visibility}; {who} {access}")


def repository_actions(identity: Identity, repository: str, facts: NamespaceFacts, rules: Rules) -> Allowance:
    """The actions `identity` may take on `repository`, and why (for the log). Decided by the
    repository's namespace alone, never the rest of its name: lists decide each namespace once
    (gateway/auth/namespaces.py `PullFilter`) and skip a hidden one whole."""
    allowance = _base_actions(identity, facts, rules)
    limits = identity.limits
    if limits is None:
        return allowance
    if limits.namespaces and namespace_of(repository) not in limits.namespaces:
        return Allowance(frozenset(), f"application token {limits.name!r} is not for this namespace")
    narrowed = allowance.actions & limits.actions
    if narrowed != allowance.actions:
        allowed = ",".join(sorted(limits.actions))
        return Allowance(narrowed, f"{allowance.reason}; application token {limits.name!r} allows {allowed}")
    return allowance


def _effective(requested: tuple[str, ...], allowed: frozenset[str]) -> tuple[str, ...]:
    granted = []
    for action in requested:
        if action == "*":
            if ALL_REPOSITORY_ACTIONS <= allowed:
                granted.append(action)
        elif action in allowed:
            granted.append(action)
    return tuple(granted)


def grant(identity: Identity, requested: Iterable[Scope], facts: Mapping[str, NamespaceFacts], rules: Rules) -> Grant:
    """Grant = requested ∩ allowed. An empty grant is an answer, not an error.

    `facts` maps each namespace of the requested repositories (see `namespace_of`) to its facts.
    """
    scopes: list[Scope] = []
    refusals: list[str] = []
    who = identity.name or "anonymous"
    for scope in requested:
        if scope.type == "repository":
            namespace = namespace_of(scope.name)
            known = facts.get(namespace, NamespaceFacts(namespace, "missing"))
            allowance = repository_actions(identity, scope.name, known, rules)
            actions = _effective(scope.actions, allowance.actions)
        elif scope.type == "registry" and scope.name == "catalog":
            admin = identity.admin and identity.limits is None
            allowance = Allowance(frozenset({"*"}) if admin else frozenset(), "the catalog is for admins")
            actions = tuple(a for a in scope.actions if a in allowance.actions)
        else:
            continue
        denied = [a for a in scope.actions if a not in actions]
        if denied:
            refusals.append(f"{who} refused {','.join(denied)} on {scope.type}:{scope.name}: {allowance.reason}")
        if actions:
            scopes.append(Scope(scope.type, scope.name, actions, scope.resource_class))
    return Grant(tuple(scopes), tuple(refusals))
