"""Look up what the policy needs to know about namespaces (I/O at the edge of the pure policy)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from gateway.auth.policy import Identity, NamespaceFacts, Rules, TokenLimits, grant, namespace_of
from gateway.auth.scopes import Scope
from gateway.names import could_be_a_user, is_valid_team_name
from gateway.store import Conflict, NamespaceLookup, Store

log = logging.getLogger(__name__)


async def namespace_facts(store: Store, identity: Identity, namespace: str, rules: Rules) -> NamespaceFacts:
    """One namespace's facts for `identity`, in one statement (see `facts_from` for the rule)."""
    if namespace == "":
        return NamespaceFacts("", "global", rules.global_visibility)
    standing = await store.namespace_standing(namespace, identity.name)
    return facts_from(standing.lookup(namespace), identity, namespace, rules)


def facts_from(lookup: NamespaceLookup, identity: Identity, namespace: str, rules: Rules) -> NamespaceFacts:
    """What kind of namespace it is and the caller's standing in it, from a lookup of one
    namespace or of a page of them made beforehand. A reserved name comes before any owner: a
    new one must not inherit it."""
    if namespace == "":
        return NamespaceFacts("", "global", rules.global_visibility)
    if namespace in lookup.reserved:
        return NamespaceFacts(namespace, "reserved")
    row = lookup.rows.get(namespace)
    if row is not None and row.team is not None:
        role = None if identity.anonymous else lookup.roles.get(row.team)
        return NamespaceFacts(namespace, "team", row.visibility, role)
    if namespace in lookup.users:
        role = "owner" if identity.name == namespace else None
        return NamespaceFacts(namespace, "personal", row.visibility if row else "private", role)
    if row is not None:
        return NamespaceFacts(namespace, "unowned", row.visibility)
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
    """May this identity pull a repository? Namespace facts are looked up once per namespace,
    and so is the answer: the policy decides a pull by the repository's namespace alone (see
    `repository_actions`), and a list names many repositories of each namespace."""

    def __init__(self, store: Store, identity: Identity, rules: Rules) -> None:
        self._store = store
        self._identity = identity
        self._rules = rules
        self._facts: dict[str, NamespaceFacts] = {}
        self._answers: dict[str, bool] = {}

    async def prefetch(self, repositories: Iterable[str]) -> None:
        """Look up the namespaces of many repositories at once (a page of a listing), so that
        `allows` on them needs no statement of its own."""
        await self.prefetch_namespaces(namespace_of(r) for r in repositories)

    async def prefetch_namespaces(self, namespaces: Iterable[str]) -> None:
        """The same for namespaces named directly."""
        wanted = sorted(set(namespaces) - self._facts.keys() - {""})
        if not wanted:
            return
        lookup = await self._store.namespace_lookup(wanted, "" if self._identity.anonymous else self._identity.name)
        for namespace in wanted:
            self._facts[namespace] = facts_from(lookup, self._identity, namespace, self._rules)

    async def allows(self, repository: str) -> bool:
        namespace = namespace_of(repository)
        if (known := self._answers.get(namespace)) is not None:
            return known
        scope = Scope("repository", repository, ("pull",))
        if namespace not in self._facts:
            self._facts.update(await facts_for(self._store, self._identity, [scope], self._rules))
        answer = self._answers[namespace] = bool(grant(self._identity, [scope], self._facts, self._rules).scopes)
        return answer


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
