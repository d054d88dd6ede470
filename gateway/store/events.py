"""Queries on the event log: what happened to which repository, in the order it was stored.
The repository index (gateway/store/index.py) and webhook delivery (gateway/store/webhooks.py)
are built from it but kept apart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import Any

from gateway.store.records import Conflict, CountMark, EventRow, NewEvent, SettledBatch, TagPush
from gateway.store.sql import Row, SQLBase

# Rows per multi-row INSERT: 8 parameters each stays far below every driver's limit.
_BATCH = 100
# Events removed by one DELETE of a prune (a few milliseconds of the database each).
PRUNE_CHUNK = 2_000
# Events stepped over by one statement while finding where the newest `keep` begin.
_COUNT_STEP = 50_000
# A time window's events are read by the hour (migration 25) for windows up to this many hours,
# newest bound first (migration 26).
_HOUR_MS = 3_600_000  # the hour of migration 25's index
_WINDOW_HOURS = 7 * 24


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


def _mark_holds(mark: CountMark, newest: int, keep: int, slack: int) -> bool:
    """Whether the log, by what `mark` says of it, holds at most `keep + slack` events up to `newest`."""
    return bool(mark.top) and mark.at_most + max(0, newest - mark.top) <= keep + slack


class EventQueries(SQLBase):
    async def add_event(self, event: NewEvent) -> bool:
        """Store one event; False when an event with this id is already there (de-duplication)."""
        try:
            await self.again_on_deadlock(partial(self._insert_events, [event]))
        except Conflict:
            return False
        return True

    async def add_events(self, events: Sequence[NewEvent]) -> int:
        """Store many events in one statement per `_BATCH` (pull events, flushed each second);
        a batch with an id already stored is retried one by one. Returns how many were added."""
        added = 0
        for start in range(0, len(events), _BATCH):
            batch = events[start:start + _BATCH]
            try:
                await self.again_on_deadlock(partial(self._insert_events, batch))
                added += len(batch)
            except Conflict:
                for event in batch:
                    added += await self.add_event(event)
        return added

    async def _insert_events(self, batch: Sequence[NewEvent]) -> None:
        """`batch` in one INSERT, and its hours' bounds raised (migration 26) in the same
        transaction: a window page never sees the events without bounds that cover them."""
        params: dict[str, Any] = {}
        values = []
        for i, event in enumerate(batch):
            values.append(f"(:id{i}, :at{i}, :action{i}, :repository{i}, :tag{i}, :digest{i}, :actor{i}, :body{i})")
            params.update(_event_params(event, str(i)))
        async with self.transaction():
            await self.execute(
                "INSERT INTO events (id, created_at, action, repository, tag, digest, actor, body) VALUES "
                + ", ".join(values), params,
            )
            await self._raise_hour_bounds(batch)

    async def _raise_hour_bounds(self, batch: Sequence[NewEvent]) -> None:
        """Widen the bounds (migration 26) of the hours of the `batch` just inserted to cover each
        hour's seqs among them, in the current transaction. Hours in ascending order: every
        writer locks their rows in that order, so two instances never deadlock on them.

        SQLite writes one statement at a time: the newest `len(batch)` seqs are the batch's, read
        by the upsert itself, by the key (NOT INDEXED: by its group order, SQLite would scan the
        whole hour index for them). MariaDB: LAST_INSERT_ID() is the batch's first seq (one
        event's own), and the hours from there on are read by a plain SELECT (which sees this
        transaction's rows; others' commits it sees only widen a bound). Not by the upsert:
        InnoDB reads the SELECT of an INSERT with shared locks, the end of the events' key
        included, and every other insert of events would wait for this commit."""
        if self.dialect == "sqlite":
            await self.execute(
                "INSERT INTO event_hours (hour, low_seq, top_seq)"
                " SELECT created_at / 3600000, MIN(seq), MAX(seq) FROM events NOT INDEXED"
                " WHERE seq > (SELECT MAX(seq) FROM events) - :count GROUP BY created_at / 3600000 ORDER BY 1"
                " ON CONFLICT (hour) DO UPDATE SET low_seq = MIN(low_seq, excluded.low_seq),"
                " top_seq = MAX(top_seq, excluded.top_seq)",
                {"count": len(batch)},
            )
            return
        widen = " ON DUPLICATE KEY UPDATE low_seq = LEAST(low_seq, VALUES(low_seq)), top_seq = GREATEST(top_seq, VALUES(top_seq))"
        if len(batch) == 1:
            await self.execute(
                "INSERT INTO event_hours (hour, low_seq, top_seq)"
                f" VALUES (:at DIV 3600000, LAST_INSERT_ID(), LAST_INSERT_ID()){widen}",
                {"at": batch[0].created_at_ms},
            )
            return
        rows = await self.fetch_all(
            "SELECT created_hour AS hour, MIN(seq) AS low, MAX(seq) AS top FROM events"
            " WHERE seq >= LAST_INSERT_ID() GROUP BY created_hour ORDER BY created_hour"
        )
        params: dict[str, Any] = {}
        for i, row in enumerate(rows):
            params.update({f"h{i}": int(row["hour"]), f"l{i}": int(row["low"]), f"t{i}": int(row["top"])})
        values = ", ".join(f"(:h{i}, :l{i}, :t{i})" for i in range(len(rows)))
        await self.execute(f"INSERT INTO event_hours (hour, low_seq, top_seq) VALUES {values}{widen}", params)

    async def recent_tag_pushes(self, limit: int, before_seq: int | None = None) -> tuple[list[TagPush], int | None]:
        """Pushes of a tag, newest first, among the newest `limit` pushes older than `before_seq`
        (by the action index; pushes by digest count towards `limit` but are left out), and the
        oldest seq read to go on before (None when the log holds no more)."""
        params: dict[str, object] = {"limit": limit}
        older = ""
        if before_seq is not None:
            older, params["before"] = " AND seq < :before", before_seq
        # The index named: without it MariaDB reads `action = 'push'` as a ref from the newest push
        # and filters `seq < :before` row by row, every chunk read before this one again.
        rows = await self.fetch_all(
            f"SELECT seq, repository, tag, actor, created_at FROM {self.through('events', 'events_by_action')}"
            f" WHERE action = 'push'{older} ORDER BY seq DESC LIMIT :limit",
            params,
        )
        pushes = [
            TagPush(int(r["seq"]), r["repository"], r["tag"], r["actor"], int(r["created_at"])) for r in rows if r["tag"]
        ]
        return pushes, int(rows[-1]["seq"]) if len(rows) == limit else None

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
        where = " AND ".join(clauses)
        if until_ms is not None and repository is None and action is None and actor is None:
            if since_ms is not None and 0 <= since_ms <= until_ms < since_ms + _WINDOW_HOURS * _HOUR_MS:
                return await self._events_by_seq(await self._window_seqs(since_ms, until_ms, before_seq, limit))
            # A long window, or one open at its start: its seqs from the time index alone (a
            # narrow entry each), then the page's rows by their key. Ordered by `seq + 0`, which
            # no index holds: by `seq`, MariaDB (with statistics) walked the primary key from the
            # newest event for its order, a minute for a day five months back at ten million.
            seqs = await self.fetch_all(f"SELECT seq FROM events WHERE {where} ORDER BY seq + 0 DESC LIMIT :limit", params)
            return await self._events_by_seq([int(r["seq"]) for r in seqs])
        rows = await self.fetch_all(f"SELECT * FROM events WHERE {where} ORDER BY seq DESC LIMIT :limit", params)
        return [_event(r) for r in rows]

    async def _window_seqs(self, since_ms: int, until_ms: int, before_seq: int | None, limit: int) -> list[int]:
        """The newest `limit` seqs below `before_seq` of the events with `created_at` in
        [since_ms, until_ms], newest first: exactly what `ORDER BY seq DESC LIMIT` over the window
        gives, read a page at a time instead of the whole window.

        Every event of the window is in one of its hours' ranges of `events_by_hour`, in seq
        order there. Each hour's bounds (migration 26: at most its lowest seq, at least its
        newest) come in one statement; hours are read highest bound first, each up to `limit`
        keys newer than the page's oldest so far, until no hour left can hold a newer one. An
        hour whose lowest seq is not below `before_seq` holds nothing for the page. An event
        written long after its time (an import, a late batch) lies in its own hour, whose bound
        it raised: no order of `created_at` by seq is assumed. Events mostly come in time order,
        so the hour holding the window's end fills the page and one or two hours are read. A
        bound above the hour's seqs (events deleted since) costs a read, never a wrong page."""
        first, last = since_ms // _HOUR_MS, until_ms // _HOUR_MS
        bounds: dict[str, object] = {"since": since_ms, "until": until_ms}
        below = ""
        if before_seq is not None:
            bounds["before"] = before_seq
            below = " AND seq < :before"
        of_hour = "created_at / 3600000" if self.dialect == "sqlite" else "created_hour"  # as migration 25 indexes it
        in_hour = (
            f"SELECT seq FROM {self.through('events', 'events_by_hour')}"
            f" WHERE {of_hour} = :hour{below} AND created_at >= :since AND created_at <= :until"
        )
        tops: list[tuple[int, int]] = []
        for row in await self.fetch_all(
            "SELECT hour, low_seq, top_seq FROM event_hours WHERE hour >= :first AND hour <= :last",
            {"first": first, "last": last},
        ):
            top = int(row["top_seq"])
            if before_seq is not None:
                if int(row["low_seq"]) >= before_seq:
                    continue
                top = min(top, before_seq - 1)
            tops.append((top, int(row["hour"])))
        tops.sort(reverse=True)
        found: list[int] = []
        for top, hour in tops:
            floor = found[limit - 1] if len(found) >= limit else None
            if floor is not None and top <= floor:
                break  # this hour, and every later one in `tops`, holds nothing newer than the page
            newer = "" if floor is None else " AND seq > :floor"
            rows = await self.fetch_all(
                f"{in_hour}{newer} ORDER BY seq DESC LIMIT :limit",
                {**bounds, "hour": hour, "limit": limit, **({} if floor is None else {"floor": floor})},
            )
            found = sorted([*found, *(int(r["seq"]) for r in rows)], reverse=True)[:limit]
        return found

    async def _events_by_seq(self, seqs: Sequence[int]) -> list[EventRow]:
        """The events with these seqs, newest first."""
        if not seqs:
            return []
        names = {f"s{i}": s for i, s in enumerate(seqs)}
        placeholders = ", ".join(f":{n}" for n in names)
        rows = await self.fetch_all(f"SELECT * FROM events WHERE seq IN ({placeholders}) ORDER BY seq DESC", names)
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

    async def prune_events(
        self, older_than_ms: int | None, keep: int | None, *, slack: int = 0, chunk: int = PRUNE_CHUNK,
        mark: CountMark | None = None,
    ) -> int:
        """Remove the events older than `older_than_ms`, then all but the newest `keep` (when
        more than `keep + slack` may be there). Every statement reads or removes at most a few
        thousand rows, by an index, so a prune of millions (retention just turned on) never holds
        the database for long: other statements run in between."""
        removed = 0
        if older_than_ms is not None:
            while True:
                rows = await self.fetch_all(
                    "SELECT seq FROM events WHERE created_at < :before ORDER BY created_at LIMIT :chunk",
                    {"before": older_than_ms, "chunk": chunk},
                )
                if rows:
                    seqs = {f"s{i}": int(r["seq"]) for i, r in enumerate(rows)}
                    listed = ", ".join(f":{name}" for name in seqs)
                    removed += await self.execute(f"DELETE FROM events WHERE seq IN ({listed})", seqs)
                if len(rows) < chunk:
                    break
            # The bounds of hours wholly before the cut: no event of theirs is left. (An event
            # of such an hour written during this prune, a late import's, keeps no bound until
            # its next write there: it is past retention and goes with the next prune.)
            await self.execute("DELETE FROM event_hours WHERE hour < :hour", {"hour": older_than_ms // _HOUR_MS})
        if keep is not None:
            mark = mark or CountMark()
            cut, walked = await self._count_cut(keep, slack, mark)
            while cut is not None:
                row = await self.fetch_one(
                    "SELECT seq FROM events WHERE seq <= :cut ORDER BY seq LIMIT 1 OFFSET :skip", {"cut": cut, "skip": chunk - 1}
                )
                upper = cut if row is None else int(row["seq"])
                removed += await self.execute("DELETE FROM events WHERE seq <= :upper", {"upper": upper})
                if upper == cut:
                    break
            if walked:  # what the walk found to remove is gone: tell every process
                await self.execute(
                    "UPDATE event_count_mark SET top_seq = :top, at_most = :at_most WHERE id = 1 AND top_seq < :top",
                    {"top": mark.top, "at_most": mark.at_most},
                )
        return removed

    def _event_keys(self) -> str:
        """The events read through `events_by_seq`, their keys alone (a narrow entry each). Named
        in the statement: both planners otherwise walk the table itself for a range of its key,
        reading every row whole (12 s for a million on MariaDB, against 0.4 s)."""
        return self.through("events", "events_by_seq")

    async def _count_cut(self, keep: int, slack: int, mark: CountMark) -> tuple[int | None, bool]:
        """The newest seq to remove so that `keep` events remain (None when nothing is to go), and
        whether the newest keys were walked to find it.

        MIN and MAX of the key first (two statements: SQLite reads one of them from the key
        alone, not both): the log holds at most MAX - MIN + 1 events, and when that is within
        `keep + slack`, nothing is walked. Otherwise the newest `keep` rows are stepped over
        `_COUNT_STEP` at a time (what `ORDER BY seq DESC OFFSET keep` does, in statements short
        enough to let others run between them). `mark` remembers the last walk: at most `keep`
        events up to its newest seq, so until more than `slack` new seqs follow, no walk is
        needed even where gaps in the key make MAX - MIN say otherwise. The store keeps the
        latest walk's mark too (migration 30, written by `prune_events` once what the walk
        found to remove is gone), so a process whose own mark is older reads that one first."""
        top = await self.fetch_one("SELECT MAX(seq) AS seq FROM events")
        bottom = await self.fetch_one("SELECT MIN(seq) AS seq FROM events")
        if top is None or bottom is None or top["seq"] is None or int(top["seq"]) - int(bottom["seq"]) + 1 <= keep + slack:
            return None, False
        newest = int(top["seq"])
        if _mark_holds(mark, newest, keep, slack):
            return None, False  # gaps in the key (MariaDB's bulk inserts leave them) would walk every time
        stored = await self.fetch_one("SELECT top_seq, at_most FROM event_count_mark WHERE id = 1")
        if stored is not None and int(stored["top_seq"]) > mark.top:  # another process walked since
            mark.top, mark.at_most = int(stored["top_seq"]), int(stored["at_most"])
            if _mark_holds(mark, newest, keep, slack):
                return None, False
        mark.top, mark.at_most = newest, keep  # after this walk, at most `keep` remain up to `newest`
        below, counted = newest + 1, 0
        while counted < keep:
            step = min(_COUNT_STEP, keep - counted)
            row = await self.fetch_one(
                f"SELECT seq FROM {self._event_keys()} WHERE seq < :below ORDER BY seq DESC LIMIT 1 OFFSET :skip",
                {"below": below, "skip": step - 1},
            )
            if row is None:
                return None, True  # no more than `keep` events after all
            below, counted = int(row["seq"]), counted + step
        row = await self.fetch_one("SELECT MAX(seq) AS seq FROM events WHERE seq < :below", {"below": below})
        return (None if row is None or row["seq"] is None else int(row["seq"])), True
