"""Queries on the repository index: the repositories, manifests and tags recorded from the pushes,
pulls and deletes that passed through the gateway (listings, referrers and namespace occupancy
read it instead of walking the registry)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from gateway.store.records import Conflict, ManifestRow, RepositoryRow, TagRow
from gateway.store.sql import SQLBase


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


class IndexQueries(SQLBase):
    async def _touch_repository(self, name: str, at: int, column: str) -> None:
        params = {"name": name, "at": at}
        if await self.execute(f"UPDATE repositories SET {column} = :at WHERE name = :name", params) == 0:
            try:
                await self.execute(
                    f"INSERT INTO repositories (name, created_at, {column}) VALUES (:name, :at, :at)", params
                )
            except Conflict:
                await self.execute(f"UPDATE repositories SET {column} = :at WHERE name = :name", params)

    async def index_push(self, manifest: ManifestRow, tag: str) -> None:
        async with self.transaction():
            await self._touch_repository(manifest.repository, manifest.pushed_at, "last_push_at")
            params = {
                "repository": manifest.repository, "digest": manifest.digest, "media_type": manifest.media_type,
                "size": manifest.size, "artifact_type": manifest.artifact_type, "subject": manifest.subject,
                "annotations": json.dumps(manifest.annotations) if manifest.annotations else None, "at": manifest.pushed_at,
                "tag": tag,
            }
            await self._upsert(
                "UPDATE manifests SET media_type = :media_type, size = :size, artifact_type = :artifact_type,"
                " subject = :subject, annotations = :annotations, pushed_at = :at"
                " WHERE repository = :repository AND digest = :digest",
                "INSERT INTO manifests (repository, digest, media_type, size, artifact_type, subject, annotations, pushed_at)"
                " VALUES (:repository, :digest, :media_type, :size, :artifact_type, :subject, :annotations, :at)",
                params,
            )
            if tag:
                await self._upsert(
                    "UPDATE tags SET digest = :digest, media_type = :media_type, size = :size, pushed_at = :at"
                    " WHERE repository = :repository AND tag = :tag",
                    "INSERT INTO tags (repository, tag, digest, media_type, size, pushed_at)"
                    " VALUES (:repository, :tag, :digest, :media_type, :size, :at)",
                    params,
                )

    async def _upsert(self, update: str, insert: str, params: dict[str, Any]) -> None:
        """Update the row, or insert it when there is none. Another gateway on the same store may
        insert it between the two (the same tag or manifest pushed through both at once): then
        update what it inserted, rather than fail a push the registry has already taken."""
        if await self.execute(update, params) == 0:
            try:
                await self.execute(insert, params)
            except Conflict:
                await self.execute(update, params)

    async def index_pulls(self, pulls: Iterable[tuple[str, int]]) -> None:
        for repository, at in pulls:
            await self.execute(
                "UPDATE repositories SET last_pull_at = :at WHERE name = :name", {"name": repository, "at": at}
            )

    async def index_delete_manifest(self, repository: str, digest: str) -> None:
        async with self.transaction():
            params = {"repository": repository, "digest": digest}
            await self.execute("DELETE FROM tags WHERE repository = :repository AND digest = :digest", params)
            await self.execute("DELETE FROM manifests WHERE repository = :repository AND digest = :digest", params)

    async def index_delete_tag(self, repository: str, tag: str) -> None:
        await self.execute(
            "DELETE FROM tags WHERE repository = :repository AND tag = :tag", {"repository": repository, "tag": tag}
        )

    async def manifest_digests(self, repository: str) -> list[str]:
        rows = await self.fetch_all(
            "SELECT digest FROM manifests WHERE repository = :repository ORDER BY digest", {"repository": repository}
        )
        return [str(r["digest"]) for r in rows]

    async def forget_repository(self, repository: str) -> None:
        """Drop a repository from the index (after its manifests were deleted upstream)."""
        async with self.transaction():
            params = {"repository": repository}
            await self.execute("DELETE FROM tags WHERE repository = :repository", params)
            await self.execute("DELETE FROM manifests WHERE repository = :repository", params)
            await self.execute("DELETE FROM uploads WHERE repository = :repository", params)
            await self.execute("DELETE FROM repositories WHERE name = :repository", params)

    async def list_repositories(self, after: str = "", limit: int = 100) -> list[RepositoryRow]:
        rows = await self.fetch_all(
            "SELECT * FROM repositories WHERE name > :after ORDER BY name LIMIT :limit", {"after": after, "limit": limit}
        )
        return [
            RepositoryRow(r["name"], int(r["created_at"]), _optional_int(r["last_push_at"]), _optional_int(r["last_pull_at"]))
            for r in rows
        ]

    async def list_tags(self, repository: str, after: str = "", limit: int = 100) -> list[TagRow]:
        rows = await self.fetch_all(
            "SELECT * FROM tags WHERE repository = :repository AND tag > :after ORDER BY tag LIMIT :limit",
            {"repository": repository, "after": after, "limit": limit},
        )
        return [
            TagRow(r["repository"], r["tag"], r["digest"], r["media_type"], int(r["size"]), int(r["pushed_at"])) for r in rows
        ]

    async def referrers(self, repository: str, subject: str) -> list[ManifestRow]:
        rows = await self.fetch_all(
            "SELECT * FROM manifests WHERE repository = :repository AND subject = :subject ORDER BY digest",
            {"repository": repository, "subject": subject},
        )
        return [
            ManifestRow(
                r["repository"], r["digest"], r["media_type"], int(r["size"]), r["artifact_type"], r["subject"],
                json.loads(r["annotations"]) if r["annotations"] else None, int(r["pushed_at"]),
            )
            for r in rows
        ]
