"""Queries of an import from another registry front end: which source rows became which gateway
rows (`imported_rows`), and the inserts that keep a source row's own times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.store.grams import index_grams
from gateway.store.sql import SQLBase, now

_BATCH = 100  # rows per multi-row INSERT: a few hundred parameters, far below every driver's limit


@dataclass(frozen=True)
class ImportedTag:
    tag: str
    digest: str
    image_size: int
    pushed_at: int
    pulled_at: int | None = None


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

    async def import_user(
        self, name: str, password_hash: str, *, admin: bool, disabled: bool, created_at: int, source: str = "local",
        email: str | None = None,
    ) -> None:
        await self.execute(
            "INSERT INTO users (name, password_hash, admin, disabled, created_at, updated_at, source, email)"
            " VALUES (:name, :hash, :admin, :disabled, :at, :at, :source, :email)",
            {
                "name": name, "hash": password_hash, "admin": int(admin), "disabled": int(disabled),
                "at": created_at, "source": source, "email": email,
            },
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
        """A repository new to the index, with its name's trigrams (search reads them)."""
        async with self.transaction():
            await self.execute(
                "INSERT INTO repositories (name, created_at, last_push_at, last_pull_at) VALUES (:name, :at, :push, :pull)",
                {"name": name, "at": created_at, "push": last_push_at, "pull": last_pull_at},
            )
            await index_grams(self, name)

    async def import_tags(self, repository: str, tags: Sequence[ImportedTag]) -> None:
        """The tags of a repository new to the index, as the source knew them: digest, the image's
        size, when pushed and last pulled. The media type and the manifest's own size are unknown ("" and 0)
        until it is pushed again. A few multi-row INSERTs, not a few statements a tag."""
        manifests: dict[str, ImportedTag] = {}
        for tag in tags:
            manifests.setdefault(tag.digest, tag)
        await self._insert_rows(
            "manifests (repository, digest, media_type, size, pushed_at, image_size)", "(:r{i}, :d{i}, '', 0, :at{i}, :size{i})",
            [{"r": repository, "d": t.digest, "at": t.pushed_at, "size": t.image_size} for t in manifests.values()],
        )
        await self._insert_rows(
            "tags (repository, tag, digest, media_type, size, pushed_at, last_pull_at)",
            "(:r{i}, :t{i}, :d{i}, '', 0, :at{i}, :pull{i})",
            [{"r": repository, "t": t.tag, "d": t.digest, "at": t.pushed_at, "pull": t.pulled_at} for t in tags],
        )

    async def record_imports(self, origin: str, kind: str, rows: Sequence[tuple[int, str, str]]) -> None:
        """`record_import` for many (source id, target, detail) rows at once."""
        moment = now()
        await self._insert_rows(
            "imported_rows (origin, kind, source_id, target, detail, imported_at)", "(:o{i}, :k{i}, :s{i}, :t{i}, :d{i}, :at{i})",
            [{"o": origin, "k": kind, "s": s, "t": t, "d": d, "at": moment} for s, t, d in rows],
        )

    async def _insert_rows(self, into: str, values: str, rows: Sequence[dict[str, object]]) -> None:
        for start in range(0, len(rows), _BATCH):
            params: dict[str, object] = {}
            listed = []
            for i, row in enumerate(rows[start:start + _BATCH]):
                listed.append(values.format(i=i))
                params.update({f"{key}{i}": value for key, value in row.items()})
            await self.execute(f"INSERT INTO {into} VALUES " + ", ".join(listed), params)

    async def event_ids_with_prefix(self, prefix: str) -> set[str]:
        """The ids of the stored events whose id starts with `prefix` (a range of the unique index)."""
        rows = await self.fetch_all(
            "SELECT id FROM events WHERE id >= :low AND id < :high", {"low": prefix, "high": prefix + "\uffff"}
        )
        return {str(r["id"]) for r in rows}

    async def move_webhook_cursors(self, caught_up_at: int, to: int) -> int:
        """Webhooks that had delivered everything up to `caught_up_at` now start after `to`: events
        written by an import are history, not news to deliver."""
        return await self.execute(
            "UPDATE webhooks SET cursor_seq = :to WHERE cursor_seq >= :from AND cursor_seq < :to",
            {"from": caught_up_at, "to": to},
        )
