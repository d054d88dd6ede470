"""Queries on the event log, the repository index built from it, and webhook delivery state."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from gateway.store.records import Conflict, StoreError
from gateway.store.sql import Row, SQLBase

# Rows per multi-row INSERT: 8 parameters each stays far below every driver's limit.
_BATCH = 100


@dataclass(frozen=True)
class EventRow:
    seq: int
    id: str
    created_at_ms: int
    action: str
    repository: str
    body_json: str  # as stored: compact JSON, so webhooks send it without parsing it

    @cached_property
    def body(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body_json)
        return loaded


@dataclass(frozen=True)
class SettledBatch:
    """Settled events after a webhook cursor, as a delivery sends them: their seqs in order and
    their bodies joined with commas (the inside of an envelope's array), in the same order."""

    seqs: tuple[int, ...]
    bodies_json: str

    @classmethod
    def of(cls, events: Sequence[EventRow]) -> SettledBatch:
        return cls(tuple(e.seq for e in events), ",".join(e.body_json for e in events))


@dataclass(frozen=True)
class TagRow:
    repository: str
    tag: str
    digest: str
    media_type: str
    size: int
    pushed_at: int


@dataclass(frozen=True)
class ManifestRow:
    repository: str
    digest: str
    media_type: str
    size: int
    artifact_type: str | None
    subject: str | None
    annotations: dict[str, str] | None
    pushed_at: int


@dataclass(frozen=True)
class RepositoryRow:
    name: str
    created_at: int
    last_push_at: int | None
    last_pull_at: int | None


@dataclass(frozen=True)
class Webhook:
    name: str
    url: str
    secret: str
    headers: dict[str, str]
    actions: tuple[str, ...]
    repository_pattern: str
    source: str
    cursor_seq: int


@dataclass(frozen=True)
class WebhookFailure:
    webhook: str
    event_seq: int
    state: str
    attempts: int
    last_error: str
    updated_at: int


@dataclass(frozen=True)
class NewEvent:
    """An event ready to store: the indexed columns and the full distribution-shaped body."""

    id: str
    created_at_ms: int
    action: str
    repository: str
    tag: str
    digest: str
    actor: str
    body: dict[str, Any]


def _event_params(event: NewEvent, suffix: str = "") -> dict[str, Any]:
    """An event's INSERT parameters (named with `suffix`); the body as compact JSON, the form
    webhook envelopes are joined from (`gateway.events.model.envelope_bytes`)."""
    return {
        f"id{suffix}": event.id, f"at{suffix}": event.created_at_ms, f"action{suffix}": event.action,
        f"repository{suffix}": event.repository, f"tag{suffix}": event.tag or None,
        f"digest{suffix}": event.digest or None, f"actor{suffix}": event.actor,
        f"body{suffix}": json.dumps(event.body, separators=(",", ":")),
    }


def _event(row: Row) -> EventRow:
    body = row["body"]
    text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
    return EventRow(int(row["seq"]), row["id"], int(row["created_at"]), row["action"], row["repository"], text)


class FieldSealer(Protocol):
    """Seals the values a row keeps but must not show (see gateway/auth/sealing.py); the store
    calls it and knows no cryptography. `context` names the row and column."""

    def seal(self, plain: str, context: str) -> str: ...

    def open(self, stored: str, context: str) -> str: ...

    def is_current(self, stored: str) -> bool: ...


class PlainText:
    """No sealing: what a store opened without the secrets key (a tool, a test) reads and writes."""

    def seal(self, plain: str, context: str) -> str:
        return plain

    def open(self, stored: str, context: str) -> str:
        return stored

    def is_current(self, stored: str) -> bool:
        return True


def _secret_context(name: str) -> str:
    return f"webhook {name!r} secret"


def _headers_context(name: str) -> str:
    return f"webhook {name!r} headers"


def _url_context(name: str) -> str:
    return f"webhook {name!r} url"


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


class EventQueries(SQLBase):
    _sealer: FieldSealer = PlainText()

    def use_sealer(self, sealer: FieldSealer) -> None:
        """Seal webhook secrets and header values with `sealer` from now on (and open them)."""
        self._sealer = sealer

    # -- the log -----------------------------------------------------------------------------

    async def add_event(self, event: NewEvent) -> bool:
        """Store one event; False when an event with this id is already there (de-duplication)."""
        try:
            await self.execute(
                "INSERT INTO events (id, created_at, action, repository, tag, digest, actor, body)"
                " VALUES (:id, :at, :action, :repository, :tag, :digest, :actor, :body)",
                _event_params(event),
            )
        except Conflict:
            return False
        return True

    async def add_events(self, events: Sequence[NewEvent]) -> int:
        """Store many events in one statement per `_BATCH` (pull events, flushed each second);
        a batch with an id already stored is retried one by one. Returns how many were added."""
        added = 0
        for start in range(0, len(events), _BATCH):
            batch = events[start:start + _BATCH]
            params: dict[str, Any] = {}
            values = []
            for i, event in enumerate(batch):
                values.append(f"(:id{i}, :at{i}, :action{i}, :repository{i}, :tag{i}, :digest{i}, :actor{i}, :body{i})")
                params.update(_event_params(event, str(i)))
            try:
                await self.execute(
                    "INSERT INTO events (id, created_at, action, repository, tag, digest, actor, body) VALUES "
                    + ", ".join(values), params,
                )
                added += len(batch)
            except Conflict:
                for event in batch:
                    added += await self.add_event(event)
        return added

    async def list_events(
        self,
        *,
        repository: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[EventRow]:
        """Newest first, keyset-paged by `before_seq`."""
        clauses: list[str] = ["1 = 1"]
        params: dict[str, object] = {"limit": limit}
        for column, value in (("repository", repository), ("action", action), ("actor", actor)):
            if value is not None:
                clauses.append(f"{column} = :{column}")
                params[column] = value
        if since_ms is not None:
            clauses.append("created_at >= :since")
            params["since"] = since_ms
        if until_ms is not None:
            clauses.append("created_at <= :until")
            params["until"] = until_ms
        if before_seq is not None:
            clauses.append("seq < :before")
            params["before"] = before_seq
        rows = await self.fetch_all(
            f"SELECT * FROM events WHERE {' AND '.join(clauses)} ORDER BY seq DESC LIMIT :limit", params
        )
        return [_event(r) for r in rows]

    async def events_after(self, seq: int, settled_before_ms: int, limit: int) -> list[EventRow]:
        """Events after `seq` in order, up to the first one not older than `settled_before_ms`
        (see webhooks). Never past it: events do not commit in `created_at` order (pulls are
        written in batches, by several processes), and a cursor moved beyond an unsettled
        event would skip it for good."""
        rows = await self.fetch_all(
            "SELECT * FROM events WHERE seq > :seq ORDER BY seq LIMIT :limit", {"seq": seq, "limit": limit}
        )
        settled = []
        for row in rows:
            if int(row["created_at"]) >= settled_before_ms:
                break
            settled.append(_event(row))
        return settled

    async def settled_batch(self, seq: int, settled_before_ms: int, limit: int) -> SettledBatch:
        """What `events_after` reads, as one `SettledBatch` (dialects may build it in SQL)."""
        return SettledBatch.of(await self.events_after(seq, settled_before_ms, limit))

    async def get_events(self, seqs: Sequence[int]) -> list[EventRow]:
        if not seqs:
            return []
        names = {f"s{i}": s for i, s in enumerate(seqs)}
        placeholders = ", ".join(f":{n}" for n in names)
        rows = await self.fetch_all(f"SELECT * FROM events WHERE seq IN ({placeholders}) ORDER BY seq", names)
        return [_event(r) for r in rows]

    async def max_event_seq(self) -> int:
        row = await self.fetch_one("SELECT MAX(seq) AS top FROM events")
        return int(row["top"]) if row and row["top"] is not None else 0

    async def deletes_after(self, seq: int) -> tuple[int, list[tuple[str, str]]]:
        """The newest event seq, and (repository, digest) of the deletes after `seq` up to it."""
        top = await self.max_event_seq()
        rows = await self.fetch_all(
            "SELECT repository, digest FROM events WHERE seq > :seq AND seq <= :top AND action = 'delete'",
            {"seq": seq, "top": top},
        )
        return top, [(str(r["repository"]), str(r["digest"] or "")) for r in rows]

    async def prune_events(self, older_than_ms: int | None, keep: int | None) -> int:
        removed = 0
        if older_than_ms is not None:
            removed += await self.execute("DELETE FROM events WHERE created_at < :before", {"before": older_than_ms})
        if keep is not None:
            row = await self.fetch_one(
                "SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET :keep", {"keep": keep}
            )
            if row is not None:
                removed += await self.execute("DELETE FROM events WHERE seq <= :seq", {"seq": int(row["seq"])})
        return removed

    # -- the repository index ----------------------------------------------------------------

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
        await self.execute("DELETE FROM tags WHERE repository = :repository AND tag = :tag", {"repository": repository, "tag": tag})

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
        return [RepositoryRow(r["name"], int(r["created_at"]), _optional_int(r["last_push_at"]), _optional_int(r["last_pull_at"])) for r in rows]

    async def list_tags(self, repository: str, after: str = "", limit: int = 100) -> list[TagRow]:
        rows = await self.fetch_all(
            "SELECT * FROM tags WHERE repository = :repository AND tag > :after ORDER BY tag LIMIT :limit",
            {"repository": repository, "after": after, "limit": limit},
        )
        return [TagRow(r["repository"], r["tag"], r["digest"], r["media_type"], int(r["size"]), int(r["pushed_at"])) for r in rows]

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

    # -- webhooks ----------------------------------------------------------------------------

    def _sealed(self, hook: Webhook) -> dict[str, str]:
        """The columns that may hold credentials: the secret, header values, and the URL (a
        password in it, or a token in its path as chat services' incoming webhooks have)."""
        return {
            "url": self._sealer.seal(hook.url, _url_context(hook.name)),
            "secret": self._sealer.seal(hook.secret, _secret_context(hook.name)),
            "headers": self._sealer.seal(json.dumps(hook.headers), _headers_context(hook.name)),
        }

    def _webhook(self, row: Row) -> Webhook:
        name = row["name"]
        return Webhook(
            name=name, url=self._sealer.open(row["url"], _url_context(name)),
            secret=self._sealer.open(row["secret"], _secret_context(name)),
            headers=json.loads(self._sealer.open(row["headers"], _headers_context(name))),
            actions=tuple(a for a in row["actions"].split(",") if a), repository_pattern=row["repository_pattern"],
            source=row["source"], cursor_seq=int(row["cursor_seq"]),
        )

    async def add_webhook(self, hook: Webhook, now: int) -> None:
        await self.execute(
            "INSERT INTO webhooks (name, url, secret, headers, actions, repository_pattern, source, cursor_seq,"
            " leased_by, lease_until, created_at)"
            " VALUES (:name, :url, :secret, :headers, :actions, :pattern, :source, :cursor, NULL, 0, :now)",
            {
                "name": hook.name, **self._sealed(hook),
                "actions": ",".join(hook.actions), "pattern": hook.repository_pattern, "source": hook.source,
                "cursor": hook.cursor_seq, "now": now,
            },
        )

    async def update_webhook(self, hook: Webhook) -> bool:
        count = await self.execute(
            "UPDATE webhooks SET url = :url, secret = :secret, headers = :headers, actions = :actions,"
            " repository_pattern = :pattern WHERE name = :name",
            {
                "name": hook.name, **self._sealed(hook),
                "actions": ",".join(hook.actions), "pattern": hook.repository_pattern,
            },
        )
        return count > 0

    async def reseal_webhooks(self) -> tuple[int, list[str]]:
        """Seal again, with the current key, every URL, secret and header map that is plain text
        (from a version before sealing) or sealed with an older key: (rows sealed, problems).
        Each row is rewritten only if unchanged since it was read; a row that does not open
        is left as it is and named in the problems."""
        sealed, problems = 0, []
        for row in await self.fetch_all("SELECT name, url, secret, headers FROM webhooks ORDER BY name"):
            if all(self._sealer.is_current(row[column]) for column in ("url", "secret", "headers")):
                continue
            name = row["name"]
            try:
                url = self._sealer.open(row["url"], _url_context(name))
                secret = self._sealer.open(row["secret"], _secret_context(name))
                headers = json.loads(self._sealer.open(row["headers"], _headers_context(name)))
                hook = Webhook(name, url, secret, headers, (), "", "", 0)
            except (StoreError, ValueError) as exc:
                problems.append(str(exc))
                continue
            sealed += await self.execute(
                "UPDATE webhooks SET url = :url, secret = :secret, headers = :headers"
                " WHERE name = :name AND url = :old_url AND secret = :old_secret AND headers = :old_headers",
                {
                    "name": name, **self._sealed(hook),
                    "old_url": row["url"], "old_secret": row["secret"], "old_headers": row["headers"],
                },
            )
        return sealed, problems

    async def get_webhook(self, name: str) -> Webhook | None:
        row = await self.fetch_one("SELECT * FROM webhooks WHERE name = :name", {"name": name})
        return self._webhook(row) if row else None

    async def list_webhooks(self, after: str = "", limit: int = 1000) -> list[Webhook]:
        rows = await self.fetch_all(
            "SELECT * FROM webhooks WHERE name > :after ORDER BY name LIMIT :limit", {"after": after, "limit": limit}
        )
        return [self._webhook(r) for r in rows]

    async def delete_webhook(self, name: str) -> bool:
        await self.execute("DELETE FROM webhook_failures WHERE webhook = :name", {"name": name})
        return await self.execute("DELETE FROM webhooks WHERE name = :name", {"name": name}) > 0

    async def lease_webhook(self, name: str, holder: str, now_ms: int, until_ms: int) -> bool:
        """Take (or extend) the delivery lease of one endpoint; one atomic UPDATE, so of several
        instances racing for it exactly one wins."""
        count = await self.execute(
            "UPDATE webhooks SET leased_by = :holder, lease_until = :until"
            " WHERE name = :name AND (lease_until < :now OR leased_by = :holder)",
            {"name": name, "holder": holder, "now": now_ms, "until": until_ms},
        )
        return count > 0

    async def release_webhook(self, name: str, holder: str) -> None:
        await self.execute(
            "UPDATE webhooks SET leased_by = NULL, lease_until = 0 WHERE name = :name AND leased_by = :holder",
            {"name": name, "holder": holder},
        )

    async def advance_webhook(self, name: str, holder: str, seq: int, until_ms: int) -> bool:
        """Move the cursor of an endpoint this holder leases, extending the lease in the same
        UPDATE (one write per delivered batch)."""
        count = await self.execute(
            "UPDATE webhooks SET cursor_seq = :seq, lease_until = :until"
            " WHERE name = :name AND leased_by = :holder AND cursor_seq < :seq",
            {"name": name, "holder": holder, "seq": seq, "until": until_ms},
        )
        return count > 0

    async def record_webhook_failure(self, failure: WebhookFailure) -> None:
        params = {
            "webhook": failure.webhook, "seq": failure.event_seq, "state": failure.state, "attempts": failure.attempts,
            "error": failure.last_error[:500], "at": failure.updated_at,
        }
        updated = await self.execute(
            "UPDATE webhook_failures SET state = :state, attempts = :attempts, last_error = :error, updated_at = :at"
            " WHERE webhook = :webhook AND event_seq = :seq",
            params,
        )
        if not updated:
            await self.execute(
                "INSERT INTO webhook_failures (webhook, event_seq, state, attempts, last_error, updated_at)"
                " VALUES (:webhook, :seq, :state, :attempts, :error, :at)",
                params,
            )

    async def webhook_failures(self, webhook: str, state: str | None = None, limit: int = 1000) -> list[WebhookFailure]:
        clause = " AND state = :state" if state else ""
        rows = await self.fetch_all(
            f"SELECT * FROM webhook_failures WHERE webhook = :webhook{clause} ORDER BY event_seq LIMIT :limit",
            {"webhook": webhook, "state": state, "limit": limit},
        )
        return [
            WebhookFailure(r["webhook"], int(r["event_seq"]), r["state"], int(r["attempts"]), r["last_error"], int(r["updated_at"]))
            for r in rows
        ]

    async def claim_redeliveries(self, webhook: str, limit: int) -> list[int]:
        """Event seqs queued for redelivery to this endpoint (the caller holds its lease)."""
        rows = await self.fetch_all(
            "SELECT event_seq FROM webhook_failures WHERE webhook = :webhook AND state = 'redeliver'"
            " ORDER BY event_seq LIMIT :limit",
            {"webhook": webhook, "limit": limit},
        )
        return [int(r["event_seq"]) for r in rows]

    async def requeue_failures(self, webhook: str, now: int) -> int:
        return await self.execute(
            "UPDATE webhook_failures SET state = 'redeliver', updated_at = :now WHERE webhook = :webhook AND state = 'failed'",
            {"webhook": webhook, "now": now},
        )

    async def clear_failure(self, webhook: str, seq: int) -> None:
        await self.execute(
            "DELETE FROM webhook_failures WHERE webhook = :webhook AND event_seq = :seq", {"webhook": webhook, "seq": seq}
        )

    async def outbox_depth(self) -> int:
        """Events not yet delivered to some endpoint, plus queued redeliveries."""
        row = await self.fetch_one(
            "SELECT COALESCE(SUM(pending), 0) AS depth FROM ("
            " SELECT (SELECT COUNT(*) FROM events e WHERE e.seq > w.cursor_seq) AS pending FROM webhooks w"
            ") AS per_hook"
        )
        queued = await self.fetch_one("SELECT COUNT(*) AS n FROM webhook_failures WHERE state = 'redeliver'")
        return int(row["depth"] if row else 0) + int(queued["n"] if queued else 0)
