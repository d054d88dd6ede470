"""Webhooks: notification endpoints, managed by admins. Those named in the settings
(`source == "config"`) are shown but are changed in the settings, not here. Failed deliveries
are listed and can be sent again, and so can any of the recent deliveries (successes too).

A new webhook hears of events from its creation on: its cursor starts at the newest event.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway import names
from gateway.auth.permissions import Actor
from gateway.events.hook_headers import headers_problem
from gateway.events.model import ACTIONS
from gateway.events.webhooks import KEPT_DELIVERIES as KEPT_DELIVERIES  # the pages say how many are kept
from gateway.services.context import Services
from gateway.services.errors import Conflict, Invalid, NotFound
from gateway.services.guards import require_admin
from gateway.store import Conflict as StoreConflict
from gateway.store import Webhook, WebhookDelivery, WebhookFailure

MAX_SECRET_LENGTH = 255
MAX_PATTERN_LENGTH = 255


@dataclass(frozen=True)
class WebhookChanges:
    """What a create or an update gives; None leaves a field as it is (on create: empty).
    `url` and `secret` are required on create. `repository_pattern` is a glob (`team/*`)."""

    url: str | None = None
    secret: str | None = None
    headers: Mapping[str, str] | None = None
    actions: Sequence[str] | None = None
    repository_pattern: str | None = None


def _check_name(name: str) -> None:
    if (problem := names.WEBHOOK.problem(name)) is not None:
        raise Invalid(problem)


def _check(services: Services, changes: WebhookChanges, creating: bool) -> None:
    """Refuse the first field that breaks its rule (or is missing, when `creating`)."""
    if creating and changes.url is None:
        raise Invalid("field 'url' is required")
    if changes.url is not None and (problem := names.webhook_url_problem(changes.url, services.allow_private_webhooks)):
        raise Invalid(problem)
    if creating and changes.secret is None:
        raise Invalid("field 'secret' is required")
    if changes.secret is not None:
        if len(changes.secret) > MAX_SECRET_LENGTH:
            raise Invalid(f"field 'secret' is longer than {MAX_SECRET_LENGTH} characters")
        if (problem := names.webhook_secret_problem(changes.secret)) is not None:
            raise Invalid(problem)
    if changes.headers is not None and (problem := headers_problem(changes.headers)) is not None:
        raise Invalid(problem)
    if changes.actions is not None and any(a not in ACTIONS for a in changes.actions):
        raise Invalid(f"field 'actions' may only hold {', '.join(ACTIONS)}")
    if changes.repository_pattern is not None and len(changes.repository_pattern) > MAX_PATTERN_LENGTH:
        raise Invalid(f"field 'repository_pattern' is longer than {MAX_PATTERN_LENGTH} characters")


def _merged(current: Webhook, changes: WebhookChanges) -> Webhook:
    return Webhook(
        name=current.name,
        url=current.url if changes.url is None else changes.url,
        secret=current.secret if changes.secret is None else changes.secret,
        headers=current.headers if changes.headers is None else dict(changes.headers),
        actions=current.actions if changes.actions is None else tuple(changes.actions),
        repository_pattern=current.repository_pattern if changes.repository_pattern is None else changes.repository_pattern,
        source=current.source,
        cursor_seq=current.cursor_seq,
    )


async def _existing(services: Services, name: str) -> Webhook:
    _check_name(name)
    hook = await services.store.get_webhook(name)
    if hook is None:
        raise NotFound(f"no such webhook {name!r}")
    return hook


def _require_editable(hook: Webhook) -> None:
    if hook.source == "config":
        raise Conflict(f"webhook {hook.name!r} is configured in the settings; change it there")


async def list_webhooks(services: Services, actor: Actor, after: str = "", limit: int = 1000) -> list[Webhook]:
    """Up to `limit` webhooks named after `after`, by name."""
    require_admin(actor, "list webhooks")
    return await services.store.list_webhooks(after, limit)


async def get_webhook(services: Services, actor: Actor, name: str) -> Webhook:
    require_admin(actor, "read webhooks")
    return await _existing(services, name)


async def create_webhook(services: Services, actor: Actor, name: str, changes: WebhookChanges) -> Webhook:
    require_admin(actor, "create webhooks")
    _check_name(name)
    _check(services, changes, creating=True)
    store = services.store
    async with store.transaction():
        empty = Webhook(name, "", "", {}, (), "", source="api", cursor_seq=await store.max_event_seq())
        hook = _merged(empty, changes)
        try:
            await store.add_webhook(hook, int(time.time()))
        except StoreConflict:
            raise Conflict(f"webhook {name!r} already exists") from None
    return hook


async def update_webhook(services: Services, actor: Actor, name: str, changes: WebhookChanges) -> Webhook:
    require_admin(actor, "change webhooks")
    store = services.store
    async with store.transaction():
        current = await _existing(services, name)
        _require_editable(current)
        _check(services, changes, creating=False)
        hook = _merged(current, changes)
        await store.update_webhook(hook)
    return hook


async def delete_webhook(services: Services, actor: Actor, name: str) -> None:
    require_admin(actor, "delete webhooks")
    async with services.store.transaction():
        _require_editable(await _existing(services, name))
        await services.store.delete_webhook(name)


async def list_failures(
    services: Services, actor: Actor, name: str, after_seq: int = 0, limit: int = 1000,
) -> list[WebhookFailure]:
    """Up to `limit` of the webhook's deliveries that failed (or wait to be sent again), for
    events after `after_seq`, oldest event first."""
    require_admin(actor, "read webhook failures")
    hook = await _existing(services, name)
    return await services.store.webhook_failures(hook.name, limit=limit, after_seq=after_seq)


async def redeliver(services: Services, actor: Actor, name: str) -> int:
    """Queue the webhook's failed deliveries again; how many were."""
    require_admin(actor, "redeliver webhook events")
    hook = await _existing(services, name)
    return await services.store.requeue_failures(hook.name, int(time.time()))


async def list_deliveries(
    services: Services, actor: Actor, name: str, before_id: int | None = None, limit: int = 50,
) -> list[WebhookDelivery]:
    """Up to `limit` of the webhook's recent deliveries (the store keeps the newest few) older
    than delivery `before_id`, newest first."""
    require_admin(actor, "read webhook deliveries")
    hook = await _existing(services, name)
    return await services.store.webhook_deliveries(hook.name, before_id, limit)


async def redeliver_one(services: Services, actor: Actor, name: str, delivery_id: int) -> int:
    """Queue the events of one recent delivery to be sent again, in one envelope on the
    webhook's next round (those the event log still holds); how many were queued."""
    require_admin(actor, "redeliver webhook events")
    hook = await _existing(services, name)
    store = services.store
    delivery = await store.get_webhook_delivery(hook.name, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id} among the recent ones of webhook {name!r}")
    now = int(time.time())
    async with store.transaction():
        for seq in delivery.seqs:
            await store.record_webhook_failure(
                WebhookFailure(hook.name, seq, "redeliver", 0, f"sent again from delivery {delivery_id}", now)
            )
    return len(delivery.seqs)
