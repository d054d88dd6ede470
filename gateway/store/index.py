"""Queries on the repository index: the repositories, manifests and tags recorded from the pushes,
pulls and deletes that passed through the gateway (listings, referrers and namespace occupancy
read it instead of walking the registry)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from gateway.store.grams import GRAM, forget_grams, index_grams, names_holding, rarest_gram
from gateway.store.quotas import LIVE_OFF, LIVE_ON, REPOSITORY_OFF
from gateway.store.records import ManifestRow, PullMark, RepositoryRow, TagRow
from gateway.store.sql import Row, SQLBase, containing, like_literal


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _platforms(value: Any) -> tuple[str, ...]:
    return tuple(str(value).split()) if value else ()


def _manifest(r: Row) -> ManifestRow:
    return ManifestRow(
        r["repository"], r["digest"], r["media_type"], int(r["size"]), r["artifact_type"], r["subject"],
        json.loads(r["annotations"]) if r["annotations"] else None, int(r["pushed_at"]),
        _optional_int(r["image_size"]), _platforms(r["platforms"]),
    )


def _repositories(rows: list[Row]) -> list[RepositoryRow]:
    return [
        RepositoryRow(r["name"], int(r["created_at"]), _optional_int(r["last_push_at"]), _optional_int(r["last_pull_at"]))
        for r in rows
    ]


# Subjects in one IN (...) list: far below every driver's limit on parameters.
_IN_LIST = 500
# The character after "/": every name that starts with "NAMESPACE/" sorts below "NAMESPACE0".
_AFTER_SLASH = chr(ord("/") + 1)

# The repositories of a namespace after a name: see `list_repositories_in`.
_IN_NAMESPACE = "name > :after AND name < :end AND name LIKE :pattern ESCAPE '!'"


def _namespace_range(namespace: str, after: str = "") -> dict[str, str]:
    prefix = namespace + "/"
    return {"after": max(after, prefix), "end": namespace + _AFTER_SLASH, "pattern": like_literal(prefix) + "%"}


def _search_condition(contains: str) -> str:
    """The condition a search adds to a read of names: `:contains` is `containing(text)`."""
    return " AND name LIKE :contains ESCAPE '!'" if contains else ""


_MANIFEST_COLUMNS = ("media_type", "size", "artifact_type", "subject", "annotations", "pushed_at", "image_size", "platforms")
_TAG_COLUMNS = ("digest", "media_type", "size", "pushed_at")


class IndexQueries(SQLBase):
    async def index_push(self, manifest: ManifestRow, tag: str) -> None:
        """Index a pushed manifest (and its tag) in one transaction. Each row is an upsert: the same
        tag or manifest pushed through two instances at once updates what the other inserted,
        rather than fail a push the registry has already taken."""
        params = {
            "name": manifest.repository, "created_at": manifest.pushed_at, "last_push_at": manifest.pushed_at,
            "repository": manifest.repository, "digest": manifest.digest, "media_type": manifest.media_type,
            "size": manifest.size, "artifact_type": manifest.artifact_type, "subject": manifest.subject,
            "annotations": json.dumps(manifest.annotations) if manifest.annotations else None,
            "pushed_at": manifest.pushed_at, "tag": tag, "image_size": manifest.image_size,
            "platforms": " ".join(manifest.platforms) or None,
        }
        async with self.transaction():
            written = await self.execute(
                self.upsert("repositories", ("name",), ("created_at", "last_push_at"), ("last_push_at",)), params
            )
            if written == 1:  # inserted, or found (SQLite; MariaDB: unchanged), not updated (MariaDB's 2)
                await index_grams(self, manifest.repository)  # a new name's trigrams, for search
            await self.execute(
                self.upsert(
                    "manifests", ("repository", "digest"), _MANIFEST_COLUMNS, _MANIFEST_COLUMNS,
                ),
                params,
            )
            if tag:
                # A tag moved to another manifest has not been pulled as that one yet.
                await self.execute(
                    "UPDATE tags SET last_pull_at = NULL WHERE repository = :repository AND tag = :tag AND digest <> :digest",
                    params,
                )
                await self.execute(
                    self.upsert("tags", ("repository", "tag"), _TAG_COLUMNS, _TAG_COLUMNS), params
                )
            await self.execute(LIVE_ON, params)  # its blobs count for its namespace's quota

    async def index_pulls(self, pulls: Iterable[PullMark]) -> None:
        """Record when repositories and tags were last pulled, from a batch of pulls (the caller
        keeps the latest of each): tags pulled by tag, and every tag naming a digest pulled by
        digest. The batch's times are whole seconds, mostly one or two of them, so the UPDATEs go
        by repository and time with the names in one IN list: a few statements a batch, in one
        transaction (one commit: MariaDB syncs each), in key order so that two instances'
        batches never wait on each other in a cycle. A time never goes back, whatever order
        batches of several instances arrive in."""
        repositories: dict[str, int] = {}
        named: dict[tuple[str, str, int], list[str]] = {}
        for mark in pulls:
            repositories[mark.repository] = max(repositories.get(mark.repository, 0), mark.at)
            column = "tag" if mark.tag else "digest"
            named.setdefault((mark.repository, column, mark.at), []).append(mark.tag or mark.digest)
        async with self.transaction():
            for repository, at in sorted(repositories.items()):
                await self.execute(
                    "UPDATE repositories SET last_pull_at = :at"
                    " WHERE name = :name AND (last_pull_at IS NULL OR last_pull_at < :at)",
                    {"name": repository, "at": at},
                )
            for (repository, column, at), values in sorted(named.items()):
                ordered = sorted(values)
                for start in range(0, len(ordered), _IN_LIST):
                    params: dict[str, Any] = {f"v{i}": v for i, v in enumerate(ordered[start:start + _IN_LIST])}
                    listed = ", ".join(f":{key}" for key in params)
                    await self.execute(
                        f"UPDATE tags SET last_pull_at = :at WHERE repository = :repository AND {column} IN ({listed})"
                        " AND (last_pull_at IS NULL OR last_pull_at < :at)",
                        {**params, "repository": repository, "at": at},
                    )

    async def index_delete_manifest(self, repository: str, digest: str) -> None:
        async with self.transaction():
            params = {"repository": repository, "digest": digest}
            await self.execute("DELETE FROM tags WHERE repository = :repository AND digest = :digest", params)
            await self.execute("DELETE FROM manifests WHERE repository = :repository AND digest = :digest", params)
            await self.execute(LIVE_OFF, params)

    async def index_delete_tag(self, repository: str, tag: str) -> None:
        await self.execute(
            "DELETE FROM tags WHERE repository = :repository AND tag = :tag", {"repository": repository, "tag": tag}
        )

    async def tags_naming(self, repository: str, digest: str) -> list[str]:
        """The indexed tags that name `digest` (read by the tags' primary key's repository)."""
        rows = await self.fetch_all(
            "SELECT tag FROM tags WHERE repository = :repository AND digest = :digest ORDER BY tag",
            {"repository": repository, "digest": digest},
        )
        return [str(r["tag"]) for r in rows]

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
            await self.execute(REPOSITORY_OFF, params)
            await self.execute("DELETE FROM uploads WHERE repository = :repository", params)
            await self.execute("DELETE FROM repositories WHERE name = :repository", params)
            await forget_grams(self, repository)

    async def list_repositories(self, after: str = "", limit: int = 100) -> list[RepositoryRow]:
        rows = await self.fetch_all(
            "SELECT * FROM repositories WHERE name > :after ORDER BY name LIMIT :limit", {"after": after, "limit": limit}
        )
        return [
            RepositoryRow(r["name"], int(r["created_at"]), _optional_int(r["last_push_at"]), _optional_int(r["last_pull_at"]))
            for r in rows
        ]

    async def get_repository(self, name: str) -> RepositoryRow | None:
        rows = await self.fetch_all("SELECT * FROM repositories WHERE name = :name", {"name": name})
        return _repositories(rows)[0] if rows else None

    async def list_repositories_in(
        self, namespace: str, after: str = "", limit: int = 100, contains: str = ""
    ) -> list[RepositoryRow]:
        """The repositories named `NAMESPACE/...` after `after` whose names contain `contains`
        (all when empty), by name (names are lowercase, so
        a case-insensitive LIKE matches exactly as a case-sensitive one would). The LIKE alone
        bounds no index range (SQLite's LIKE optimisation needs a case-insensitive column): the
        names are also kept within (`NAMESPACE/`, `NAMESPACE0`), which holds exactly the valid
        names with that prefix (`NAMESPACE/` itself is none), so the read stops at the
        namespace's end."""
        rows = await self.fetch_all(
            f"SELECT * FROM repositories WHERE {_IN_NAMESPACE}{_search_condition(contains)} ORDER BY name LIMIT :limit",
            {**_namespace_range(namespace, after), "limit": limit, "contains": containing(contains)},
        )
        return _repositories(rows)

    async def list_global_repositories(self, after: str = "", limit: int = 100, contains: str = "") -> list[RepositoryRow]:
        """The repositories of the global namespace (names without `/`) after `after` whose names
        contain `contains` (all when empty), by name: one range of `repositories_global`
        (migration 29), however many namespaced names sort between them. Named in the statement:
        on a small table MariaDB reads the primary key and sorts."""
        rows = await self.fetch_all(
            f"SELECT * FROM {self.through('repositories', 'repositories_global')}"
            f" WHERE in_global = 1 AND name > :after{_search_condition(contains)} ORDER BY name LIMIT :limit",
            {"after": after, "limit": limit, "contains": containing(contains)},
        )
        return _repositories(rows)

    async def count_repositories_in(self, namespace: str) -> int:
        """How many repositories are named `NAMESPACE/...`: counted within the same index range as
        `list_repositories_in` reads, no row loaded."""
        row = await self.fetch_one(
            f"SELECT COUNT(*) AS n FROM repositories WHERE {_IN_NAMESPACE}", _namespace_range(namespace)
        )
        return int(row["n"]) if row else 0

    async def search_repositories(self, contains: str, after: str = "", limit: int = 100) -> list[RepositoryRow]:
        """The repositories whose name contains `contains` (lowercase), after `after`, by name.
        Text of three characters or more is looked for among the names holding its rarest
        trigram (gateway/store/grams.py): a read that grows with how many names hold that
        trigram, not with every name after the cursor. The rows and their order are the scan's."""
        pattern = containing(contains)
        if len(contains) < GRAM:
            # One or two characters have no trigram: every name after `after` is read, as it
            # always was. Such short text matches a large share of the names anyway.
            rows = await self.fetch_all(
                "SELECT * FROM repositories WHERE name > :after AND name LIKE :pattern ESCAPE '!' ORDER BY name LIMIT :limit",
                {"after": after, "pattern": pattern, "limit": limit},
            )
            return _repositories(rows)
        gram = await rarest_gram(self, contains)
        if gram is None:
            return []
        return _repositories(await names_holding(self, gram, pattern, after, limit))

    async def list_tags(self, repository: str, after: str = "", limit: int = 100, contains: str = "") -> list[TagRow]:
        """A page of tags with their manifest's image size and platforms (read by primary key);
        with `contains` (lowercase), only the tags that contain it literally, ignoring case (tags
        have upper case letters; LOWER makes MariaDB's exact collation and SQLite's LIKE agree)."""
        params: dict[str, str | int] = {"repository": repository, "after": after, "limit": limit}
        matching = ""
        if contains:
            matching, params["pattern"] = " AND LOWER(t.tag) LIKE :pattern ESCAPE '!'", containing(contains)
        rows = await self.fetch_all(
            "SELECT t.repository, t.tag, t.digest, t.media_type, t.size, t.pushed_at, t.last_pull_at, m.image_size, m.platforms"
            " FROM tags t LEFT JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest"
            f" WHERE t.repository = :repository AND t.tag > :after{matching} ORDER BY t.tag LIMIT :limit",
            params,
        )
        return [
            TagRow(
                r["repository"], r["tag"], r["digest"], r["media_type"], int(r["size"]), int(r["pushed_at"]),
                _optional_int(r["image_size"]), _platforms(r["platforms"]), _optional_int(r["last_pull_at"]),
            )
            for r in rows
        ]

    async def tag_names(self, repository: str, after: str = "", limit: int = 100) -> list[str]:
        """Up to `limit` tag names of `repository` after `after`, by name: a range of the tags'
        primary key and nothing else (`/v2/NAME/tags/list`)."""
        rows = await self.fetch_all(
            "SELECT tag FROM tags WHERE repository = :repository AND tag > :after ORDER BY tag LIMIT :limit",
            {"repository": repository, "after": after, "limit": limit},
        )
        return [str(r["tag"]) for r in rows]

    async def referrers(self, repository: str, subject: str) -> list[ManifestRow]:
        rows = await self.fetch_all(
            "SELECT * FROM manifests WHERE repository = :repository AND subject = :subject ORDER BY digest",
            {"repository": repository, "subject": subject},
        )
        return [_manifest(r) for r in rows]

    async def referrers_of(self, repository: str, subjects: Sequence[str]) -> dict[str, list[ManifestRow]]:
        """`referrers` of many subjects (a page of tags' digests) in one statement: the subjects
        that have any, each with its referrers in digest order."""
        found: dict[str, list[ManifestRow]] = {}
        wanted = list(dict.fromkeys(subjects))
        for start in range(0, len(wanted), _IN_LIST):
            params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(wanted[start:start + _IN_LIST])}
            listed = ", ".join(f":{key}" for key in params)
            rows = await self.fetch_all(
                f"SELECT * FROM manifests WHERE repository = :repository AND subject IN ({listed}) ORDER BY subject, digest",
                {**params, "repository": repository},
            )
            for row in rows:
                found.setdefault(row["subject"], []).append(_manifest(row))
        return found
