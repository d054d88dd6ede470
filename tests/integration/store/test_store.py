"""The store interface behaves the same on SQLite and on a real MariaDB."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from gateway.events.model import new_event_id
from gateway.store import AppToken, Conflict, NewEvent, SettledBatch, Store, open_store
from gateway.store.schema import MIGRATIONS


async def test_migrations_apply_once_and_are_recorded(store: Store) -> None:
    assert await store.applied_migrations() == {version for version, _ in MIGRATIONS}
    assert await store.migrate() == []


async def test_users_create_conflict_disable_and_page(store: Store) -> None:
    for name in ("carol", "alice", "bob"):
        await store.create_user(name, "hash-" + name, admin=name == "alice")
    with pytest.raises(Conflict):
        await store.create_user("bob", "other")
    assert [u.name for u in await store.list_users()] == ["alice", "bob", "carol"]
    assert [u.name for u in await store.list_users(after="alice", limit=1)] == ["bob"]
    assert await store.set_user_disabled("bob", True)
    assert not await store.set_user_disabled("nobody", True)
    assert await store.disabled_usernames() == frozenset({"bob"})
    alice = await store.get_user("alice")
    assert alice is not None and alice.admin and not alice.disabled and alice.password_hash == "hash-alice"


async def test_refresh_tokens_are_bound_and_revocable(store: Store) -> None:
    await store.create_user("alice", "h")
    await store.add_refresh_token("a" * 64, "alice", "registry.test", "docker")
    found = await store.get_refresh_token("a" * 64)
    assert found is not None and found.username == "alice" and found.service == "registry.test" and found.revoked_at is None
    assert await store.revoke_refresh_tokens("alice") == 1
    revoked = await store.get_refresh_token("a" * 64)
    assert revoked is not None and revoked.revoked_at is not None
    assert await store.get_refresh_token("b" * 64) is None


async def test_teams_members_and_roles(store: Store) -> None:
    await store.create_user("alice", "h")
    await store.create_team("devs")
    with pytest.raises(Conflict):
        await store.create_team("devs")
    assert await store.set_member("devs", "alice", "viewer") is True
    assert await store.set_member("devs", "alice", "owner") is False
    assert await store.get_role("devs", "alice") == "owner"
    assert [(m.username, m.role) for m in await store.list_members("devs")] == [("alice", "owner")]
    assert await store.remove_member("devs", "alice")
    assert await store.get_role("devs", "alice") is None


async def test_namespaces_update_and_team_deletion_detaches_them(store: Store) -> None:
    await store.create_team("devs")
    await store.create_namespace("web", "devs", "private")
    with pytest.raises(Conflict):
        await store.create_namespace("web", None, "public")
    assert await store.update_namespace("web", visibility="public")
    namespace = await store.get_namespace("web")
    assert namespace is not None and namespace.visibility == "public" and namespace.team == "devs"
    assert not await store.update_namespace("nope", visibility="public")
    assert await store.delete_team("devs")
    detached = await store.get_namespace("web")
    assert detached is not None and detached.team is None


async def test_app_tokens_store_hashes_and_revocation_is_remembered(store: Store) -> None:
    await store.create_user("alice", "h")
    token = AppToken("0123456789ab", "alice", "ci", "f" * 64, ("web", "api"), ("pull", "push"), None, int(time.time()), None)
    await store.create_app_token(token)
    with pytest.raises(Conflict):
        await store.create_app_token(AppToken("ba9876543210", "alice", "ci", "e" * 64, (), ("pull",), None, 0, None))
    found = await store.get_app_token("0123456789ab")
    assert found is not None and found.namespaces == ("web", "api") and found.actions == ("pull", "push")
    assert [t.name for t in await store.list_app_tokens("alice")] == ["ci"]
    assert await store.revoke_app_token("alice", "ci") == "0123456789ab"
    assert await store.get_app_token("0123456789ab") is None
    assert "0123456789ab" in await store.revoked_app_token_ids(since=0)
    assert await store.revoke_app_token("alice", "ci") is None


def _pull(created_at_ms: int) -> NewEvent:
    return NewEvent(
        id=new_event_id(), created_at_ms=created_at_ms, action="pull", repository="alice/app", tag="v1",
        digest="sha256:" + "0" * 64, actor="alice", body={"created": created_at_ms},
    )


async def test_webhooks_read_events_only_up_to_the_first_unsettled_one(store: Store) -> None:
    """Batches of pulls from several processes commit out of created_at order: a reader that
    skipped an unsettled event and moved its cursor past it would never deliver it."""
    start = await store.max_event_seq()
    # one worker's batch (seen at 1000-1004), then another's that began earlier (seen at 900-904)
    await store.add_events([_pull(1000 + i) for i in range(5)])
    await store.add_events([_pull(900 + i) for i in range(5)])
    settled = await store.events_after(start, settled_before_ms=1003, limit=100)
    assert [e.created_at_ms for e in settled] == [1000, 1001, 1002], "not the settled 900s of the later batch"
    assert settled[0].body == {"created": 1000}
    everything = await store.events_after(start, settled_before_ms=2000, limit=100)
    assert [e.created_at_ms for e in everything] == [1000, 1001, 1002, 1003, 1004, 900, 901, 902, 903, 904]
    assert [e.seq for e in everything] == sorted(e.seq for e in everything)
    assert len(await store.events_after(start, settled_before_ms=2000, limit=4)) == 4


async def test_a_settled_batch_is_what_events_after_reads_in_seq_order(store: Store) -> None:
    """SQLite builds the batch in one statement (gateway/store/sqlite.py): same events, same
    order, same stop at the first unsettled one as reading the rows."""
    start = await store.max_event_seq()
    await store.add_events([_pull(1000 + i) for i in range(5)])
    await store.add_events([_pull(900 + i) for i in range(5)])
    for settled_before, limit in ((1003, 100), (2000, 100), (2000, 4), (1000, 100)):
        events = await store.events_after(start, settled_before_ms=settled_before, limit=limit)
        batch = await store.settled_batch(start, settled_before_ms=settled_before, limit=limit)
        assert batch.seqs == tuple(e.seq for e in events), (settled_before, limit)
        assert batch.bodies_json == ",".join(e.body_json for e in events)
    everything = await store.settled_batch(start, settled_before_ms=2000, limit=100)
    created = [body["created"] for body in json.loads(f"[{everything.bodies_json}]")]
    assert created == [1000, 1001, 1002, 1003, 1004, 900, 901, 902, 903, 904]
    assert await store.settled_batch(everything.seqs[-1], settled_before_ms=2000, limit=100) == SettledBatch((), "")


async def test_a_write_queued_behind_a_read_does_not_fail_while_another_process_writes(store: Store, database_url: str) -> None:
    """One process reads and writes concurrently on its connection while another keeps committing.
    On SQLite, a write run between a read's first row and the rest finds the connection in a stale
    read transaction and is refused at once ("database is locked"), whatever busy_timeout says."""
    other = await open_store(database_url)
    start = await store.max_event_seq()
    await store.add_events([_pull(i) for i in range(300)])
    stop = asyncio.Event()

    async def keep_writing() -> None:
        while not stop.is_set():
            await other.add_events([_pull(1)])

    writer = asyncio.create_task(keep_writing())
    try:
        for _ in range(100):
            read, written = await asyncio.gather(store.events_after(start, 10**15, 300), store.add_events([_pull(2)]))
            assert len(read) == 300 and written == 1
    finally:
        stop.set()
        await writer
        await other.close()
