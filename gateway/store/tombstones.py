"""Queries on namespace tombstones: names kept reserved because repositories are still in them.

A namespace is occupied while the repository index holds a repository `NAME/...`. Deleting
its user or the namespace itself records a tombstone first; releasing or purging ends it. Ended
tombstones stay as rows: the gateway refuses tokens issued before a deletion for as long as
such tokens can live (see gateway/auth/revocation.py), released or not.
"""

from __future__ import annotations

from gateway.store.records import Conflict, Tombstone
from gateway.store.sql import Row, SQLBase, now


def _tombstone(row: Row) -> Tombstone:
    return Tombstone(
        name=row["name"], deleted_at=int(row["deleted_at"]), former_kind=row["former_kind"],
        former_owner=row["former_owner"], deleted_by=row["deleted_by"], repositories=int(row["repositories"]),
    )


class TombstoneQueries(SQLBase):
    async def namespace_repositories(self, namespace: str) -> list[str]:
        """Names of the indexed repositories in `namespace` (`NAMESPACE/...`), sorted. LIKE
        narrows; the exact prefix test drops what `_` (a wildcard) or a case-insensitive
        collation let through."""
        prefix = namespace + "/"
        rows = await self.fetch_all(
            "SELECT name FROM repositories WHERE name LIKE :pattern ORDER BY name", {"pattern": prefix + "%"}
        )
        return [str(r["name"]) for r in rows if str(r["name"]).startswith(prefix)]

    async def get_tombstone(self, name: str) -> Tombstone | None:
        """The namespace's active tombstone, if it is reserved."""
        row = await self.fetch_one(
            "SELECT * FROM namespace_tombstones WHERE name = :name AND ended_at IS NULL ORDER BY deleted_at DESC LIMIT 1",
            {"name": name},
        )
        return _tombstone(row) if row else None

    async def list_tombstones(self, after: str = "", limit: int = 1000) -> list[Tombstone]:
        rows = await self.fetch_all(
            "SELECT * FROM namespace_tombstones WHERE ended_at IS NULL AND name > :after ORDER BY name LIMIT :limit",
            {"after": after, "limit": limit},
        )
        return [_tombstone(r) for r in rows]

    async def reserve_if_occupied(
        self, name: str, former_kind: str, former_owner: str | None, deleted_by: str
    ) -> Tombstone | None:
        """Reserve `name` when repositories are in it (the active tombstone when there is one
        already: a retried deletion reuses it); None when it holds none."""
        existing = await self.get_tombstone(name)
        if existing is not None:
            return existing
        count = len(await self.namespace_repositories(name))
        if count == 0:
            return None
        tombstone = Tombstone(name, now(), former_kind, former_owner, deleted_by[:64], count)
        try:
            await self.execute(
                "INSERT INTO namespace_tombstones"
                " (name, deleted_at, former_kind, former_owner, deleted_by, repositories, ended_at, ended_by, ended_how)"
                " VALUES (:name, :at, :kind, :owner, :by, :count, NULL, NULL, NULL)",
                {
                    "name": name, "at": tombstone.deleted_at, "kind": former_kind, "owner": former_owner,
                    "by": tombstone.deleted_by, "count": count,
                },
            )
        except Conflict:  # reserved by a concurrent deletion in the same second
            return await self.get_tombstone(name)
        return tombstone

    async def end_tombstone(self, name: str, how: str, ended_by: str) -> bool:
        """Free the name (`how`: released or purged); False when it was not reserved."""
        count = await self.execute(
            "UPDATE namespace_tombstones SET ended_at = :now, ended_by = :by, ended_how = :how"
            " WHERE name = :name AND ended_at IS NULL",
            {"now": now(), "by": ended_by[:64], "how": how, "name": name},
        )
        return count > 0

    async def reservations_since(self, since: int) -> dict[str, int]:
        """Namespace -> the latest moment it was reserved, for reservations made since `since`
        (ended or not): tokens issued up to that moment are void for it."""
        rows = await self.fetch_all(
            "SELECT name, deleted_at FROM namespace_tombstones WHERE deleted_at >= :since", {"since": since}
        )
        latest: dict[str, int] = {}
        for row in rows:
            latest[row["name"]] = max(latest.get(row["name"], 0), int(row["deleted_at"]))
        return latest
