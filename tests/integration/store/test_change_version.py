"""The data version every process follows: a row bumped with each write that can change a
decision, so another instance's caches end within one poll on MariaDB (at once on SQLite, which
reads the row again whenever its WAL index shows a commit). Bookkeeping commits (events, pull
times, sessions, when a token was last used) leave it alone on both. Seen through the change
watch, which wakes the revocation view."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import gateway.store.mysql
import gateway.store.sqlite
from gateway.store import AppToken, ManifestRow, NewEvent, PullMark, Store, open_store
from gateway.store.change_watch import ChangeWatch
from tests.support.processes import REPO_ROOT


async def _seen_by(store: Store) -> object:
    await store.poll_version()
    return store.data_version()


def _manifest(digest: str) -> ManifestRow:
    return ManifestRow("web/app", digest, "application/vnd.oci.image.manifest.v1+json", 100, None, None, None, 1000)


async def _world(store: Store) -> None:
    """A user with a token, a team, and web/app:latest naming sha256:aa."""
    await store.create_user("alice", "hash")
    await store.create_user("bob", "hash")
    await store.create_app_token(AppToken("t1", "alice", "ci", "secret-hash", (), ("pull",), None, 0, None))
    await store.create_team("web")
    await store.index_push(_manifest("sha256:aa"), "latest")


async def _bookkeeping(store: Store) -> None:
    """Commits of everything but decisions: an event, pull times, a UI session, a token's use."""
    body = {"action": "pull", "target": {"repository": "web/app", "tag": "latest"}}
    assert await store.add_event(NewEvent("e1", 1000, "pull", "web/app", "latest", "sha256:aa", "alice", body))
    await store.index_pulls([PullMark("web/app", "latest", "", 2000)])
    await store.create_session("session-hash", "alice")
    await store.touch_app_token("t1")
    assert not await store.set_user_disabled("nobody", True)  # matched no row


async def _committed(store: Store) -> None:
    """Assert the bookkeeping is there for `store` to read: the commits happened."""
    assert await store.max_event_seq() >= 1
    assert await store.get_session("session-hash") is not None


DECISIONS: dict[str, Callable[[Store], Awaitable[object]]] = {
    "user-disabled": lambda store: store.set_user_disabled("alice", True),
    "team-member-added": lambda store: store.set_member("web", "bob", "contributor"),
    "tag-moved": lambda store: store.index_push(_manifest("sha256:bb"), "latest"),
    "token-revoked": lambda store: store.revoke_app_token("alice", "ci"),
    "namespace-created": lambda store: store.create_namespace("web", "web", "private"),
}
# Of DECISIONS, those that can change a token grant: they move the access version too.
ACCESS_DECISIONS = frozenset({"user-disabled", "team-member-added", "token-revoked", "namespace-created"})


async def test_a_decision_written_by_one_process_changes_the_version_the_other_sees(two: tuple[Store, Store]) -> None:
    writer, reader = two
    await writer.create_user("alice", "hash")
    before = await _seen_by(reader)
    assert before is not None
    assert await writer.set_user_disabled("alice", True)
    assert await _seen_by(reader) != before


@pytest.mark.parametrize("decision", sorted(DECISIONS))
async def test_each_kind_of_decision_changes_the_version_here_and_in_the_other_store(
    two: tuple[Store, Store], decision: str
) -> None:
    """...and the access version too when it is a change of access, and only then."""
    writer, reader = two
    await _world(writer)
    mine, theirs = await _seen_by(writer), await _seen_by(reader)
    access_mine, access_theirs = writer.access_version(), reader.access_version()
    assert None not in (mine, theirs, access_mine, access_theirs)
    await DECISIONS[decision](writer)
    assert writer.data_version() != mine, "this process's own decision is seen at once"
    assert await _seen_by(reader) != theirs
    moved = decision in ACCESS_DECISIONS
    assert (writer.access_version() != access_mine) is moved
    assert (reader.access_version() != access_theirs) is moved


async def test_bookkeeping_leaves_the_version_alone_here_and_in_the_other_store(two: tuple[Store, Store]) -> None:
    writer, reader = two
    await _world(writer)
    mine, theirs = await _seen_by(writer), await _seen_by(reader)
    await _bookkeeping(writer)
    with pytest.raises(RuntimeError):
        async with writer.transaction():
            await writer.set_user_disabled("alice", True)
            raise RuntimeError("rolled back")
    await _committed(reader)
    assert await _seen_by(writer) == mine
    assert await _seen_by(reader) == theirs
    assert (await writer.get_user("alice")).disabled is False  # type: ignore[union-attr]


_OTHER_PROCESS = """
import asyncio, sys
from tests.integration.store.test_change_version import DECISIONS, _bookkeeping
from gateway.store import open_store

async def main(url: str, what: str) -> None:
    store = await open_store(url)
    try:
        await (_bookkeeping(store) if what == "bookkeeping" else DECISIONS[what](store))
    finally:
        await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def _in_another_process(url: str, what: str) -> None:
    """`what` (bookkeeping, or one of DECISIONS) written by another process, as the CLI or a
    sibling worker would."""
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", _OTHER_PROCESS, url, what],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def test_bookkeeping_by_another_process_leaves_the_version_alone(two: tuple[Store, Store], database_url: str) -> None:
    _, reader = two
    await _world(reader)
    before = await _seen_by(reader)
    await _in_another_process(database_url, "bookkeeping")
    await _committed(reader)
    assert await _seen_by(reader) == before


@pytest.mark.parametrize("decision", sorted(DECISIONS))
async def test_a_decision_by_another_process_changes_the_version(
    two: tuple[Store, Store], database_url: str, decision: str
) -> None:
    """...and the access version too when it is a change of access, and only then."""
    _, reader = two
    await _world(reader)
    before, access_before = await _seen_by(reader), reader.access_version()
    assert access_before is not None
    await _in_another_process(database_url, decision)
    assert await _seen_by(reader) != before
    assert (reader.access_version() != access_before) is (decision in ACCESS_DECISIONS)


async def test_this_process_sees_its_own_change_at_once_without_a_poll(two: tuple[Store, Store]) -> None:
    writer, _ = two
    await writer.poll_version()
    before = writer.data_version()
    await writer.create_team("web")
    assert writer.data_version() != before


async def test_mariadb_vouches_for_nothing_before_a_poll_or_long_after_one(
    on_mariadb: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, reader = on_mariadb
    assert reader.data_version() is None, "no poll yet: caches must not trust anything"
    await reader.poll_version()
    assert reader.data_version() is not None
    monkeypatch.setattr(gateway.store.mysql, "FRESH_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    assert reader.data_version() is None, "a poll too old to vouch for now turns caching off"


async def test_sqlite_vouches_for_nothing_when_it_cannot_read_the_header_or_the_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        await store.migrate()
        version = store.data_version()
        assert version is not None

        def unreadable(fd: int, size: int, offset: int) -> bytes:
            raise OSError("injected")

        with monkeypatch.context() as patched:
            patched.setattr(gateway.store.sqlite.os, "pread", unreadable)
            assert store.data_version() is None, "no header read: caches must not trust anything"
        assert store.data_version() == version
        await store.execute("DROP TABLE change_version")  # the header moves, the row is gone
        assert store.data_version() is None, "the row last read must not stand for a commit it did not see"
    finally:
        await store.close()


async def test_without_the_access_row_nothing_is_kept_per_access_version_and_writes_still_count(store: Store) -> None:
    """A database before migration 28 (no row 2), as while the migrations run."""
    await store.execute("DELETE FROM change_version WHERE id = 2")
    await store.poll_version()
    before = store.data_version()
    assert before is not None
    assert store.access_version() is None
    await store.create_user("alice", "hash")
    await store.poll_version()
    assert store.data_version() != before
    assert store.access_version() is None


async def test_the_change_watch_wakes_a_waiter_when_another_process_writes(two: tuple[Store, Store]) -> None:
    writer, reader = two
    watch = ChangeWatch(reader, interval=0.05)
    await watch.poll()
    seen = watch.generation
    assert await watch.changed_since(seen, timeout=0.2) == seen, "nothing changed: the wait times out"
    task = asyncio.create_task(watch.run())
    try:
        waiting = asyncio.create_task(watch.changed_since(seen, timeout=30))
        await writer.create_user("bob", "hash")
        assert await waiting == seen + 1
    finally:
        task.cancel()
