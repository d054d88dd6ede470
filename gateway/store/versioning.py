"""Which writes change what a cached decision was based on, and the row that counts them.

The token endpoint's grant cache, the manifest cache's tags and the store's namespace lookups
(gateway/store/lookup_cache.py) are kept only while the store's data version is unchanged. Both
dialects bump `change_version.version` in the same transaction as every write that can alter a
decision (`SQLBase.execute`): who a user is (users), what they belong to (teams, team_members,
namespaces), what their tokens may do (app_tokens, their revocations, deleted subjects, reserved
names), where a tag points (tags, manifests, and a tag deletion under way, whose manifest is
gone from the registry until its other tags are put back), and what the write gates let through
(a garbage collection's window in maintenance_runs, namespace_quotas;
gateway/registry/gate_reads.py keeps them per version; a namespace's usage, which every push
writes, is not among them). On MariaDB every process reads the row a few times a second
(`MySQLStore.poll_version`); on SQLite each process reads it at once whenever the WAL index
shows that anyone committed anything (`SQLiteStore.data_version`). Writes of bookkeeping alone
(events, sessions, when a token was last used, a tag last pulled) do not bump it: they would end
every cached decision for nothing.

Two rows count them. Row 1 moves with every such write; row 2, the access version, only with
writes that decide who may do what (`ACCESS_TABLES`), which bump both rows. The token
endpoint's grants and the namespace lookups depend on nothing else, so they are kept per access
version and last across pushes, which write tags and manifests all day; the tag and gate caches
are kept per row 1. A database before migration 28 has no row 2: nothing is kept per access
version there (`access_version()` is None), and the bump of both rows updates row 1 alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

# Who a user is, what they belong to, what their tokens may do: all a token grant is decided on.
ACCESS_TABLES = frozenset({
    "users", "teams", "team_members", "namespaces", "app_tokens", "revoked_app_tokens",
    "revoked_subjects", "namespace_tombstones",
})
DECISION_TABLES = ACCESS_TABLES | {"tags", "manifests", "tag_deletions", "maintenance_runs", "namespace_quotas"}

# What a write changes (`decision_change`): nothing cached, content decisions, or access too.
NO_CHANGE, CONTENT, ACCESS = 0, 1, 2

# Columns whose change alone decides nothing.
_BOOKKEEPING_COLUMNS = frozenset({"last_used_at", "last_pull_at"})

DATA_ROW, ACCESS_ROW = 1, 2
BUMP = {
    CONTENT: "UPDATE change_version SET version = version + 1 WHERE id = 1",
    ACCESS: "UPDATE change_version SET version = version + 1 WHERE id IN (1, 2)",  # in key order, as every writer
}
READ = "SELECT id, version FROM change_version WHERE id IN (1, 2)"

_WRITE = re.compile(
    r"^\s*(?:(?:INSERT|REPLACE)(?:\s+IGNORE)?\s+INTO|UPDATE(?:\s+IGNORE)?|DELETE\s+FROM)\s+`?(\w+)`?", re.IGNORECASE
)
_SET = re.compile(r"\bSET\s+(.*?)(?:\bWHERE\b|$)", re.IGNORECASE | re.DOTALL)
_ASSIGNED = re.compile(r"(\w+)\s*=")


@functools.lru_cache(maxsize=1024)
def decision_change(sql: str) -> int:
    """What this statement can change of what cached decisions were based on: NO_CHANGE, but for
    writes to the decision tables that set more than bookkeeping columns; ACCESS for those of
    `ACCESS_TABLES`, CONTENT for the others."""
    match = _WRITE.match(sql)
    table = match.group(1).lower() if match is not None else ""
    if table not in DECISION_TABLES:
        return NO_CHANGE
    kind = ACCESS if table in ACCESS_TABLES else CONTENT
    if not sql.lstrip()[:6].upper().startswith("UPDATE"):
        return kind
    assignments = _SET.search(sql)
    if assignments is None:
        return kind
    columns = {c.lower() for c in _ASSIGNED.findall(assignments.group(1))}
    return kind if not columns or not columns <= _BOOKKEEPING_COLUMNS else NO_CHANGE


def versions_read(rows: Sequence[Mapping[str, object]]) -> tuple[int, int | None] | None:
    """Row 1 and row 2 as `READ` returned them: None without row 1, no access version without row 2."""
    found = {int(str(row["id"])): int(str(row["version"])) for row in rows}
    if DATA_ROW not in found:
        return None
    return found[DATA_ROW], found.get(ACCESS_ROW)
