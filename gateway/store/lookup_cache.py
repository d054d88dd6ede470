"""What `AccessQueries.namespace_lookup` read, kept while the store's access version is unchanged.

A non-admin's filtered list (the audit log, the catalog, repositories, search) decides each batch
of 200 rows through one lookup of the batch's namespaces: four statements (their rows, the
reserved ones, the users' names, the asker's roles in the owning teams) that cost more than
reading the rows themselves on a big store, and named the same namespaces again on every request.
This keeps the facts of each namespace name that are the same for everyone (its row or its
absence, reserved or not, a user's name or not) and each user's role in a team (or none), with the
access version (`SQLBase.access_version`) read *before* the statements (as the grant cache does,
gateway/auth/grant_cache.py), and only when that version is still the one after them: a value read
while a change was committing is never kept as valid for the version after it. Every table these
facts come from (namespaces, namespace_tombstones, users, team_members) bumps the version on a
write (gateway/store/versioning.py), and no push does, so a change made by any process is seen
as soon as it would have been by a query: on SQLite at once, on MariaDB within
`Store.version_lag` seconds. An entry
read under another version is never served: the first lookup on a new version drops them all.
When the version cannot be read, nothing is kept or served. The store does not use it inside a
transaction, whose own writes are not committed yet.

Bounded by count: `MAX_NAMES` namespaces and `MAX_ROLES` (user, team) pairs; a table that
would grow past its bound starts over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.store.records import Namespace, OpenNamespaces

MAX_NAMES = 50_000
MAX_ROLES = 50_000


@dataclass(frozen=True)
class NameFacts:
    """What one namespace name is, for anyone asking: its row (None: it has none), whether it is
    reserved, whether a user has that name."""

    row: Namespace | None
    reserved: bool
    user: bool


class LookupCache:
    """One per store object; entries of an older access version are never served."""

    def __init__(self, max_names: int = MAX_NAMES, max_roles: int = MAX_ROLES) -> None:
        self._max_names = max_names
        self._max_roles = max_roles
        self._version: object | None = None  # the access version every kept entry was read on
        self._names: dict[str, NameFacts] = {}
        self._roles: dict[tuple[str, str], str | None] = {}  # (username, team) -> role, None: not a member
        self._open: OpenNamespaces | None = None  # the public and protected namespaces, once read

    def names(self, version: object | None) -> Mapping[str, NameFacts]:
        """The namespace facts kept for `version` (none when it is None or another one)."""
        return self._names if version is not None and version == self._version else {}

    def roles(self, version: object | None) -> Mapping[tuple[str, str], str | None]:
        """The (username, team) roles kept for `version` (none when it is None or another one)."""
        return self._roles if version is not None and version == self._version else {}

    def open(self, version: object | None) -> OpenNamespaces | None:
        """The open namespaces kept for `version`, or None when not kept."""
        return self._open if version is not None and version == self._version else None

    def keep_open(self, version: object | None, found: OpenNamespaces) -> None:
        """Keep the open namespaces read entirely under `version`."""
        if version is None:
            return
        if version != self._version:
            self._version, self._names, self._roles = version, {}, {}
        self._open = found if len(found.public) + len(found.protected) <= self._max_names else None

    def keep(
        self, version: object | None, names: Mapping[str, NameFacts], roles: Iterable[tuple[tuple[str, str], str | None]]
    ) -> None:
        """Keep what was read entirely under `version` (the caller checked it did not move)."""
        if version is None:
            return
        if version != self._version:
            self._version, self._names, self._roles, self._open = version, {}, {}, None
        if len(self._names) + len(names) > self._max_names:
            self._names = {}
        if len(names) <= self._max_names:
            self._names.update(names)
        pairs = dict(roles)
        if len(self._roles) + len(pairs) > self._max_roles:
            self._roles = {}
        if len(pairs) <= self._max_roles:
            self._roles.update(pairs)
