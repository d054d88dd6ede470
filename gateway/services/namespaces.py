"""Namespaces: team namespaces (created and managed by the team's owners and admins) and the
settings of personal namespaces (a user's own name).

A personal namespace has no row until its user first changes it: it then reads as private with
no team, and it never belongs to a team (its user's pushes would stop being theirs). Names are
shared with users, so a namespace may not take a user's name, nor a reserved one (deleted with
repositories in it); one whose name a user could have only an admin creates (see
`may_name_namespace`). Deleting a namespace that holds repositories reserves its name.
A namespace the actor may not see is NotFound exactly as one that does not exist, so names
cannot be probed; one they see but may not manage is Forbidden.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from gateway import names
from gateway.auth.permissions import (
    Actor,
    may_manage_namespace,
    may_name_namespace,
    may_see_namespace,
)
from gateway.auth.policy import VISIBILITIES
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.services.guards import require_admin, require_self_or_admin, search_text, valid_name
from gateway.services.immutable import parse_patterns
from gateway.services.paging import page_of
from gateway.services.reach import open_namespaces_of
from gateway.services.teams import readable_team, require_team_owner
from gateway.services.tombstones import refuse_if_reserved
from gateway.store import Conflict as StoreConflict
from gateway.store import Deletion, Namespace

DEFAULT_VISIBILITY = "private"


@dataclass(frozen=True)
class _Found:
    """A namespace as the rules see it: `personal` when it is a user's own (no team), `stored`
    when it has a row (a personal one has none until first changed)."""

    namespace: Namespace
    personal: bool
    stored: bool = True


def _no_such(name: str, hint: str = "") -> NotFound:
    return NotFound(f"no such namespace {name!r}{hint}")


def _valid_visibility(visibility: str) -> str:
    if visibility not in VISIBILITIES:
        raise Invalid(f"visibility must be one of {', '.join(VISIBILITIES)}")
    return visibility


async def _visible(services: Services, actor: Actor, namespace: Namespace) -> bool:
    if may_see_namespace(actor, namespace.name, namespace.visibility, None):
        return True
    if namespace.team is None:
        return False
    role = await services.store.get_role(namespace.team, actor.name)
    return may_see_namespace(actor, namespace.name, namespace.visibility, role)


class _PageVisibility:
    """Which namespaces of a listing the actor may see, by the rule `_visible` applies, with the
    actor's roles in a batch's teams read in one statement (`prepare`) rather than one per
    namespace the rule could not decide without a role. Nobody signed in has no role to read."""

    def __init__(self, services: Services, actor: Actor) -> None:
        self._services = services
        self._actor = actor
        self._roles: dict[str, str] = {}
        self._asked: set[str] = set()

    async def prepare(self, batch: Sequence[Namespace]) -> None:
        teams = {
            n.team for n in batch
            if n.team is not None and n.team not in self._asked and not may_see_namespace(self._actor, n.name, n.visibility, None)
        }
        if teams and self._actor.name:
            self._roles.update(await self._services.store.roles_in(sorted(teams), self._actor.name))
        self._asked.update(teams)

    async def keep(self, namespace: Namespace) -> bool:
        if namespace.team is not None and namespace.team not in self._asked:
            return await _visible(self._services, self._actor, namespace)
        role = None if namespace.team is None else self._roles.get(namespace.team)
        return may_see_namespace(self._actor, namespace.name, namespace.visibility, role)


async def _lookup(services: Services, name: str) -> _Found | None:
    """The namespace (a personal one without a row read as private with no team), or None."""
    store = services.store
    row = await store.get_namespace(name)
    if row is not None and row.team is not None:
        return _Found(row, personal=False)
    user = await store.get_user(name)
    if row is not None:
        return _Found(row, personal=user is not None)
    if user is None:
        return None
    return _Found(Namespace(name, None, DEFAULT_VISIBILITY, user.created_at), personal=True, stored=False)


async def _existing(services: Services, actor: Actor, name: str) -> _Found:
    """The namespace if it exists and the actor may see it; else NotFound, the same either way."""
    valid_name(names.NAMESPACE, name)
    found = await _lookup(services, name)
    if found is None or not await _visible(services, actor, found.namespace):
        raise _no_such(name)
    return found


async def _manages(services: Services, actor: Actor, found: _Found) -> bool:
    namespace = found.namespace
    role = None if namespace.team is None or actor.admin else await services.store.get_role(namespace.team, actor.name)
    return may_manage_namespace(actor, namespace.name, namespace.team, found.personal, role)


async def _require_manager(services: Services, actor: Actor, found: _Found, action: str) -> None:
    namespace = found.namespace
    if await _manages(services, actor, found):
        return
    if namespace.team is not None:
        raise Forbidden(f"only owners of team {namespace.team!r} and admins may {action}")
    if found.personal:
        require_self_or_admin(actor, namespace.name, action)
    else:
        require_admin(actor, f"{action} (namespace {namespace.name!r} belongs to no team)")


async def list_namespaces(
    services: Services, actor: Actor, after: str, limit: int
) -> tuple[list[Namespace], str | None]:
    """A page of the namespaces with settings (rows) the actor may see, by name, and the name
    to go on after (None at the end). Personal namespaces never changed have no row."""
    return await _visible_namespaces(services, actor, "", after, limit)


async def list_team_namespaces(
    services: Services, actor: Actor, team: str, after: str, limit: int
) -> tuple[list[Namespace], str | None]:
    """A page of a team's namespaces, by name, for its members and admins (they see them all)."""
    await readable_team(services, actor, team)

    async def fetch(start: str, count: int) -> list[Namespace]:
        return await services.store.list_team_namespaces(team, start, count)

    return await page_of(fetch, lambda n: n.name, after, limit)


async def search_namespaces(
    services: Services, actor: Actor, text: str, after: str, limit: int
) -> tuple[list[Namespace], str | None]:
    """A page of the namespaces with rows whose name contains `text` that the actor may see."""
    return await _visible_namespaces(services, actor, search_text(text), after, limit)


async def _visible_namespaces(
    services: Services, actor: Actor, contains: str, after: str, limit: int
) -> tuple[list[Namespace], str | None]:
    """A page of the namespace rows whose names contain `contains` (all when empty) that the
    actor may see. Where the namespaces open to them are few (gateway/services/reach.py), just
    those rows are read, by name; otherwise the rows are walked, each kept or not by the rule."""
    store = services.store

    async def every(start: str, count: int) -> list[Namespace]:
        if contains:
            return await store.search_namespaces(contains, start, count)
        return await store.list_namespaces(start, count)

    if actor.admin:
        return await page_of(every, lambda n: n.name, after, limit)
    visible = _PageVisibility(services, actor)
    theirs = await open_namespaces_of(services, actor.name, gated=True)
    if theirs is None:
        return await page_of(every, lambda n: n.name, after, limit, visible.keep, visible.prepare)
    wanted = sorted(name for name in theirs if contains in name)

    async def open_ones(start: str, count: int) -> list[Namespace]:
        rows: list[Namespace] = []
        position = bisect.bisect_right(wanted, start)
        while len(rows) < count and position < len(wanted):  # a name may have no row (a personal namespace)
            chunk = wanted[position:position + count - len(rows)]
            rows += await store.namespaces_named(chunk)
            position += len(chunk)
        return rows

    return await page_of(open_ones, lambda n: n.name, after, limit, visible.keep, visible.prepare)


async def create_namespace(
    services: Services, actor: Actor, name: str, team: str, visibility: str = DEFAULT_VISIBILITY
) -> Namespace:
    """A team namespace: the team's owners and admins create it."""
    valid_name(names.NAMESPACE, name)
    valid_name(names.TEAM, team)
    _valid_visibility(visibility)
    await require_team_owner(services, actor, team, "create namespaces for it")
    if not may_name_namespace(actor, name):  # before any lookup of the name: tells nothing
        raise Forbidden(
            f"only admins may create namespace {name!r}: it could be a user's name, and a user's name is their"
            " personal namespace; name a team namespace with '__' or '--' in it (e.g. 'web__tools'), or ask an admin"
        )
    store = services.store
    try:
        async with store.transaction():
            if await store.get_user(name) is not None:
                raise Conflict(f"{name!r} is the personal namespace of user {name!r}")
            await refuse_if_reserved(services, name, f"a namespace named {name!r}")
            return await store.create_namespace(name, team, visibility)
    except StoreConflict:
        raise Conflict(f"namespace {name!r} already exists") from None


async def get_namespace(services: Services, actor: Actor, name: str) -> Namespace:
    return (await _existing(services, actor, name)).namespace


@dataclass(frozen=True)
class NamespaceSettings:
    """A namespace as its settings page shows it: whether it is a user's own (`personal`) and
    whether the actor may change it (`manages`, by the rule `update_namespace` applies)."""

    namespace: Namespace
    personal: bool
    manages: bool


async def namespace_settings(services: Services, actor: Actor, name: str) -> NamespaceSettings:
    found = await _existing(services, actor, name)
    return NamespaceSettings(found.namespace, found.personal, await _manages(services, actor, found))


async def update_namespace(
    services: Services, actor: Actor, name: str, *, visibility: str | None = None, team: str | None = None,
    immutable_tags: str | None = None,
) -> Namespace:
    """Change who sees a namespace, move it into another team (whose owner the actor must be
    too), and/or set its immutable tag patterns (comma-separated, "" lifts them; see
    gateway/services/immutable.py). A personal namespace never moves into a team."""
    if visibility is not None:
        _valid_visibility(visibility)
    if team is not None:
        valid_name(names.TEAM, team)
    patterns = None if immutable_tags is None else parse_patterns(immutable_tags)
    if visibility is None and team is None and patterns is None:
        raise Invalid("nothing to change: give visibility, team and/or immutable tags")
    found = await _existing(services, actor, name)
    await _require_manager(services, actor, found, "change this namespace")
    if team is not None:
        if found.personal:
            raise Conflict(f"{name!r} is the personal namespace of user {name!r}; it cannot belong to a team")
        await require_team_owner(services, actor, team, "move namespaces into it")
    store = services.store
    async with store.transaction():
        if not found.stored:  # a personal namespace's first change creates its row
            with contextlib.suppress(StoreConflict):  # created meanwhile by its user's other request
                await store.create_namespace(name, None, visibility or DEFAULT_VISIBILITY)
            await store.update_namespace(name, visibility=visibility, immutable_tags=patterns)
        elif not await store.update_namespace(name, visibility=visibility, team=team, immutable_tags=patterns):
            raise _no_such(name)  # deleted meanwhile
        updated = await store.get_namespace(name)
    if updated is None:
        raise _no_such(name)
    return updated


async def may_change_namespace(services: Services, actor: Actor, name: str) -> bool:
    """Whether `update_namespace` would let the actor change this (visible) namespace."""
    try:
        await _require_manager(services, actor, await _existing(services, actor, name), "change this namespace")
    except (Forbidden, NotFound):
        return False
    return True


async def delete_namespace(services: Services, actor: Actor, name: str) -> Deletion:
    """Delete a namespace's row (a personal namespace only loses its settings). One that holds
    repositories stays reserved, at once in this process too."""
    valid_name(names.NAMESPACE, name)
    found = await _lookup(services, name)
    if found is None or not found.stored or not await _visible(services, actor, found.namespace):
        own = found is not None and found.personal and (actor.admin or actor.name == name)
        raise _no_such(name, " (a personal namespace has no settings to delete)" if own else "")
    await _require_manager(services, actor, found, "delete this namespace")
    deletion = await services.store.delete_namespace(name, deleted_by=actor.name)
    if deletion.reserved is not None:
        services.revocations.reserve(deletion.reserved.name, deletion.reserved.deleted_at)
    if not deletion.deleted:
        raise _no_such(name)
    return deletion


async def require_namespace_manager(services: Services, actor: Actor, name: str, action: str) -> Namespace:
    """The namespace, if the actor may manage it (its user, its team's owners, admins); else
    NotFound (cannot see it) or Forbidden, for rules of other services that hang off a namespace."""
    found = await _existing(services, actor, name)
    await _require_manager(services, actor, found, action)
    return found.namespace
