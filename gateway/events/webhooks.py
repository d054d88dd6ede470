"""Webhook delivery from the durable event log: at-least-once, signed, retried with backoff.

Each endpoint has a cursor (the last event seq it has been given) and a lease in the store.
An instance delivers to an endpoint only while it holds that endpoint's lease, taken with one
atomic UPDATE, so with several gateways on one database each event goes to each endpoint
once. The lease is short and a heartbeat keeps it while a round runs (gateway/events/lease.py),
so a holder killed mid-delivery is taken over within a few seconds, by another instance or by
the same one restarted, which takes its own lease back at once since its holder id survives
restarts (gateway/ops/holder.py). The taker starts again from the saved cursor: a batch in
flight at the crash is delivered again, the only duplicates besides retries. Each endpoint's
rounds run as their own task, so one receiver that hangs or keeps failing delays only itself.
Events are read only once they are a couple of seconds old, so an event whose insert
committed late (seq allocated earlier than a neighbour's) is never skipped by the cursor.
Writes are few, since every commit bumps the store's data version, which the token and manifest
caches check: an endpoint with nothing to send is only read, and a round of deliveries saves
its cursor once a second and at its end, extends its lease once a second, and adds each
envelope's outcome to the endpoint's recent deliveries (insert and trim in one commit).
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp

from gateway.background import running
from gateway.config import Settings, WebhookSetting
from gateway.events.hook_headers import DELIVERY_HEADER, SIGNATURE_HEADER
from gateway.events.lease import Lease, LeaseLost, lease_until
from gateway.events.model import ENVELOPE_MEDIA_TYPE, envelope_bytes
from gateway.events.targets import address_problem, redact
from gateway.store import Conflict, EventRow, SettledBatch, Store, StoreError, Webhook, WebhookDelivery, WebhookFailure

log = logging.getLogger(__name__)

SETTLE_MS = 2000
BATCH = 200
POLL_SECONDS = 1.0
CURSOR_SAVE_SECONDS = 1.0
DEPTH_EVERY_ROUNDS = 10
KEPT_DELIVERIES = 50  # recent deliveries kept per webhook, successes and failures alike


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_initial: float
    backoff_max: float
    timeout: float

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.backoff_initial * 2.0 ** (attempt - 1), self.backoff_max)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def matches(hook: Webhook, event: EventRow) -> bool:
    if hook.actions and event.action not in hook.actions:
        return False
    return not hook.repository_pattern or fnmatch.fnmatchcase(event.repository, hook.repository_pattern)


def _now_ms() -> int:
    return int(time.time() * 1000)


class WebhookDispatcher:
    """Delivers for every endpoint; reports failed attempts and the outbox depth to callbacks
    (metrics), so this module needs no metrics library."""

    def __init__(
        self,
        store: Store,
        session: aiohttp.ClientSession,
        policy: RetryPolicy,
        holder: str,
        on_failure: Callable[[str], None] = lambda endpoint: None,
        on_depth: Callable[[int], None] = lambda depth: None,
        *,
        allow_private_targets: bool = False,
    ) -> None:
        self._store = store
        self._allow_private = allow_private_targets
        self._session = session
        self._policy = policy
        self._holder = holder
        self._on_failure = on_failure
        self._on_depth = on_depth
        self.failures = 0
        self._rounds: dict[str, asyncio.Task[None]] = {}  # each endpoint's round in progress

    async def _post(self, hook: Webhook, body: bytes) -> tuple[int | None, str | None]:
        """One delivery attempt: the receiver's status code (None when it gave none) and what
        went wrong (None on success; no URL password in it)."""
        headers = {
            **hook.headers,
            "Content-Type": ENVELOPE_MEDIA_TYPE,
            SIGNATURE_HEADER: signature(hook.secret, body),
            DELIVERY_HEADER: str(uuid.uuid4()),
        }
        problem = address_problem(hook.url, self._allow_private)  # names: the session's resolver checks them
        if problem is not None:
            return None, f"refused: {problem}"
        try:
            timeout = aiohttp.ClientTimeout(total=self._policy.timeout)
            async with self._session.post(
                hook.url, data=body, headers=headers, timeout=timeout, allow_redirects=False  # a redirect could point inside
            ) as response:
                if 200 <= response.status < 300:
                    return response.status, None
                return response.status, f"HTTP {response.status}"
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:  # ValueError: a header aiohttp refuses
            return None, redact(exc.__class__.__name__ + (f": {exc}" if str(exc) else ""), hook.url)

    async def _deliver(self, hook: Webhook, batch: SettledBatch, lease: Lease, *, redelivery: bool = False) -> str | None:
        """Deliver with retries and backoff while the lease is held; the last error or None.
        The outcome is added to the webhook's recent deliveries (one commit). LeaseLost (the
        attempt in flight cancelled, nothing recorded) when it goes to another instance."""
        status: int | None = None
        error: str | None = None
        body = envelope_bytes(batch.bodies_json)
        attempt = 0
        for attempt in range(1, self._policy.max_attempts + 1):
            status, error = await lease.while_held(self._post(hook, body))
            if error is None:
                break
            self.failures += 1
            self._on_failure(hook.name)
            log.warning("webhook %s: delivery attempt %d of %d failed: %s", hook.name, attempt, self._policy.max_attempts, error)
            if attempt < self._policy.max_attempts:
                await lease.while_held(asyncio.sleep(self._policy.delay(attempt)))
        delivery = WebhookDelivery(hook.name, tuple(batch.seqs), status, error, attempt, redelivery, int(time.time()))
        try:
            await self._store.record_webhook_delivery(delivery, KEPT_DELIVERIES)
        except StoreError as exc:  # the list of recent deliveries misses one; the delivery itself stands
            log.warning("webhook %s: delivery not added to the recent ones: %s", hook.name, exc)
        return error

    async def _advance(self, hook: Webhook, cursor: int) -> None:
        if not await self._store.advance_webhook(hook.name, self._holder, cursor, lease_until(_now_ms())):
            raise LeaseLost("the cursor is no longer this holder's to move")

    async def _mark_failed(self, hook: Webhook, batch: SettledBatch, error: str) -> None:
        for seq in batch.seqs:
            await self._store.record_webhook_failure(
                WebhookFailure(hook.name, seq, "failed", self._policy.max_attempts, error, int(time.time()))
            )

    async def _redeliver(self, hook: Webhook, lease: Lease) -> None:
        seqs = await self._store.claim_redeliveries(hook.name, BATCH)
        if not seqs:
            return
        batch = SettledBatch.of(await self._store.get_events(seqs))
        error = await self._deliver(hook, batch, lease, redelivery=True) if batch.seqs else None
        if error is None:
            for seq in seqs:
                await self._store.clear_failure(hook.name, seq)
        else:
            await self._mark_failed(hook, batch, error)

    async def _settled(self, hook: Webhook, cursor: int) -> tuple[int, int, SettledBatch]:
        """How many settled events follow `cursor` (at most BATCH), the seq of the last of them,
        and those the endpoint wants. An endpoint that wants everything gets the batch as the
        store builds it; filters need each event's action and repository."""
        settled_before = _now_ms() - SETTLE_MS
        if not hook.actions and not hook.repository_pattern:
            batch = await self._store.settled_batch(cursor, settled_before, BATCH)
            return len(batch.seqs), batch.seqs[-1] if batch.seqs else cursor, batch
        events = await self._store.events_after(cursor, settled_before, BATCH)
        wanted = SettledBatch.of([e for e in events if matches(hook, e)])
        return len(events), events[-1].seq if events else cursor, wanted

    async def _pending(self, hook: Webhook) -> bool:
        """Anything to send (read only): settled events past the cursor, or queued redeliveries."""
        if await self._store.events_after(hook.cursor_seq, _now_ms() - SETTLE_MS, 1):
            return True
        return bool(await self._store.claim_redeliveries(hook.name, 1))

    async def serve(self, hook: Webhook) -> None:
        """Everything pending for one endpoint, while this instance holds its lease; nothing for a
        disabled one (an import the gateway cannot deliver as it was, until an admin changes it)."""
        if hook.disabled_reason is not None or not await self._pending(hook):
            return
        lease = await Lease.take(self._store, hook.name, self._holder, _now_ms())
        if lease is None:
            return
        try:
            async with lease.kept():
                await self._round(hook, lease)
        except LeaseLost as exc:  # the next holder delivers again from the saved cursor: at least once
            log.warning("webhook %s: delivery round stopped, lease lost: %s", hook.name, exc)
        finally:
            await self._store.release_webhook(hook.name, self._holder)

    async def _round(self, hook: Webhook, lease: Lease) -> None:
        await self._redeliver(hook, lease)
        current = await self._store.get_webhook(hook.name)
        cursor = saved = current.cursor_seq if current else hook.cursor_seq
        saved_at = time.monotonic()
        while True:
            lease.check()
            read, last, wanted = await self._settled(hook, cursor)
            if not read:
                break
            error = await self._deliver(hook, wanted, lease) if wanted.seqs else None
            if error is not None:
                log.error("webhook %s: %d events marked failed: %s", hook.name, len(wanted.seqs), error)
                await self._mark_failed(hook, wanted, error)
            cursor = last
            if read < BATCH:
                break  # caught up with what has settled: the rest waits for the next round
            if time.monotonic() - saved_at >= CURSOR_SAVE_SECONDS:
                await self._advance(hook, cursor)
                saved, saved_at = cursor, time.monotonic()
        if cursor != saved:
            await self._advance(hook, cursor)

    async def _round_of(self, hook: Webhook) -> None:
        try:
            await self.serve(hook)
        except StoreError as exc:
            log.warning("webhook %s: delivery paused: %s", hook.name, exc)
        except Exception:
            log.exception("webhook %s: delivery round failed", hook.name)

    async def run_once(self) -> None:
        """Start a round for every endpoint that has none running. Each endpoint's rounds run on
        their own: one whose receiver is down (retries with backoff can take minutes) holds up
        only its own deliveries, never the next round of the others."""
        hooks = await self._store.list_webhooks()
        for hook in hooks:
            running_round = self._rounds.get(hook.name)
            if running_round is None or running_round.done():
                self._rounds[hook.name] = asyncio.create_task(self._round_of(hook), name=f"webhook-round-{hook.name}")
        listed = {hook.name for hook in hooks}
        for name in [name for name, task in self._rounds.items() if task.done() and name not in listed]:
            del self._rounds[name]

    async def run(self) -> None:
        rounds = 0
        try:
            while True:
                try:
                    await self.run_once()
                    if rounds % DEPTH_EVERY_ROUNDS == 0:
                        self._on_depth(await self._store.outbox_depth())
                except StoreError as exc:
                    log.warning("webhook delivery paused: %s", exc)
                rounds += 1
                await asyncio.sleep(POLL_SECONDS)
        finally:
            for task in self._rounds.values():
                task.cancel()
            await asyncio.gather(*self._rounds.values(), return_exceptions=True)
            self._rounds.clear()


def webhook_from_setting(setting: WebhookSetting, cursor: int) -> Webhook:
    return Webhook(
        name=setting.name, url=setting.url, secret=setting.secret, headers=dict(setting.headers),
        actions=setting.actions, repository_pattern=setting.repository_pattern, source="config", cursor_seq=cursor,
    )


async def sync_configured(store: Store, settings: Settings) -> None:
    """Make the store hold the endpoints named in the settings; a new one starts at the newest event."""
    for setting in settings.webhooks:
        existing = await store.get_webhook(setting.name)
        hook = webhook_from_setting(setting, existing.cursor_seq if existing else await store.max_event_seq())
        if existing is None:
            try:
                await store.add_webhook(hook, int(time.time()))
            except Conflict:
                await store.update_webhook(hook)
        else:
            await store.update_webhook(hook)


async def seal_stored_secrets(store: Store) -> None:
    """At start: seal the webhook secrets and headers still stored in plain text (or under an
    older key). A row that does not open is reported and left alone; its deliveries fail."""
    sealed, problems = await store.reseal_webhooks()
    if sealed:
        log.info("sealed the secrets of %d webhook(s) with the current secrets key", sealed)
    for problem in problems:
        log.error("cannot read a stored webhook secret: %s; check GATEWAY_SECRETS_KEY_FILE", problem)


def policy_from(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        settings.webhook_max_attempts, settings.webhook_backoff_initial, settings.webhook_backoff_max, settings.webhook_timeout
    )


async def delivering(dispatcher: WebhookDispatcher) -> AsyncIterator[None]:
    """Cleanup-context body: deliver in the background until shutdown."""
    async with running(dispatcher.run(), "webhook-delivery"):
        yield
