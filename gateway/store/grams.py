"""The trigram index of repository names (migration 27): a search for text of three characters
or more reads the names holding the text's rarest trigram, not every name after its cursor.

`repository_grams` holds each name's distinct trigrams, `gram_counts` how many names hold each.
Both change in the transaction that inserts or deletes the repository's row, after it: a
name's rows are written all together or not at all, and always under the lock of its
repositories row, so they are the truth the counts follow. Every writer touches the trigram
rows in sorted order, so two instances creating or forgetting repositories that share
trigrams wait for each other instead of deadlocking on MariaDB.
"""

from __future__ import annotations

from gateway.store.records import Conflict
from gateway.store.sql import Row, SQLBase

GRAM = 3


def grams(text: str) -> list[str]:
    """The distinct trigrams of `text`, sorted (the order their rows are locked in)."""
    return sorted({text[i:i + GRAM] for i in range(len(text) - GRAM + 1)})


def _listed(prefix: str, values: list[str]) -> tuple[str, dict[str, object]]:
    params: dict[str, object] = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return ", ".join(f":{key}" for key in params), params


async def _claimed(store: SQLBase, gram: str, name: str) -> bool:
    """Whether this inserted the (gram, name) row, not found it there. Not INSERT IGNORE on
    MariaDB (it answers a duplicate with a warning, which the driver fetches and raises as a
    Python warning), nor an upsert's count (with FOUND_ROWS, a row found unchanged counts 1, as
    an inserted one does): a plain INSERT, whose duplicate-key error InnoDB undoes alone, the
    transaction going on."""
    params = {"gram": gram, "name": name}
    insert = "INSERT INTO repository_grams (gram, name) VALUES (:gram, :name)"
    if store.dialect == "sqlite":
        return bool(await store.execute(insert + " ON CONFLICT DO NOTHING", params))
    try:
        await store.execute(insert, params)
    except Conflict:
        return False
    return True


async def index_grams(store: SQLBase, name: str) -> None:
    """Index the trigrams of repository `name`, whose row this transaction has just written
    (inserted, or found by an upsert: a push to a repository already indexed). Claiming the
    first trigram's row tells a new name from an indexed one; only a new name writes the
    others and the counts."""
    wanted = grams(name)
    if not wanted or not await _claimed(store, wanted[0], name):
        return
    if len(wanted) > 1:
        values = ", ".join(f"(:g{i}, :name)" for i in range(1, len(wanted)))
        await store.execute(
            f"INSERT INTO repository_grams (gram, name) VALUES {values}",
            {"name": name, **{f"g{i}": g for i, g in enumerate(wanted) if i}},
        )
    values = ", ".join(f"(:g{i}, 1)" for i in range(len(wanted)))
    add = " ON DUPLICATE KEY UPDATE n = n + 1" if store.dialect == "mariadb" else " ON CONFLICT (gram) DO UPDATE SET n = n + 1"
    await store.execute(f"INSERT INTO gram_counts (gram, n) VALUES {values}{add}", {f"g{i}": g for i, g in enumerate(wanted)})


async def forget_grams(store: SQLBase, name: str) -> None:
    """Drop the trigrams of repository `name`, whose row this transaction has just deleted
    (nothing when it had none). A count left at 0 stays: it answers "no name" as a missing one does."""
    wanted = grams(name)
    if not wanted:
        return
    listed, params = _listed("g", wanted)
    removed = await store.execute(
        f"DELETE FROM repository_grams WHERE gram IN ({listed}) AND name = :name", {**params, "name": name}
    )
    if removed:
        await store.execute(f"UPDATE gram_counts SET n = n - 1 WHERE gram IN ({listed})", params)


async def rarest_gram(store: SQLBase, text: str) -> str | None:
    """The trigram of `text` (3 characters or more) held by the fewest names (the smallest of
    those tied), in one statement; None when some trigram of it no name holds: nothing
    contains the text."""
    wanted = grams(text)
    listed, params = _listed("g", wanted)
    rows = await store.fetch_all(f"SELECT gram, n FROM gram_counts WHERE gram IN ({listed})", params)
    held = [(int(r["n"]), str(r["gram"])) for r in rows if int(r["n"]) > 0]
    if len(held) < len(wanted):
        return None
    return min(held)[1]


async def names_holding(store: SQLBase, gram: str, pattern: str, after: str, limit: int) -> list[Row]:
    """The repositories rows after `after` whose name holds `gram` and matches the LIKE
    `pattern`, by name: a range of the trigram's postings, each joined to its row. The
    postings' primary key and the join's order are named in each dialect's words, so no
    planner walks the repositories instead."""
    if store.dialect == "sqlite":
        joined = "repository_grams AS g INDEXED BY sqlite_autoindex_repository_grams_1 CROSS JOIN repositories AS r"
    else:
        joined = "repository_grams g FORCE INDEX (PRIMARY) STRAIGHT_JOIN repositories r"
    return await store.fetch_all(
        f"SELECT r.* FROM {joined} ON r.name = g.name"
        " WHERE g.gram = :gram AND g.name > :after AND r.name LIKE :pattern ESCAPE '!' ORDER BY g.name LIMIT :limit",
        {"gram": gram, "after": after, "pattern": pattern, "limit": limit},
    )
