"""Who may do what: requested scopes in, granted scopes and the reasons for every refusal out.

Pure functions over an `Identity`. The rules today: personal namespace (`alice/...`) belongs to
its user; admins may do everything; the global namespace (names without `/`) may be pulled by
signed-in users and pushed by admins; anything else is refused. Further rules (teams,
visibility, application tokens) slot in as more `NamespaceRule`s consulted by `repository_actions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.auth.scopes import Scope

ALL_REPOSITORY_ACTIONS = frozenset({"pull", "push", "delete"})


@dataclass(frozen=True)
class Identity:
    """The authenticated caller; `name == ""` is anonymous."""

    name: str
    admin: bool = False

    @property
    def anonymous(self) -> bool:
        return self.name == ""


ANONYMOUS = Identity("")


@dataclass(frozen=True)
class Allowance:
    actions: frozenset[str]
    reason: str


@dataclass(frozen=True)
class Grant:
    scopes: tuple[Scope, ...]
    refusals: tuple[str, ...] = field(default=())


def repository_actions(identity: Identity, repository: str) -> Allowance:
    """The actions `identity` may take on `repository`, and why (for the log)."""
    if identity.admin:
        return Allowance(ALL_REPOSITORY_ACTIONS, "admin")
    namespace, sep, _ = repository.partition("/")
    if not sep:
        if identity.anonymous:
            return Allowance(frozenset(), "anonymous callers may not use the global namespace")
        return Allowance(frozenset({"pull"}), "global namespace: signed-in users pull, admins push")
    if identity.anonymous:
        return Allowance(frozenset(), "anonymous callers may not use namespace " + repr(namespace))
    if namespace == identity.name:
        return Allowance(ALL_REPOSITORY_ACTIONS, "personal namespace")
    return Allowance(frozenset(), f"namespace {namespace!r} belongs to someone else")


def _effective(requested: tuple[str, ...], allowed: frozenset[str]) -> tuple[str, ...]:
    granted = []
    for action in requested:
        if action == "*":
            if ALL_REPOSITORY_ACTIONS <= allowed:
                granted.append(action)
        elif action in allowed:
            granted.append(action)
    return tuple(granted)


def grant(identity: Identity, requested: Iterable[Scope]) -> Grant:
    """Grant = requested ∩ allowed. An empty grant is an answer, not an error."""
    scopes: list[Scope] = []
    refusals: list[str] = []
    who = identity.name or "anonymous"
    for scope in requested:
        if scope.type == "repository":
            allowance = repository_actions(identity, scope.name)
            actions = _effective(scope.actions, allowance.actions)
        elif scope.type == "registry" and scope.name == "catalog":
            allowance = Allowance(frozenset({"*"}) if identity.admin else frozenset(), "catalog is for admins")
            actions = tuple(a for a in scope.actions if a in allowance.actions)
        else:
            continue
        denied = [a for a in scope.actions if a not in actions]
        if denied:
            refusals.append(f"{who} refused {','.join(denied)} on {scope.type}:{scope.name}: {allowance.reason}")
        if actions:
            scopes.append(Scope(scope.type, scope.name, actions, scope.resource_class))
    return Grant(tuple(scopes), tuple(refusals))
