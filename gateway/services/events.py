"""The audit log's query. Admins see everything; others only events of repositories they may
pull, and of those neither a mount's source repository they may not pull, nor another user's
address, user agent or application token name, nor the gateway's own address. Newest first,
filtered by repository, action, actor and time, paged by sequence number.

Who asks is an `Identity`, not only an `Actor`: an application token's limits narrow what its
holder may pull, so what they may read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway import names
from gateway.auth.namespaces import PullFilter
from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity
from gateway.events.model import LOGGED_ACTIONS
from gateway.services.context import Services
from gateway.services.errors import Invalid
from gateway.store import TagPush

# Rows read at a time while a non-admin's page fills up: enough that a page of 100 fills from one
# batch for a user who may see a third of the log or more (each batch is a statement, and on
# MariaDB a window's batch is three), yet few enough that one who may see it all reads a batch.
BATCH = 400
# The most rows one non-admin request reads (five batches): a page of what they may see is looked
# for among this many, and a scan that has not filled it by then stops there and hands back where
# it stopped, so a user who may see little of a big log costs each request O(this), not O(log).
# Twice the API's largest page (1,000), so where they may see half the rows or more a page fills
# in one request; on either store about as much work as an admin's two largest pages.
MAX_ROWS_READ = 2_000


@dataclass(frozen=True)
class EventQuery:
    """Filters (None: any), times in milliseconds since the epoch (inclusive), and the page:
    up to `limit` events older than sequence number `before_seq` (None: from the newest)."""

    repository: str | None = None
    action: str | None = None
    actor: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    before_seq: int | None = None
    limit: int = 100


@dataclass(frozen=True)
class SeenEvent:
    """An event's sequence number and its envelope as the asker may see it."""

    seq: int
    body: dict[str, Any]


@dataclass(frozen=True)
class EventPage:
    """Events newest first; `next`: the `before_seq` of the next page, None only when nothing
    older follows. A non-admin's page may hold fewer than `limit` events, none even, with a
    `next`: the rows it read were used up before the page was full (MAX_ROWS_READ)."""

    items: list[SeenEvent]
    next: int | None


def _check(query: EventQuery) -> None:
    if query.repository is not None and (problem := names.REPOSITORY.problem(query.repository)) is not None:
        raise Invalid(problem)
    if query.actor is not None and (problem := names.USER.problem(query.actor)) is not None:
        raise Invalid(problem)
    if query.action is not None and query.action not in LOGGED_ACTIONS:
        raise Invalid(f"action must be one of {', '.join(LOGGED_ACTIONS)}")
    if query.limit < 1:
        raise Invalid("limit must be at least 1")


async def as_seen_by(body: dict[str, Any], name: str, visible: PullFilter) -> dict[str, Any]:
    """An event's envelope as the non-admin `name` sees it (see the module docstring); its
    shape is kept."""
    target = dict(body.get("target") or {})
    source_repository = target.get("fromRepository")
    if isinstance(source_repository, str) and not await visible.allows(source_repository):
        del target["fromRepository"]
    requested = dict(body.get("request") or {})
    actor = dict(body.get("actor") or {})
    if actor.get("name") != name:
        requested.update(addr="", useragent="")
        actor.pop("applicationToken", None)
    source = {**(body.get("source") or {}), "addr": ""}
    return {**body, "target": target, "request": requested, "actor": actor, "source": source}


async def list_events(
    services: Services, identity: Identity, query: EventQuery, max_rows_read: int = MAX_ROWS_READ,
) -> EventPage:
    """One page of the audit log as `identity` may see it.

    A non-admin's rows are read at most `max_rows_read` at a time: when they run out before the
    page is full, the page ends short (or empty) and `next` is the last row read, so the client
    goes on from there and no row is read twice. Their `next` only ever reaches them sealed
    (event_cursors), so where the scan stopped tells them no number. What a short page does tell
    is that the rows ran out: that `max_rows_read` rows matching the filters lie between its start
    and where it stopped, of which they may see the ones it shows. That much a bounded scan cannot
    help telling (whether a row they may see lies within reach depends on the rows between); the
    unbounded scan told it too, by how long it took."""
    _check(query)
    store = services.store
    visible = None if Actor.of(identity).admin else PullFilter(store, identity, services.rules)
    if visible is not None and query.repository is not None and not await visible.allows(query.repository):
        return EventPage([], None)  # every row would be skipped: not one read
    # An admin's rows are all kept: one more than the page tells whether another follows.
    batch_size = query.limit + 1 if visible is None else max(BATCH, query.limit + 1)
    left = max(1, max_rows_read)
    found: list[SeenEvent] = []
    cursor = query.before_seq
    while True:
        asked = batch_size if visible is None else min(batch_size, left)
        rows = await store.list_events(
            repository=query.repository, action=query.action, actor=query.actor, since_ms=query.since_ms,
            until_ms=query.until_ms, before_seq=cursor, limit=asked,
        )
        if visible is not None:
            await visible.prefetch(row.repository for row in rows)
        for row in rows:
            if visible is not None and not await visible.allows(row.repository):
                continue
            if len(found) == query.limit:
                return EventPage(found, found[-1].seq)
            body = row.body if visible is None else await as_seen_by(row.body, identity.name, visible)
            found.append(SeenEvent(row.seq, body))
        if len(rows) < asked:
            return EventPage(found, None)
        cursor = rows[-1].seq
        left -= len(rows)
        if visible is not None and left <= 0:
            return EventPage(found, cursor)  # the rows ran out: go on after the last one read


# The newest pushes the home page looks through for those its visitor may see.
RECENT_WINDOW = 500
_RECENT_CHUNK = 50


async def recent_pushes(services: Services, identity: Identity, limit: int, window: int = RECENT_WINDOW) -> list[TagPush]:
    """Up to `limit` of the newest pushes of a tag that `identity` may see, found among the
    newest `window` pushes only: a home page must not read the whole log for someone who may see
    little of it. They are read a chunk at a time, newest first, so a page that fills early reads
    a chunk, not the window. Pushes by digest (an index's images, signatures) are left out. Only
    what a push's columns say (repository, tag, who, when), which everyone who may pull the
    repository sees in the audit log too."""
    visible = None if Actor.of(identity).admin else PullFilter(services.store, identity, services.rules)
    found: list[TagPush] = []
    before: int | None = None
    for read in range(0, window, _RECENT_CHUNK):
        chunk, before = await services.store.recent_tag_pushes(min(_RECENT_CHUNK, window - read), before)
        if visible is not None:
            await visible.prefetch(push.repository for push in chunk)  # a chunk's namespaces in a few statements
        for push in chunk:
            if visible is None or await visible.allows(push.repository):
                found.append(push)
                if len(found) == limit:
                    return found
        if before is None:
            break
    return found
