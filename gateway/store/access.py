"""Queries on teams, their members, namespaces and application tokens."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.names import in_catalog_order
from gateway.store.lookup_cache import LookupCache, NameFacts
from gateway.store.records import (
    AppToken,
    Conflict,
    Deletion,
    Member,
    Namespace,
    NamespaceLookup,
    NamespaceStanding,
    OpenNamespaces,
    Team,
)
from gateway.store.sql import Row, containing, now
from gateway.store.tombstones import TombstoneQueries

# Names in one IN (...) list: far below every driver's limit on parameters.
_IN_LIST = 500


def _namespace(row: Row) -> Namespace:
    patterns = row.get("immutable_tags") or ""
    return Namespace(
        row["name"], row["team"], row["visibility"], int(row["created_at"]), tuple(p for p in patterns.split(",") if p)
    )


# One round trip for what used to be three or four (tombstone, namespace, role, user): a token
# request the grant cache cannot answer pays it per namespace, and on MariaDB each trip counts.
_STANDING = """
SELECT
    (SELECT COUNT(*) FROM namespace_tombstones WHERE name = :ns AND ended_at IS NULL) AS reserved,
    (SELECT COUNT(*) FROM namespaces WHERE name = :ns) AS has_row,
    (SELECT team FROM namespaces WHERE name = :ns) AS team,
    (SELECT visibility FROM namespaces WHERE name = :ns) AS visibility,
    (SELECT m.role FROM namespaces n JOIN team_members m ON m.team = n.team
        WHERE n.name = :ns AND m.username = :user) AS role,
    (SELECT COUNT(*) FROM users WHERE name = :ns) AS user_named"""


def _app_token(row: Row) -> AppToken:
    return AppToken(
        id=row["id"], username=row["username"], name=row["name"], secret_hash=row["secret_hash"],
        namespaces=tuple(row["namespaces"].split()), actions=tuple(a for a in row["actions"].split(",") if a),
        expires_at=None if row["expires_at"] is None else int(row["expires_at"]),
        created_at=int(row["created_at"]),
        last_used_at=None if row["last_used_at"] is None else int(row["last_used_at"]),
        origin=row.get("origin"), legacy_hash=row.get("legacy_hash"),
    )


class AccessQueries(TombstoneQueries):
    def __init__(self) -> None:
        super().__init__()
        self._lookups = LookupCache()  # what namespace_lookup read, per access version

    # -- teams -------------------------------------------------------------------------------

    async def create_team(self, name: str) -> Team:
        moment = now()
        await self.execute("INSERT INTO teams (name, created_at) VALUES (:name, :now)", {"name": name, "now": moment})
        return Team(name, moment)

    async def get_team(self, name: str) -> Team | None:
        row = await self.fetch_one("SELECT * FROM teams WHERE name = :name", {"name": name})
        return Team(row["name"], int(row["created_at"])) if row else None

    async def list_teams(self, after: str = "", limit: int = 1000) -> list[Team]:
        rows = await self.fetch_all(
            "SELECT * FROM teams WHERE name > :after ORDER BY name LIMIT :limit", {"after": after, "limit": limit}
        )
        return [Team(r["name"], int(r["created_at"])) for r in rows]

    async def list_teams_of(self, username: str, after: str = "", limit: int = 1000) -> list[Team]:
        """The teams `username` is a member of, by name: a page of them from the user's memberships
        (`team_members_by_user`), not every team read to keep the few that are theirs."""
        rows = await self.fetch_all(
            "SELECT t.name, t.created_at FROM team_members m JOIN teams t ON t.name = m.team"
            " WHERE m.username = :user AND m.team > :after ORDER BY m.team LIMIT :limit",
            {"user": username, "after": after, "limit": limit},
        )
        return [Team(r["name"], int(r["created_at"])) for r in rows]

    async def delete_team(self, name: str) -> bool:
        """Deletes the team, its memberships, and detaches (makes admin-only) its namespaces."""
        async with self.transaction():
            await self.execute("DELETE FROM team_members WHERE team = :name", {"name": name})
            await self.execute("UPDATE namespaces SET team = NULL WHERE team = :name", {"name": name})
            return await self.execute("DELETE FROM teams WHERE name = :name", {"name": name}) > 0

    # -- members -----------------------------------------------------------------------------

    async def set_member(self, team: str, username: str, role: str) -> bool:
        """Add or change a membership (added by hand: no directory sync removes it); True when it was added."""
        params = {"team": team, "user": username, "role": role, "now": now()}
        try:
            await self.execute(
                "INSERT INTO team_members (team, username, role, created_at) VALUES (:team, :user, :role, :now)", params
            )
            return True
        except Conflict:
            # Set by hand, it is no directory's to change or remove any more.
            await self.execute(
                "UPDATE team_members SET role = :role, managed_by = NULL WHERE team = :team AND username = :user", params
            )
            return False

    async def remove_member(self, team: str, username: str) -> bool:
        count = await self.execute(
            "DELETE FROM team_members WHERE team = :team AND username = :user", {"team": team, "user": username}
        )
        return count > 0

    async def list_members(self, team: str, after: str = "", limit: int = 1000) -> list[Member]:
        rows = await self.fetch_all(
            "SELECT * FROM team_members WHERE team = :team AND username > :after ORDER BY username LIMIT :limit",
            {"team": team, "after": after, "limit": limit},
        )
        return [Member(r["team"], r["username"], r["role"], r["managed_by"]) for r in rows]

    async def user_memberships(self, username: str) -> list[Member]:
        """Every team membership of one user, by team (what a directory sync compares with)."""
        rows = await self.fetch_all(
            "SELECT * FROM team_members WHERE username = :user ORDER BY team", {"user": username}
        )
        return [Member(r["team"], r["username"], r["role"], r["managed_by"]) for r in rows]

    async def set_managed_member(self, team: str, username: str, role: str, managed_by: str) -> bool:
        """Add a membership a directory manages, or change its role; a membership added by hand
        (or by another directory) is left as it is. True when something changed."""
        params = {"team": team, "user": username, "role": role, "by": managed_by, "now": now()}
        try:
            await self.execute(
                "INSERT INTO team_members (team, username, role, created_at, managed_by)"
                " VALUES (:team, :user, :role, :now, :by)",
                params,
            )
            return True
        except Conflict:
            count = await self.execute(
                "UPDATE team_members SET role = :role"
                " WHERE team = :team AND username = :user AND managed_by = :by AND role <> :role",
                params,
            )
            return count > 0

    async def remove_managed_member(self, team: str, username: str, managed_by: str) -> bool:
        """Remove a membership only if `managed_by` added it."""
        count = await self.execute(
            "DELETE FROM team_members WHERE team = :team AND username = :user AND managed_by = :by",
            {"team": team, "user": username, "by": managed_by},
        )
        return count > 0

    async def get_role(self, team: str, username: str) -> str | None:
        row = await self.fetch_one(
            "SELECT role FROM team_members WHERE team = :team AND username = :user", {"team": team, "user": username}
        )
        return row["role"] if row else None

    async def roles_in(self, teams: Sequence[str], username: str) -> dict[str, str]:
        """`username`'s role in each of `teams` they belong to, a `_IN_LIST` of teams a statement:
        a page of namespaces is decided without a statement per team."""
        roles: dict[str, str] = {}
        wanted = sorted(set(teams))
        for start in range(0, len(wanted), _IN_LIST):
            params = {f"t{i}": team for i, team in enumerate(wanted[start:start + _IN_LIST])}
            listed = ", ".join(f":{key}" for key in params)
            rows = await self.fetch_all(
                f"SELECT team, role FROM team_members WHERE username = :user AND team IN ({listed})", {**params, "user": username}
            )
            roles.update((r["team"], r["role"]) for r in rows)
        return roles

    # -- namespaces --------------------------------------------------------------------------

    async def namespace_standing(self, namespace: str, username: str) -> NamespaceStanding:
        row = await self.fetch_one(_STANDING, {"ns": namespace, "user": username})
        assert row is not None  # a SELECT without FROM has its one row
        return NamespaceStanding(
            reserved=int(row["reserved"]) > 0, row=int(row["has_row"]) > 0, team=row["team"],
            visibility=row["visibility"], role=row["role"], user_named=int(row["user_named"]) > 0,
        )

    async def create_namespace(self, name: str, team: str | None, visibility: str) -> Namespace:
        moment = now()
        await self.execute(
            "INSERT INTO namespaces (name, team, visibility, created_at) VALUES (:name, :team, :visibility, :now)",
            {"name": name, "team": team, "visibility": visibility, "now": moment},
        )
        return Namespace(name, team, visibility, moment)

    async def get_namespace(self, name: str) -> Namespace | None:
        row = await self.fetch_one("SELECT * FROM namespaces WHERE name = :name", {"name": name})
        return _namespace(row) if row else None

    async def update_namespace(
        self, name: str, *, visibility: str | None = None, team: str | None = None,
        immutable_tags: tuple[str, ...] | None = None,
    ) -> bool:
        async with self.transaction():
            current = await self.get_namespace(name)
            if current is None:
                return False
            patterns = current.immutable_tags if immutable_tags is None else immutable_tags
            await self.execute(
                "UPDATE namespaces SET visibility = :visibility, team = :team, immutable_tags = :immutable WHERE name = :name",
                {
                    "name": name, "visibility": visibility or current.visibility,
                    "team": team if team is not None else current.team, "immutable": ",".join(patterns) or None,
                },
            )
            return True

    async def list_namespaces(self, after: str = "", limit: int = 1000) -> list[Namespace]:
        rows = await self.fetch_all(
            "SELECT * FROM namespaces WHERE name > :after ORDER BY name LIMIT :limit", {"after": after, "limit": limit}
        )
        return [_namespace(r) for r in rows]

    async def list_team_namespaces(self, team: str, after: str = "", limit: int = 1000) -> list[Namespace]:
        rows = await self.fetch_all(
            "SELECT * FROM namespaces WHERE team = :team AND name > :after ORDER BY name LIMIT :limit",
            {"team": team, "after": after, "limit": limit},
        )
        return [_namespace(r) for r in rows]

    async def namespaces_named(self, names: Sequence[str]) -> list[Namespace]:
        """The rows of those of `names` that have one, by name: a statement a `_IN_LIST` names."""
        found: list[Namespace] = []
        for start in range(0, len(names), _IN_LIST):
            params = {f"n{i}": name for i, name in enumerate(names[start:start + _IN_LIST])}
            listed = ", ".join(f":{key}" for key in params)
            found += [_namespace(r) for r in await self.fetch_all(f"SELECT * FROM namespaces WHERE name IN ({listed})", params)]
        return sorted(found, key=lambda n: n.name)

    async def namespace_lookup(self, names: Sequence[str], username: str) -> NamespaceLookup:
        """What deciding access to many namespaces at once needs, in four statements a
        `_IN_LIST` names rather than four a namespace: their rows, which are reserved, which are
        users, and `username`'s role in the teams that own them. What was read is kept while the
        access version is unchanged (gateway/store/lookup_cache.py): only names and roles not kept
        are read, and a batch named again reads nothing. Inside a transaction the store is read
        (its own writes count) and nothing is kept."""
        version = None if self.in_transaction() else self.access_version()
        kept, kept_roles = self._lookups.names(version), self._lookups.roles(version)
        facts = {name: kept[name] for name in names if name in kept}
        read = await self._read_names([name for name in dict.fromkeys(names) if name not in facts])
        facts.update(read)
        teams = {f.row.team for f in facts.values() if f.row is not None and f.row.team is not None}
        unknown = sorted(team for team in teams if (username, team) not in kept_roles)
        roles = await self.roles_in(unknown, username)
        if version is not None and self.access_version() == version:  # all of it read on `version`
            self._lookups.keep(version, read, (((username, team), roles.get(team)) for team in unknown))
        roles.update((team, role) for team in teams if (role := kept_roles.get((username, team))) is not None)
        return NamespaceLookup(
            {name: f.row for name, f in facts.items() if f.row is not None},
            {name for name, f in facts.items() if f.reserved}, {name for name, f in facts.items() if f.user}, roles,
        )

    async def open_namespaces(self) -> OpenNamespaces:
        """The public namespaces (an anonymous visitor's, besides the global namespace) and the
        protected ones (a signed-in user's too), in the order of their repositories' names, and
        how many namespaces there are. Kept while the access version is unchanged, as the
        lookups are: a namespace's visibility, or a new one, changes the version."""
        version = None if self.in_transaction() else self.access_version()
        kept = self._lookups.open(version)
        if kept is not None:
            return kept
        rows = await self.fetch_all("SELECT name, visibility FROM namespaces WHERE visibility <> 'private'")
        counted = await self.fetch_one("SELECT COUNT(*) AS n FROM namespaces")

        def ordered(visibility: str) -> tuple[str, ...]:
            return in_catalog_order(str(r["name"]) for r in rows if r["visibility"] == visibility)

        found = OpenNamespaces(ordered("public"), ordered("protected"), int(counted["n"]) if counted else 0)
        if version is not None and self.access_version() == version:
            self._lookups.keep_open(version, found)
        return found

    async def team_namespaces_of(self, username: str) -> list[str]:
        """The namespaces owned by the teams `username` is a member of (any role)."""
        rows = await self.fetch_all(
            "SELECT n.name FROM team_members m JOIN namespaces n ON n.team = m.team WHERE m.username = :user",
            {"user": username},
        )
        return [str(r["name"]) for r in rows]

    async def _read_names(self, names: Sequence[str]) -> dict[str, NameFacts]:
        """Each name's facts for anyone, from the store: three statements a `_IN_LIST` names."""
        rows = {row.name: row for row in await self.namespaces_named(names)}
        reserved: set[str] = set()
        users: set[str] = set()
        for start in range(0, len(names), _IN_LIST):
            params = {f"n{i}": name for i, name in enumerate(names[start:start + _IN_LIST])}
            listed = ", ".join(f":{key}" for key in params)
            found = await self.fetch_all(
                f"SELECT DISTINCT name FROM namespace_tombstones WHERE name IN ({listed}) AND ended_at IS NULL", params
            )
            reserved.update(r["name"] for r in found)
            found = await self.fetch_all(f"SELECT name FROM users WHERE name IN ({listed})", params)
            users.update(r["name"] for r in found)
        return {name: NameFacts(rows.get(name), name in reserved, name in users) for name in names}

    async def search_namespaces(self, contains: str, after: str = "", limit: int = 100) -> list[Namespace]:
        """The namespace rows whose name contains `contains` (lowercase), after `after`, by name."""
        rows = await self.fetch_all(
            "SELECT * FROM namespaces WHERE name > :after AND name LIKE :pattern ESCAPE '!' ORDER BY name LIMIT :limit",
            {"after": after, "pattern": containing(contains), "limit": limit},
        )
        return [_namespace(r) for r in rows]

    async def delete_namespace(self, name: str, *, deleted_by: str) -> Deletion:
        """Delete a namespace's row. A team (or ownerless) namespace with repositories in it is
        reserved first (see `delete_user`); a personal namespace only loses its settings (its
        user still owns it), so it is never reserved here."""
        async with self.transaction():
            row = await self.get_namespace(name)
            if row is None:
                return Deletion(False)
            personal = (
                row.team is None
                and await self.fetch_one("SELECT name FROM users WHERE name = :name", {"name": name}) is not None
            )
            kind = "team" if row.team is not None else "none"
            reserved = None if personal else await self.reserve_if_occupied(name, kind, row.team, deleted_by)
            deleted = await self.execute("DELETE FROM namespaces WHERE name = :name", {"name": name}) > 0
            if deleted and not personal:  # a personal namespace's quota is its admin's, not its settings
                await self.execute("DELETE FROM namespace_quotas WHERE namespace = :name", {"name": name})
            if deleted and not personal and reserved is None:
                reserved = await self.reserve_if_occupied(name, kind, row.team, deleted_by)
            return Deletion(deleted, reserved)

    # -- application tokens ------------------------------------------------------------------

    async def create_app_token(self, token: AppToken) -> None:
        await self.execute(
            "INSERT INTO app_tokens (id, username, name, secret_hash, namespaces, actions, expires_at, created_at, last_used_at,"
            " origin, legacy_hash)"
            " VALUES (:id, :user, :name, :hash, :namespaces, :actions, :expires, :created, NULL, :origin, :legacy)",
            {
                "id": token.id, "user": token.username, "name": token.name, "hash": token.secret_hash,
                "namespaces": " ".join(token.namespaces), "actions": ",".join(token.actions),
                "expires": token.expires_at, "created": token.created_at, "origin": token.origin,
                "legacy": token.legacy_hash,
            },
        )

    async def imported_app_tokens(self, username: str) -> list[AppToken]:
        """The user's imported tokens: their secrets carry no id, so a login tries each of them."""
        rows = await self.fetch_all(
            "SELECT * FROM app_tokens WHERE username = :user AND origin IS NOT NULL ORDER BY name", {"user": username}
        )
        return [_app_token(r) for r in rows]

    async def settle_imported_token(self, token_id: str, legacy_hash: str, secret_hash: str) -> bool:
        """Replace an imported token's slow hash by the SHA-256 of its secret, once it has been shown."""
        count = await self.execute(
            "UPDATE app_tokens SET secret_hash = :hash, legacy_hash = NULL WHERE id = :id AND legacy_hash = :legacy",
            {"hash": secret_hash, "id": token_id, "legacy": legacy_hash},
        )
        return count > 0

    async def get_app_token(self, token_id: str) -> AppToken | None:
        row = await self.fetch_one("SELECT * FROM app_tokens WHERE id = :id", {"id": token_id})
        return _app_token(row) if row else None

    async def list_app_tokens(self, username: str, after: str = "", limit: int | None = None) -> list[AppToken]:
        """The user's tokens named after `after`, by name; all of them unless `limit` is given."""
        page = "" if limit is None else " LIMIT :limit"
        rows = await self.fetch_all(
            f"SELECT * FROM app_tokens WHERE username = :user AND name > :after ORDER BY name{page}",
            {"user": username, "after": after, "limit": limit},
        )
        return [_app_token(r) for r in rows]

    async def count_app_tokens(self, username: str) -> int:
        """How many tokens the user has (counted by the index on their name, no row loaded)."""
        row = await self.fetch_one("SELECT COUNT(*) AS n FROM app_tokens WHERE username = :user", {"user": username})
        return int(row["n"]) if row else 0

    async def revoke_app_token(self, username: str, name: str) -> str | None:
        """Delete the token and remember its id as revoked (JWTs issued from it die too)."""
        async with self.transaction():
            row = await self.fetch_one(
                "SELECT id FROM app_tokens WHERE username = :user AND name = :name", {"user": username, "name": name}
            )
            if row is None:
                return None
            await self.execute(
                "INSERT INTO revoked_app_tokens (id, revoked_at) VALUES (:id, :now)", {"id": row["id"], "now": now()}
            )
            await self.execute("DELETE FROM app_tokens WHERE id = :id", {"id": row["id"]})
            return str(row["id"])

    async def revoked_app_token_ids(self, since: int) -> frozenset[str]:
        rows = await self.fetch_all("SELECT id FROM revoked_app_tokens WHERE revoked_at >= :since", {"since": since})
        return frozenset(r["id"] for r in rows)

    async def touch_app_token(self, token_id: str) -> None:
        await self.execute("UPDATE app_tokens SET last_used_at = :now WHERE id = :id", {"now": now(), "id": token_id})
