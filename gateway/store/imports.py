"""Queries of an import from another registry front end: which source rows became which gateway
rows (`imported_rows`), and the inserts that keep a source row's own times."""

from __future__ import annotations

from gateway.store.sql import SQLBase, now


class ImportQueries(SQLBase):
    async def imported_targets(self, origin: str, kind: str) -> dict[int, str]:
        """Source id -> the gateway row it became, for every row of `kind` imported before."""
        rows = await self.fetch_all(
            "SELECT source_id, target FROM imported_rows WHERE origin = :origin AND kind = :kind",
            {"origin": origin, "kind": kind},
        )
        return {int(r["source_id"]): str(r["target"]) for r in rows}

    async def record_import(self, origin: str, kind: str, source_id: int, target: str, detail: str) -> None:
        await self.execute(
            "INSERT INTO imported_rows (origin, kind, source_id, target, detail, imported_at)"
            " VALUES (:origin, :kind, :id, :target, :detail, :now)",
            {"origin": origin, "kind": kind, "id": source_id, "target": target, "detail": detail, "now": now()},
        )

    async def imported_detail(self, origin: str, kind: str, target: str) -> str | None:
        """What was recorded of the row that became `target` (a user's origin: password, ldap, ...)."""
        row = await self.fetch_one(
            "SELECT detail FROM imported_rows WHERE origin = :origin AND kind = :kind AND target = :target",
            {"origin": origin, "kind": kind, "target": target},
        )
        return None if row is None else str(row["detail"])

    async def import_user(self, name: str, password_hash: str, *, admin: bool, disabled: bool, created_at: int) -> None:
        await self.execute(
            "INSERT INTO users (name, password_hash, admin, disabled, created_at, updated_at)"
            " VALUES (:name, :hash, :admin, :disabled, :at, :at)",
            {"name": name, "hash": password_hash, "admin": int(admin), "disabled": int(disabled), "at": created_at},
        )

    async def import_team(self, name: str, created_at: int) -> None:
        await self.execute("INSERT INTO teams (name, created_at) VALUES (:name, :at)", {"name": name, "at": created_at})

    async def import_member(self, team: str, username: str, role: str, created_at: int) -> None:
        await self.execute(
            "INSERT INTO team_members (team, username, role, created_at) VALUES (:team, :user, :role, :at)",
            {"team": team, "user": username, "role": role, "at": created_at},
        )

    async def import_namespace(self, name: str, team: str | None, visibility: str, created_at: int) -> None:
        await self.execute(
            "INSERT INTO namespaces (name, team, visibility, created_at) VALUES (:name, :team, :visibility, :at)",
            {"name": name, "team": team, "visibility": visibility, "at": created_at},
        )

    async def import_repository(self, name: str, created_at: int, last_push_at: int | None, last_pull_at: int | None) -> None:
        await self.execute(
            "INSERT INTO repositories (name, created_at, last_push_at, last_pull_at) VALUES (:name, :at, :push, :pull)",
            {"name": name, "at": created_at, "push": last_push_at, "pull": last_pull_at},
        )

    async def import_tag(self, repository: str, tag: str, digest: str, image_size: int, pushed_at: int) -> None:
        """A tag as the source knew it: its digest, the image's size and when it was pushed. The
        media type and the manifest's own size are unknown ("" and 0) until it is pushed again."""
        params = {"repository": repository, "tag": tag, "digest": digest, "size": image_size, "at": pushed_at}
        manifest = await self.fetch_one(
            "SELECT digest FROM manifests WHERE repository = :repository AND digest = :digest", params
        )
        if manifest is None:
            await self.execute(
                "INSERT INTO manifests (repository, digest, media_type, size, pushed_at, image_size)"
                " VALUES (:repository, :digest, '', 0, :at, :size)",
                params,
            )
        await self.execute(
            "INSERT INTO tags (repository, tag, digest, media_type, size, pushed_at)"
            " VALUES (:repository, :tag, :digest, '', 0, :at)",
            params,
        )

    async def move_webhook_cursors(self, caught_up_at: int, to: int) -> int:
        """Webhooks that had delivered everything up to `caught_up_at` now start after `to`: events
        written by an import are history, not news to deliver."""
        return await self.execute(
            "UPDATE webhooks SET cursor_seq = :to WHERE cursor_seq >= :from AND cursor_seq < :to",
            {"from": caught_up_at, "to": to},
        )
