"""An UPDATE whose count is read counts the rows it matched, on SQLite and on MariaDB alike.

MariaDB reports rows changed unless the client asks for rows found: writing the values a row
already holds (the same PATCH twice within one second) used to read as "no such row" there.
"""

from __future__ import annotations

import pytest

from gateway.store import ManifestRow, Store, UploadState, Webhook, WebhookFailure


async def test_setting_a_user_flag_or_password_to_what_it_is_finds_the_user(store: Store) -> None:
    await store.create_user("bob", "hash")
    for _ in range(2):
        assert await store.set_user_disabled("bob", True)
        assert await store.set_user_admin("bob", True)
        assert await store.set_user_password("bob", "hash")
    assert not await store.set_user_disabled("nobody", True)
    assert not await store.set_user_admin("nobody", True)


async def test_updating_a_webhook_to_what_it_is_finds_it(store: Store) -> None:
    hook = Webhook("ci", "http://127.0.0.1:9/hook", "a-secret", {"X-A": "b"}, ("push",), "", "api", 0)
    await store.add_webhook(hook, 1)
    assert await store.update_webhook(hook)
    assert await store.update_webhook(hook)
    assert not await store.update_webhook(Webhook("other", hook.url, hook.secret, {}, ("push",), "", "api", 0))


async def test_extending_a_lease_to_the_same_moment_keeps_it(store: Store) -> None:
    await store.add_webhook(Webhook("ci", "http://127.0.0.1:9/hook", "a-secret", {}, ("push",), "", "api", 0), 1)
    assert await store.lease_webhook("ci", "me", 1000, 5000)
    assert await store.lease_webhook("ci", "me", 1000, 5000), "the holder extends its own lease, even to the same moment"
    assert not await store.lease_webhook("ci", "you", 1000, 5000)


async def test_recording_the_same_webhook_failure_twice_keeps_one_row(store: Store) -> None:
    await store.add_webhook(Webhook("ci", "http://127.0.0.1:9/hook", "a-secret", {}, ("push",), "", "api", 0), 1)
    failure = WebhookFailure("ci", 7, "failed", 3, "connection refused", 100)
    await store.record_webhook_failure(failure)
    await store.record_webhook_failure(failure)  # an INSERT here would be a duplicate key
    assert await store.webhook_failures("ci") == [failure]


async def test_saving_the_same_upload_state_twice_keeps_one_row(store: Store) -> None:
    upload = UploadState("u-1", "alice/app", 10, "state")
    await store.save_upload(upload)
    await store.save_upload(upload)
    assert await store.get_upload("u-1", "alice/app") == upload


@pytest.mark.parametrize("tag", ["v1", ""])
async def test_indexing_the_same_push_twice_in_one_second(store: Store, tag: str) -> None:
    manifest = ManifestRow("alice/app", "sha256:" + "ab" * 32, "application/vnd.oci.image.manifest.v1+json", 10, None, None, None, 100)
    await store.index_push(manifest, tag)
    await store.index_push(manifest, tag)
    [repository] = await store.list_repositories()
    assert repository.name == "alice/app" and repository.last_push_at == 100
    assert [t.tag for t in await store.list_tags("alice/app")] == ([tag] if tag else [])


async def test_setting_a_namespace_or_member_to_what_it_is_finds_it(store: Store) -> None:
    await store.create_team("web")
    assert await store.set_member("web", "alice", "owner")
    assert not await store.set_member("web", "alice", "owner")
    assert await store.get_role("web", "alice") == "owner"
    await store.create_namespace("web", "web", "private")
    assert await store.update_namespace("web", visibility="private")
    assert await store.update_namespace("web", visibility="private")
