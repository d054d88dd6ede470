"""Queries on webhooks and their delivery state: endpoints (credentials sealed), each one's
cursor into the event log and delivery lease, the events that failed to reach it, and its
recent deliveries (a bounded list)."""

from __future__ import annotations

import json
from typing import Protocol

from gateway.store.records import StoreError, Webhook, WebhookDelivery, WebhookFailure
from gateway.store.sql import Row, SQLBase


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


def _delivery(row: Row) -> WebhookDelivery:
    return WebhookDelivery(
        webhook=row["webhook"], seqs=tuple(int(seq) for seq in str(row["seqs"]).split(",") if seq),
        status_code=None if row["status_code"] is None else int(row["status_code"]), error=row["error"],
        attempts=int(row["attempts"]), redelivery=bool(row["redelivery"]), delivered_at=int(row["delivered_at"]),
        id=int(row["id"]),
    )


class WebhookQueries(SQLBase):
    _sealer: FieldSealer = PlainText()

    def use_sealer(self, sealer: FieldSealer) -> None:
        """Seal webhook secrets and header values with `sealer` from now on (and open them)."""
        self._sealer = sealer

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
            source=row["source"], cursor_seq=int(row["cursor_seq"]), disabled_reason=row.get("disabled_reason"),
        )

    async def add_webhook(self, hook: Webhook, now: int) -> None:
        await self.execute(
            "INSERT INTO webhooks (name, url, secret, headers, actions, repository_pattern, source, cursor_seq,"
            " leased_by, lease_until, created_at, disabled_reason)"
            " VALUES (:name, :url, :secret, :headers, :actions, :pattern, :source, :cursor, NULL, 0, :now, :disabled)",
            {
                "name": hook.name, **self._sealed(hook),
                "actions": ",".join(hook.actions), "pattern": hook.repository_pattern, "source": hook.source,
                "cursor": hook.cursor_seq, "now": now, "disabled": hook.disabled_reason,
            },
        )

    async def update_webhook(self, hook: Webhook) -> bool:
        count = await self.execute(
            "UPDATE webhooks SET url = :url, secret = :secret, headers = :headers, actions = :actions,"
            " repository_pattern = :pattern, disabled_reason = NULL WHERE name = :name",
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
        await self.execute("DELETE FROM webhook_deliveries WHERE webhook = :name", {"name": name})
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

    async def extend_webhook_lease(self, name: str, holder: str, until_ms: int) -> bool:
        """Extend a lease this holder has; False once another took it, it was released or the
        endpoint deleted (an expired lease nobody took is still this holder's to extend)."""
        count = await self.execute(
            "UPDATE webhooks SET lease_until = :until WHERE name = :name AND leased_by = :holder",
            {"name": name, "holder": holder, "until": until_ms},
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

    async def webhook_failures(
        self, webhook: str, state: str | None = None, limit: int = 1000, after_seq: int = 0,
    ) -> list[WebhookFailure]:
        """Up to `limit` failures of the webhook for events after `after_seq`, oldest event first."""
        clause = " AND state = :state" if state else ""
        rows = await self.fetch_all(
            f"SELECT * FROM webhook_failures WHERE webhook = :webhook AND event_seq > :after{clause}"
            " ORDER BY event_seq LIMIT :limit",
            {"webhook": webhook, "state": state, "limit": limit, "after": after_seq},
        )
        return [
            WebhookFailure(
                r["webhook"], int(r["event_seq"]), r["state"], int(r["attempts"]), r["last_error"], int(r["updated_at"])
            )
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

    async def record_webhook_delivery(self, delivery: WebhookDelivery, keep: int) -> None:
        """Add a delivery and drop the webhook's older ones beyond the newest `keep`, in one
        transaction (one commit on the delivery path). The trim reads the webhook's newest `keep`
        rows by index; the inner SELECT is a derived table so MariaDB may read the table it
        deletes from."""
        params = {
            "webhook": delivery.webhook, "first": min(delivery.seqs, default=0), "last": max(delivery.seqs, default=0),
            "seqs": ",".join(str(seq) for seq in delivery.seqs), "status": delivery.status_code,
            "error": None if delivery.error is None else delivery.error[:500], "attempts": delivery.attempts,
            "redelivery": int(delivery.redelivery), "at": delivery.delivered_at, "skip": keep - 1,
        }
        async with self.transaction():
            await self.execute(
                "INSERT INTO webhook_deliveries (webhook, first_seq, last_seq, seqs, status_code, error, attempts, redelivery,"
                " delivered_at) VALUES (:webhook, :first, :last, :seqs, :status, :error, :attempts, :redelivery, :at)",
                params,
            )
            await self.execute(
                "DELETE FROM webhook_deliveries WHERE webhook = :webhook AND id < (SELECT id FROM ("
                "SELECT id FROM webhook_deliveries WHERE webhook = :webhook ORDER BY id DESC LIMIT 1 OFFSET :skip) AS kept)",
                params,
            )

    async def webhook_deliveries(self, webhook: str, before_id: int | None = None, limit: int = 50) -> list[WebhookDelivery]:
        """Up to `limit` of the webhook's deliveries older than `before_id` (all when None), newest first."""
        clause = "" if before_id is None else " AND id < :before"
        rows = await self.fetch_all(
            f"SELECT * FROM webhook_deliveries WHERE webhook = :webhook{clause} ORDER BY id DESC LIMIT :limit",
            {"webhook": webhook, "before": before_id, "limit": limit},
        )
        return [_delivery(r) for r in rows]

    async def get_webhook_delivery(self, webhook: str, delivery_id: int) -> WebhookDelivery | None:
        row = await self.fetch_one(
            "SELECT * FROM webhook_deliveries WHERE webhook = :webhook AND id = :id", {"webhook": webhook, "id": delivery_id}
        )
        return _delivery(row) if row else None

    async def outbox_depth(self) -> int:
        """Events not yet delivered to some endpoint, plus queued redeliveries."""
        row = await self.fetch_one(
            "SELECT COALESCE(SUM(pending), 0) AS depth FROM ("
            " SELECT (SELECT COUNT(*) FROM events e WHERE e.seq > w.cursor_seq) AS pending FROM webhooks w"
            ") AS per_hook"
        )
        queued = await self.fetch_one("SELECT COUNT(*) AS n FROM webhook_failures WHERE state = 'redeliver'")
        return int(row["depth"] if row else 0) + int(queued["n"] if queued else 0)
