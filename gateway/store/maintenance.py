"""Queries on maintenance runs (blob garbage collection, tag retention) and retention policies.

A run is one row per kind that every instance reads: taking it is one atomic UPDATE that
succeeds only while no live run holds it, so two instances (or the CLI and a schedule) never
run the same kind at once. The holder extends `lease_until` while it works; a holder that dies
lets the lease run out, and with it the write window of a garbage collection.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.sql import Row, SQLBase, now

# The kinds of run, and the phases a row goes through (a run's own phases are its service's).
GC, RETENTION = "gc", "retention"
DRAINING, COLLECTING, MEASURING, DONE, FAILED = "draining", "collecting", "measuring", "done", "failed"


@dataclass(frozen=True)
class MaintenanceRun:
    """The state of one kind of run, as the API, the UI and the write gate read it."""

    kind: str
    run_id: str | None
    holder: str | None
    requested_by: str | None
    dry_run: bool
    phase: str
    progress: str | None
    write_window: bool
    lease_until: int
    started_at: int | None
    finished_at: int | None
    result: str | None

    def live(self, at: int) -> bool:
        """A run holds the row now (its holder renewed the lease in time)."""
        return self.run_id is not None and self.finished_at is None and self.lease_until >= at

    def refuses_writes(self, at: int) -> bool:
        return self.write_window and self.live(at)

    def shown_phase(self, at: int) -> str | None:
        """The phase to show: None before any run, `interrupted` for a run whose holder died."""
        if self.run_id is None:
            return None
        return "interrupted" if self.finished_at is None and not self.live(at) else self.phase


@dataclass(frozen=True)
class RetentionPolicyRow:
    namespace: str
    repository_pattern: str
    keep_last: int
    keep_pulled_days: int | None
    keep_matching: str | None
    drop_matching: str | None
    min_age_hours: int | None
    updated_by: str
    updated_at: int


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _run(r: Row) -> MaintenanceRun:
    return MaintenanceRun(
        r["kind"], r["run_id"], r["holder"], r["requested_by"], bool(r["dry_run"]), r["phase"], r["progress"],
        bool(r["write_window"]), int(r["lease_until"]), _optional_int(r["started_at"]), _optional_int(r["finished_at"]),
        r["result"],
    )


def _policy(r: Row) -> RetentionPolicyRow:
    return RetentionPolicyRow(
        r["namespace"], r["repository_pattern"], int(r["keep_last"]), _optional_int(r["keep_pulled_days"]),
        r["keep_matching"], r["drop_matching"], _optional_int(r["min_age_hours"]), r["updated_by"], int(r["updated_at"]),
    )


_POLICY_COLUMNS = ("keep_last", "keep_pulled_days", "keep_matching", "drop_matching", "min_age_hours", "updated_by", "updated_at")


class MaintenanceQueries(SQLBase):
    async def maintenance_run(self, kind: str) -> MaintenanceRun | None:
        row = await self.fetch_one("SELECT * FROM maintenance_runs WHERE kind = :kind", {"kind": kind})
        return None if row is None else _run(row)

    async def take_maintenance(
        self, kind: str, run_id: str, holder: str, requested_by: str, *, dry_run: bool, write_window: bool,
        phase: str, lease_seconds: int, not_started_since: int | None = None,
    ) -> bool:
        """Start a run of `kind` unless a live one holds the row; `not_started_since`: only if no
        run started at or after that moment (a schedule's slot, taken by one instance only)."""
        at = now()
        since = "" if not_started_since is None else " AND (started_at IS NULL OR started_at < :since)"
        taken = await self.execute(
            "UPDATE maintenance_runs SET run_id = :run_id, holder = :holder, requested_by = :by, dry_run = :dry_run,"
            " phase = :phase, progress = NULL, write_window = :window, lease_until = :until, started_at = :at,"
            " finished_at = NULL, result = NULL"
            " WHERE kind = :kind AND (run_id IS NULL OR finished_at IS NOT NULL OR lease_until < :at)" + since,
            {
                "kind": kind, "run_id": run_id, "holder": holder, "by": requested_by, "dry_run": int(dry_run),
                "phase": phase, "window": int(write_window), "until": at + lease_seconds, "at": at,
                "since": not_started_since or 0,
            },
        )
        return taken == 1

    async def renew_maintenance(
        self, kind: str, run_id: str, phase: str, progress: str | None, lease_seconds: int, *, write_window: bool
    ) -> bool:
        """Note the phase and progress and extend the lease; False when the run lost the row."""
        renewed = await self.execute(
            "UPDATE maintenance_runs SET phase = :phase, progress = :progress, write_window = :window,"
            " lease_until = :until WHERE kind = :kind AND run_id = :run_id AND finished_at IS NULL",
            {
                "kind": kind, "run_id": run_id, "phase": phase, "progress": (progress or "")[:1024] or None,
                "window": int(write_window), "until": now() + lease_seconds,
            },
        )
        return renewed == 1

    async def finish_maintenance(self, kind: str, run_id: str, phase: str, result: str) -> None:
        """End the run (and its write window) with its outcome, kept until the next run."""
        await self.execute(
            "UPDATE maintenance_runs SET phase = :phase, result = :result, write_window = 0, finished_at = :at,"
            " progress = NULL WHERE kind = :kind AND run_id = :run_id",
            {"kind": kind, "run_id": run_id, "phase": phase, "result": result, "at": now()},
        )

    async def active_uploads(self, since: int) -> int:
        """Upload sessions that moved at or after `since`: pushes still running."""
        row = await self.fetch_one("SELECT COUNT(*) AS n FROM uploads WHERE updated_at >= :since", {"since": since})
        return int(row["n"]) if row else 0

    async def put_retention_policy(self, policy: RetentionPolicyRow) -> None:
        params = {
            "namespace": policy.namespace, "repository_pattern": policy.repository_pattern, "keep_last": policy.keep_last,
            "keep_pulled_days": policy.keep_pulled_days, "keep_matching": policy.keep_matching,
            "drop_matching": policy.drop_matching, "min_age_hours": policy.min_age_hours,
            "updated_by": policy.updated_by, "updated_at": policy.updated_at,
        }
        await self.execute(
            self.upsert("retention_policies", ("namespace", "repository_pattern"), _POLICY_COLUMNS, _POLICY_COLUMNS), params
        )

    async def delete_retention_policy(self, namespace: str, repository_pattern: str) -> int:
        return await self.execute(
            "DELETE FROM retention_policies WHERE namespace = :namespace AND repository_pattern = :pattern",
            {"namespace": namespace, "pattern": repository_pattern},
        )

    async def retention_policies(self, namespace: str | None = None) -> list[RetentionPolicyRow]:
        """The policies of one namespace, or of all, by namespace and pattern."""
        where = "" if namespace is None else " WHERE namespace = :namespace"
        rows = await self.fetch_all(
            f"SELECT * FROM retention_policies{where} ORDER BY namespace, repository_pattern", {"namespace": namespace or ""}
        )
        return [_policy(r) for r in rows]

    async def pulled_digests_since(self, repository: str, since: int) -> set[str]:
        """The digests of `repository` pulled at or after `since`, by the audit log's pull events."""
        rows = await self.fetch_all(
            "SELECT DISTINCT digest FROM events WHERE repository = :repository AND action = 'pull'"
            " AND created_at >= :since AND digest IS NOT NULL",
            {"repository": repository, "since": since},
        )
        return {str(r["digest"]) for r in rows}
