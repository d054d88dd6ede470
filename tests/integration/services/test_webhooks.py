"""Webhooks as services: admins only, webhooks from the settings immutable here, and the rules
of the URL, the secret, the headers and the actions."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.services import webhooks
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.services.webhooks import WebhookChanges
from gateway.store import Webhook, WebhookFailure
from tests.integration.services.conftest import ADMIN, ALICE

HOOK = WebhookChanges(url="https://hooks.example.com/in", secret="s3cret-enough", actions=("push",))


async def _configured(services: Services) -> Webhook:
    hook = Webhook("from-settings", "https://hooks.example.com/cfg", "s3cret-enough", {}, (), "", source="config", cursor_seq=0)
    await services.store.add_webhook(hook, 1)
    return hook


async def test_only_admins_manage_webhooks(services: Services) -> None:
    with pytest.raises(Forbidden, match="only admins may create webhooks"):
        await webhooks.create_webhook(services, ALICE, "ci", HOOK)
    await webhooks.create_webhook(services, ADMIN, "ci", HOOK)
    for call in (
        webhooks.list_webhooks(services, ALICE),
        webhooks.get_webhook(services, ALICE, "ci"),
        webhooks.update_webhook(services, ALICE, "ci", WebhookChanges(actions=("pull",))),
        webhooks.delete_webhook(services, ALICE, "ci"),
        webhooks.list_failures(services, ALICE, "ci"),
        webhooks.redeliver(services, ALICE, "ci"),
    ):
        with pytest.raises(Forbidden):
            await call
    assert [h.name for h in await webhooks.list_webhooks(services, ADMIN)] == ["ci"]


async def test_create_keeps_what_is_given_and_starts_at_the_newest_event(services: Services) -> None:
    hook = await webhooks.create_webhook(services, ADMIN, "ci", HOOK)
    assert (hook.url, hook.secret, hook.actions, hook.source, hook.headers) == (HOOK.url, HOOK.secret, ("push",), "api", {})
    assert hook.cursor_seq == await services.store.max_event_seq()
    assert await webhooks.get_webhook(services, ADMIN, "ci") == hook
    with pytest.raises(Conflict, match="already exists"):
        await webhooks.create_webhook(services, ADMIN, "ci", HOOK)


async def test_update_changes_only_the_fields_given(services: Services) -> None:
    await webhooks.create_webhook(services, ADMIN, "ci", HOOK)
    changed = await webhooks.update_webhook(services, ADMIN, "ci", WebhookChanges(headers={"X-Team": "a"}, repository_pattern="team/*"))
    assert (changed.url, changed.secret, changed.actions) == (HOOK.url, HOOK.secret, ("push",))
    assert (changed.headers, changed.repository_pattern) == ({"X-Team": "a"}, "team/*")
    assert await webhooks.get_webhook(services, ADMIN, "ci") == changed


async def test_webhooks_from_the_settings_cannot_be_changed_or_deleted(services: Services) -> None:
    hook = await _configured(services)
    with pytest.raises(Conflict, match="configured in the settings"):
        await webhooks.update_webhook(services, ADMIN, hook.name, WebhookChanges(actions=("pull",)))
    with pytest.raises(Conflict, match="configured in the settings"):
        await webhooks.delete_webhook(services, ADMIN, hook.name)
    assert await webhooks.get_webhook(services, ADMIN, hook.name) == hook


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (WebhookChanges(secret="s3cret-enough"), "field 'url' is required"),
        (WebhookChanges(url="https://hooks.example.com/in"), "field 'secret' is required"),
        (WebhookChanges(url="ftp://hooks.example.com/in", secret="s3cret-enough"), "http:// or https://"),
        (WebhookChanges(url="http://127.0.0.1:9/in", secret="s3cret-enough"), "non-public address"),
        (WebhookChanges(url="https://hooks.example.com/in#x", secret="s3cret-enough"), "fragment"),
        (WebhookChanges(url="https://hooks.example.com/in", secret="short"), "at least 8"),
        (WebhookChanges(url="https://hooks.example.com/in", secret="s" * 256), "longer than 255"),
        (WebhookChanges(url=HOOK.url, secret=HOOK.secret, headers={"Host": "x"}), "set by the gateway"),
        (WebhookChanges(url=HOOK.url, secret=HOOK.secret, headers={"X-A": "a\nb"}), "visible ASCII"),
        (WebhookChanges(url=HOOK.url, secret=HOOK.secret, actions=("push", "tag")), "may only hold push, pull, mount, delete"),
    ],
)
async def test_create_refuses_what_breaks_the_input_rules(services: Services, changes: WebhookChanges, problem: str) -> None:
    with pytest.raises(Invalid, match=problem):
        await webhooks.create_webhook(services, ADMIN, "ci", changes)
    assert await services.store.get_webhook("ci") is None


async def test_update_applies_the_same_rules(services: Services) -> None:
    await webhooks.create_webhook(services, ADMIN, "ci", HOOK)
    with pytest.raises(Invalid, match="at least 8"):
        await webhooks.update_webhook(services, ADMIN, "ci", WebhookChanges(secret="short"))
    with pytest.raises(Invalid, match="non-public address"):
        await webhooks.update_webhook(services, ADMIN, "ci", WebhookChanges(url="http://10.0.0.1/in"))
    assert await webhooks.get_webhook(services, ADMIN, "ci") == await services.store.get_webhook("ci")
    assert (await webhooks.get_webhook(services, ADMIN, "ci")).secret == HOOK.secret


async def test_private_targets_are_taken_when_the_settings_allow_them(services: Services) -> None:
    allowing = dataclasses.replace(services, allow_private_webhooks=True)
    hook = await webhooks.create_webhook(allowing, ADMIN, "local", WebhookChanges(url="http://127.0.0.1:9/in", secret="s3cret-enough"))
    assert hook.url == "http://127.0.0.1:9/in"


async def test_a_bad_name_is_invalid_and_an_unknown_one_not_found(services: Services) -> None:
    with pytest.raises(Invalid):
        await webhooks.create_webhook(services, ADMIN, "-bad name", HOOK)
    with pytest.raises(Invalid):
        await webhooks.get_webhook(services, ADMIN, "../x")
    with pytest.raises(NotFound, match="no such webhook 'nope'"):
        await webhooks.get_webhook(services, ADMIN, "nope")
    with pytest.raises(NotFound):
        await webhooks.delete_webhook(services, ADMIN, "nope")


async def test_failures_are_listed_and_sent_again(services: Services) -> None:
    await webhooks.create_webhook(services, ADMIN, "ci", HOOK)
    await services.store.record_webhook_failure(WebhookFailure("ci", 7, "failed", 3, "answered 500", 1))
    failures = await webhooks.list_failures(services, ADMIN, "ci")
    assert [(f.event_seq, f.state) for f in failures] == [(7, "failed")]
    assert await webhooks.redeliver(services, ADMIN, "ci") == 1
    assert [f.state for f in await webhooks.list_failures(services, ADMIN, "ci")] == ["redeliver"]


async def test_failures_list_in_pages_by_event(services: Services) -> None:
    for name in ("ci", "other"):
        await webhooks.create_webhook(services, ADMIN, name, HOOK)
    for seq in (9, 3, 5):
        await services.store.record_webhook_failure(WebhookFailure("ci", seq, "failed", 1, "answered 500", 1))
    await services.store.record_webhook_failure(WebhookFailure("other", 4, "failed", 1, "answered 500", 1))
    first = await webhooks.list_failures(services, ADMIN, "ci", 0, 2)
    assert [f.event_seq for f in first] == [3, 5]
    assert [f.event_seq for f in await webhooks.list_failures(services, ADMIN, "ci", first[-1].event_seq, 2)] == [9]
    assert await webhooks.list_failures(services, ADMIN, "ci", 9, 2) == []


async def test_deleting_an_api_webhook_removes_it(services: Services) -> None:
    await webhooks.create_webhook(services, ADMIN, "ci", HOOK)
    await webhooks.delete_webhook(services, ADMIN, "ci")
    with pytest.raises(NotFound):
        await webhooks.get_webhook(services, ADMIN, "ci")
