"""Look up what the policy needs to know about namespaces (I/O at the edge of the pure policy)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from gateway.auth.policy import Identity, NamespaceFacts, Rules, TokenLimits, grant, namespace_of
from gateway.auth.scopes import Scope
from gateway.names import could_be_a_user, is_valid_team_name
from gateway.store import Conflict, Store

log = logging.getLogger(__name__)


async def namespace_facts(store: Store, identity: Identity, namespace: str, rules: Rules) -> NamespaceFacts:
    if namespace == "":
        return NamespaceFacts("", "global", rules.global_visibility)
    standing = await store.namespace_standing(namespace, identity.name)
    if standing.reserved:  # before any owner: a new one must not inherit it
        return NamespaceFacts(namespace, "reserved")
    visibility = standing.visibility or "private"
    if standing.team is not None:
        return NamespaceFacts(namespace, "team", visibility, None if identity.anonymous else standing.role)
    if standing.user_named:
        return NamespaceFacts(namespace, "personal", visibility, "owner" if identity.name == namespace else None)
    if standing.row:
        return NamespaceFacts(namespace, "unowned", visibility)
    return NamespaceFacts(namespace, "missing")


async def auto_create(store: Store, identity: Identity, namespace: str) -> bool:
    """Create a missing namespace for a signed-in pusher: a team of the same name, they its owner."""
    if identity.anonymous or (identity.limits and identity.limits.namespaces and namespace not in identity.limits.namespaces):
        return False
    if await store.get_tombstone(namespace) is not None:
        return False
    if not identity.admin and could_be_a_user(namespace):
        log.info(
            "namespace %r not auto-created for %r: it could be a user's name, so only an admin creates it",
            namespace, identity.name,
        )
        return False
    if not is_valid_team_name(namespace):
        log.info("namespace %r not auto-created for %r: too long to name its team", namespace, identity.name)
        return False
    team = await store.get_team(namespace)
    if team is None:
        try:
            await store.create_team(namespace)
            await store.set_member(namespace, identity.name, "owner")
        except Conflict:
            pass
    if await store.get_role(namespace, identity.name) != "owner":
        return False
    with contextlib.suppress(Conflict):
        await store.create_namespace(namespace, namespace, "private")
    log.info("namespace %r auto-created for %r", namespace, identity.name)
    return True


async def facts_for(store: Store, identity: Identity, requested: Iterable[Scope], rules: Rules) -> dict[str, NamespaceFacts]:
    """Facts for every namespace the requested repository scopes touch (auto-creating on push)."""
    facts: dict[str, NamespaceFacts] = {}
    for scope in requested:
        if scope.type != "repository":
            continue
        namespace = namespace_of(scope.name)
        if namespace in facts:
            continue
        found = await namespace_facts(store, identity, namespace, rules)
        if (
            found.kind == "missing" and rules.auto_create and "push" in scope.actions
            and await auto_create(store, identity, namespace)
        ):
            found = await namespace_facts(store, identity, namespace, rules)
        facts[namespace] = found
    return facts


class PullFilter:
    """May this identity pull a repository? Namespace facts are looked up once per namespace."""

    def __init__(self, store: Store, identity: Identity, rules: Rules) -> None:
        self._store = store
        self._identity = identity
        self._rules = rules
        self._facts: dict[str, NamespaceFacts] = {}

    async def allows(self, repository: str) -> bool:
        scope = Scope("repository", repository, ("pull",))
        if namespace_of(repository) not in self._facts:
            self._facts.update(await facts_for(self._store, self._identity, [scope], self._rules))
        return bool(grant(self._identity, [scope], self._facts, self._rules).scopes)


async def identity_of(store: Store, subject: str, app_token: str | None) -> Identity:
    """The current identity behind a token's subject (and application token), from the store."""
    if not subject:
        return Identity("")
    user = await store.get_user(subject)
    if user is None or user.disabled:
        return Identity("")
    if app_token is None:
        return Identity(user.name, admin=user.admin)
    record = await store.get_app_token(app_token)
    if record is None or record.username != user.name:
        return Identity("")
    limits = TokenLimits(record.id, record.name, frozenset(record.namespaces), frozenset(record.actions), record.expires_at)
    return Identity(user.name, admin=user.admin, limits=limits)
