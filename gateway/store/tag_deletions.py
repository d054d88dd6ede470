"""The rows of tag deletions in progress (migration 17): one per repository at most, so the
row is the repository's lock against manifest writes through every instance on the store; a
lease (its holder and `lease_until`, in milliseconds), so a holder that died is taken over;
and the job's journal (the manifest's exact bytes and the tags to put back under it), so
whoever takes it over can finish it (gateway/services/tags.py)."""

from __future__ import annotations

import base64
import json

from gateway.store.records import Conflict, TagDeletion
from gateway.store.sql import Row, SQLBase, now


def _job(row: Row) -> TagDeletion:
    manifest = row["manifest"]
    restore = row["restore_tags"]
    return TagDeletion(
        repository=row["repository"], tag=row["tag"], holder=row["holder"], lease_until=int(row["lease_until"]),
        actor=row["actor"], digest=row["digest"], media_type=row["media_type"],
        manifest=None if manifest is None else base64.b64decode(manifest),
        restore_tags=None if restore is None else tuple(json.loads(restore)),
    )


class TagDeletionQueries(SQLBase):
    async def lock_tag_deletion(self, repository: str, tag: str, holder: str, actor: str, until_ms: int) -> bool:
        """Take the repository's lock for deleting `tag`; False when a deletion holds it."""
        try:
            await self.execute(
                "INSERT INTO tag_deletions (repository, tag, holder, lease_until, actor, created_at)"
                " VALUES (:repository, :tag, :holder, :until, :actor, :now)",
                {"repository": repository, "tag": tag, "holder": holder, "until": until_ms, "actor": actor, "now": now()},
            )
        except Conflict:
            return False
        return True

    async def manifest_write_facts(self, repository: str, namespace: str) -> tuple[bool, tuple[str, ...]]:
        """What a manifest write through /v2 must know, in one statement: whether a tag deletion
        holds the repository, and the namespace's immutable tag patterns."""
        row = await self.fetch_one(
            "SELECT (SELECT COUNT(*) FROM tag_deletions WHERE repository = :repository) AS locked,"
            " (SELECT immutable_tags FROM namespaces WHERE name = :namespace) AS patterns",
            {"repository": repository, "namespace": namespace},
        )
        assert row is not None  # a SELECT without FROM has its one row
        return int(row["locked"]) > 0, tuple(p for p in (row["patterns"] or "").split(",") if p)

    async def get_tag_deletion(self, repository: str) -> TagDeletion | None:
        row = await self.fetch_one("SELECT * FROM tag_deletions WHERE repository = :repository", {"repository": repository})
        return _job(row) if row else None

    async def expired_tag_deletions(self, now_ms: int, limit: int = 100) -> list[TagDeletion]:
        rows = await self.fetch_all(
            "SELECT * FROM tag_deletions WHERE lease_until < :now ORDER BY repository LIMIT :limit",
            {"now": now_ms, "limit": limit},
        )
        return [_job(r) for r in rows]

    async def take_over_tag_deletion(self, repository: str, holder: str, now_ms: int, until_ms: int) -> bool:
        """Take an expired deletion's lease (one atomic UPDATE: one taker wins)."""
        changed = await self.execute(
            "UPDATE tag_deletions SET holder = :holder, lease_until = :until"
            " WHERE repository = :repository AND lease_until < :now",
            {"repository": repository, "holder": holder, "until": until_ms, "now": now_ms},
        )
        return changed > 0

    async def record_tag_deletion(
        self, repository: str, holder: str, until_ms: int, digest: str, media_type: str, manifest: bytes,
        restore_tags: list[str],
    ) -> bool:
        """Journal what the deletion will undo (before it deletes anything) and extend its lease;
        False when the lease was lost."""
        changed = await self.execute(
            "UPDATE tag_deletions SET lease_until = :until, digest = :digest, media_type = :media_type,"
            " manifest = :manifest, restore_tags = :restore WHERE repository = :repository AND holder = :holder",
            {
                "repository": repository, "holder": holder, "until": until_ms, "digest": digest,
                "media_type": media_type, "manifest": base64.b64encode(manifest).decode("ascii"),
                "restore": json.dumps(restore_tags),
            },
        )
        return changed > 0

    async def extend_tag_deletion(self, repository: str, holder: str, until_ms: int) -> bool:
        changed = await self.execute(
            "UPDATE tag_deletions SET lease_until = :until WHERE repository = :repository AND holder = :holder",
            {"repository": repository, "holder": holder, "until": until_ms},
        )
        return changed > 0

    async def end_tag_deletion(self, repository: str, holder: str) -> None:
        await self.execute(
            "DELETE FROM tag_deletions WHERE repository = :repository AND holder = :holder",
            {"repository": repository, "holder": holder},
        )
