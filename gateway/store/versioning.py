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
"""

from __future__ import annotations

import functools
import re

DECISION_TABLES = frozenset({
    "users", "teams", "team_members", "namespaces", "app_tokens", "revoked_app_tokens",
    "revoked_subjects", "namespace_tombstones", "tags", "manifests", "tag_deletions", "maintenance_runs",
    "namespace_quotas",
})

# Columns whose change alone decides nothing.
_BOOKKEEPING_COLUMNS = frozenset({"last_used_at", "last_pull_at"})

BUMP = "UPDATE change_version SET version = version + 1 WHERE id = 1"
READ = "SELECT version FROM change_version WHERE id = 1"

_WRITE = re.compile(
    r"^\s*(?:(?:INSERT|REPLACE)(?:\s+IGNORE)?\s+INTO|UPDATE(?:\s+IGNORE)?|DELETE\s+FROM)\s+`?(\w+)`?", re.IGNORECASE
)
_SET = re.compile(r"\bSET\s+(.*?)(?:\bWHERE\b|$)", re.IGNORECASE | re.DOTALL)
_ASSIGNED = re.compile(r"(\w+)\s*=")


@functools.lru_cache(maxsize=1024)
def changes_decisions(sql: str) -> bool:
    """Can this statement change what a cached decision was based on? Only writes to the
    decision tables, and of those not an UPDATE that sets bookkeeping columns alone."""
    match = _WRITE.match(sql)
    if match is None or match.group(1).lower() not in DECISION_TABLES:
        return False
    if not sql.lstrip()[:6].upper().startswith("UPDATE"):
        return True
    assignments = _SET.search(sql)
    if assignments is None:
        return True
    columns = {c.lower() for c in _ASSIGNED.findall(assignments.group(1))}
    return not columns or not columns <= _BOOKKEEPING_COLUMNS
