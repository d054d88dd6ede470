"""Queries on blob upload sessions: the latest offset and upstream `_state` of each, shared by
every gateway instance (registry 2.8 neither checks chunk order nor survives a stale `_state`)."""

from __future__ import annotations

from gateway.store.records import Conflict, UploadState
from gateway.store.sql import SQLBase, now


class UploadQueries(SQLBase):
    async def save_upload(self, upload: UploadState, *, new: bool = False) -> None:
        """Keep where the upload stands. `new`: it was just opened (a POST), so it is inserted
        first, one statement instead of an UPDATE that finds nothing and then the INSERT; the
        row ends the same either way."""
        params = {"id": upload.id, "repository": upload.repository, "offset": upload.offset, "state": upload.state, "now": now()}
        if new and await self._insert_upload(params):
            return
        updated = await self.execute(
            "UPDATE uploads SET upload_offset = :offset, state = :state, updated_at = :now"
            " WHERE id = :id AND repository = :repository",
            params,
        )
        if updated or (not new and await self._insert_upload(params)):
            return
        await self.execute("UPDATE uploads SET upload_offset = :offset, state = :state, updated_at = :now WHERE id = :id", params)

    async def _insert_upload(self, params: dict[str, object]) -> bool:
        """False when the id is taken already."""
        try:
            await self.execute(
                "INSERT INTO uploads (id, repository, upload_offset, state, updated_at)"
                " VALUES (:id, :repository, :offset, :state, :now)",
                params,
            )
        except Conflict:
            return False
        return True

    async def get_upload(self, upload_id: str, repository: str) -> UploadState | None:
        row = await self.fetch_one(
            "SELECT * FROM uploads WHERE id = :id AND repository = :repository", {"id": upload_id, "repository": repository}
        )
        if row is None:
            return None
        return UploadState(row["id"], row["repository"], int(row["upload_offset"]), row["state"])

    async def forget_upload(self, upload_id: str) -> None:
        await self.execute("DELETE FROM uploads WHERE id = :id", {"id": upload_id})

    async def forget_uploads_before(self, moment: int) -> int:
        return await self.execute("DELETE FROM uploads WHERE updated_at < :moment", {"moment": moment})
