"""/api/v1/events (the audit log, filtered by permission) and /api/v1/webhooks (endpoints,
failures, recent deliveries and redelivery), against real gateways and a receiver that fails on purpose."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from gateway.store import Webhook, open_store
from tests.integration.api.conftest import Api, no_traceback_since
from tests.support.client import bearer
from tests.support.images import push_blob, push_image
from tests.support.processes import Gateway, free_port
from tests.support.receiver import Receiver
from tests.support.waiting import eventually, eventually_async

FAST = {
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL": "0.1",
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_MAX": "0.2",
    "GATEWAY_WEBHOOK_DELIVERY_MAX_ATTEMPTS": "2",
    "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT": "1",
}


async def push(session: aiohttp.ClientSession, gateway: Gateway, user: str, repo: str, tag: str) -> str:
    headers = await bearer(session, gateway.url, gateway.host, user, f"repository:{repo}:pull,push")
    return await push_image(session, gateway.url, repo, tag, headers, seed=tag)


async def recorded(admin: Api, path: str, count: int) -> list[dict[str, Any]]:
    """The events at `path` once there are `count` of them (no more are coming in these tests)."""

    async def items() -> list[dict[str, Any]]:
        return list((await admin.ok("GET", path))["items"])

    found = await eventually_async(items, lambda events: len(events) >= count, timeout=30)
    assert len(found) == count, found
    return found


async def test_events_are_filtered_by_permission_and_query_and_paged(session: aiohttp.ClientSession, make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway()
    admin = Api(session, gateway, Gateway.ADMIN)
    for tag in ("a", "b", "c"):
        await push(session, gateway, "alice", "alice/logged", tag)
    await push(session, gateway, "bob", "bob/secret", "x")
    headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/logged:pull")
    async with session.get(f"{gateway.url}/v2/alice/logged/manifests/a", headers={**headers, "Accept": "application/vnd.oci.image.manifest.v1+json"}) as response:
        assert response.status == 200
    await recorded(admin, "/events?action=pull", 1)  # pulls are written in batches, about once a second

    everything = await admin.ok("GET", "/events?limit=100")
    assert [(e["action"], e["target"]["repository"]) for e in everything["items"]] == [
        ("pull", "alice/logged"), ("push", "bob/secret"), ("push", "alice/logged"), ("push", "alice/logged"), ("push", "alice/logged"),
    ]
    alice = admin.as_("alice", "alice-secret-pw")
    seen = await alice.ok("GET", "/events")
    assert {e["target"]["repository"] for e in seen["items"]} == {"alice/logged"}, "bob's private repository stays hidden"
    pushes = await alice.ok("GET", "/events?action=push&limit=2")
    assert [e["target"]["tag"] for e in pushes["items"]] == ["c", "b"] and pushes["next"]
    rest = await alice.ok("GET", f"/events?action=push&limit=2&after={pushes['next']}")
    assert [e["target"]["tag"] for e in rest["items"]] == ["a"] and rest["next"] is None
    by_actor = await admin.ok("GET", "/events?actor=bob")
    assert [e["actor"]["name"] for e in by_actor["items"]] == ["bob"]
    first_push = everything["items"][-1]["timestamp"]
    later = await admin.ok("GET", f"/events?since={first_push}&action=push")
    assert len(later["items"]) == 4
    assert (await admin.ok("GET", "/events?until=2000-01-01T00:00:00Z"))["items"] == []
    for bad in ("/events?since=yesterday", "/events?action=explode", "/events?after=x1", "/events?since=2026-01-01T00:00:00"):
        assert (await admin.get(bad)).status == 400, bad
    no_traceback_since(gateway, 0)


async def test_an_event_carries_the_request_id_the_gateway_answered_and_logged(
    session: aiohttp.ClientSession, make_gateway: Callable[..., Gateway]
) -> None:
    """The event's request.id is the gateway's request id (the answer's X-Request-Id, the access
    line's id=): a sane id the client sent, else a new one, never an arbitrary client header."""
    gateway = make_gateway()
    admin = Api(session, gateway, Gateway.ADMIN)
    await push(session, gateway, "alice", "alice/traced", "v1")
    headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/traced:pull")
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    answered = []
    for sent in ("ci-trace-0001", None, "not a sane id!"):
        extra = {"X-Request-Id": sent} if sent else {}
        async with session.get(f"{gateway.url}/v2/alice/traced/manifests/v1", headers={**headers, **accept, **extra}) as response:
            assert response.status == 200
            answered.append(response.headers["X-Request-Id"])
    assert answered[0] == "ci-trace-0001" and answered[2] != "not a sane id!"

    pulls = await recorded(admin, "/events?action=pull&limit=10", 3)  # written in batches, about once a second
    assert [e["request"]["id"] for e in reversed(pulls)] == answered
    push_line = f'id={(await admin.ok("GET", "/events?action=push"))["items"][0]["request"]["id"]} '
    assert push_line in await eventually(gateway.log_text, lambda text: push_line in text), "the push's id is its access line's"
    no_traceback_since(gateway, 0)


async def test_webhooks_are_managed_and_failed_deliveries_can_be_sent_again(
    session: aiohttp.ClientSession, make_gateway: Callable[..., Gateway]
) -> None:
    receiver = Receiver(free_port())
    configured = [{"name": "from-settings", "url": "http://127.0.0.1:9/never", "secret": "settings-secret"}]
    gateway = make_gateway({"GATEWAY_WEBHOOKS": json.dumps(configured), **FAST})
    admin = Api(session, gateway, Gateway.ADMIN)
    created = await admin.ok("POST", "/webhooks", {"name": "ci", "url": receiver.url, "secret": "a-secret-value",
                                                   "headers": {"X-Token": "t"}, "actions": ["push"]}, 201)
    assert created["headers"] == ["X-Token"] and "secret" not in created and created["source"] == "api"
    assert [h["name"] for h in (await admin.ok("GET", "/webhooks"))["items"]] == ["ci", "from-settings"]
    assert (await admin.patch("/webhooks/from-settings", {"actions": ["pull"]})).status == 409
    assert (await admin.delete("/webhooks/from-settings")).status == 409
    assert (await admin.post("/webhooks", {"name": "ci", "url": receiver.url, "secret": "a-secret-value"})).status == 409
    assert (await admin.post("/webhooks", {"name": "bad", "url": "ftp://x", "secret": "a-secret-value"})).status == 400
    assert (await admin.as_("alice", "alice-secret-pw").get("/webhooks")).status == 403
    changed = await admin.ok("PATCH", "/webhooks/ci", {"repository_pattern": "alice/*"})
    assert changed["repository_pattern"] == "alice/*" and changed["actions"] == ["push"]

    await push(session, gateway, "alice", "alice/hooked", "v1")  # the receiver is down: fails twice, then gives up
    failures = await recorded(admin, "/webhooks/ci/failures", 1)
    assert [f["state"] for f in failures] == ["failed"] and failures[0]["attempts"] == 2
    await receiver.start()
    try:
        assert (await admin.ok("POST", "/webhooks/ci/redeliver", {}, 202))["requeued"] == 1
        await eventually(lambda: receiver.deliveries, bool, timeout=30)
        assert [e["target"]["repository"] for d in receiver.deliveries for e in d.events] == ["alice/hooked"]
        assert receiver.deliveries[0].headers["X-Token"] == "t"
        assert (await admin.ok("GET", "/webhooks/ci/failures"))["items"] == []

        sent, failed = await recorded(admin, "/webhooks/ci/deliveries", 2)  # newest first, successes too
        assert (sent["status_code"], sent["error"], sent["redelivery"], sent["attempts"]) == (200, None, True, 1)
        assert (failed["status_code"], failed["attempts"], failed["redelivery"]) == (None, 2, False)
        assert failed["error"].startswith("ClientConnector") and failed["event_seqs"] == sent["event_seqs"]
        first = await admin.ok("GET", "/webhooks/ci/deliveries?limit=1")
        assert [d["id"] for d in first["items"]] == [sent["id"]] and first["next"] == str(sent["id"])
        rest = await admin.ok("GET", f"/webhooks/ci/deliveries?limit=1&after={first['next']}")
        assert [d["id"] for d in rest["items"]] == [failed["id"]] and rest["next"] is None
        assert (await admin.as_("alice", "alice-secret-pw").post(f"/webhooks/ci/deliveries/{failed['id']}/redeliver", {})).status == 403
        assert (await admin.post("/webhooks/ci/deliveries/x1/redeliver", {})).status == 400
        assert (await admin.post(f"/webhooks/ci/deliveries/{sent['id'] + 1000}/redeliver", {})).status == 404
        assert (await admin.ok("POST", f"/webhooks/ci/deliveries/{failed['id']}/redeliver", {}, 202))["requeued"] == 1
        await eventually(lambda: receiver.deliveries, lambda sent_so_far: len(sent_so_far) == 2, timeout=30)
        assert receiver.deliveries[1].events == receiver.deliveries[0].events
    finally:
        await receiver.stop()
    await admin.ok("DELETE", "/webhooks/ci", expected=204)
    assert (await admin.get("/webhooks/ci")).status == 404
    no_traceback_since(gateway, 0)


async def test_a_webhook_header_that_would_break_a_delivery_is_refused(admin: Api) -> None:
    receiver_url = "http://127.0.0.1:9/hook"
    for headers, words in [
        ({"X-Bad": "a\r\nInjected: 1"}, "visible ASCII"),
        ({"X-Bad": "nul\x00"}, "visible ASCII"),
        ({"Bad Name": "x"}, "not an HTTP token"),
        ({"X-Gateway-Signature": "sha256=forged"}, "set by the gateway"),
        ({"content-type": "text/plain"}, "set by the gateway"),
    ]:
        reply = await admin.post("/webhooks", {"name": "crlf", "url": receiver_url, "secret": "a-secret-value", "headers": headers})
        assert reply.status == 400 and words in reply.message, (headers, reply.status, reply.message)
    reply = await admin.post("/webhooks", {"name": "spaced", "url": "http://a b/hook", "secret": "a-secret-value"})
    assert reply.status == 400 and "url" in reply.message
    assert [h["name"] for h in (await admin.ok("GET", "/webhooks"))["items"] if h["name"] in ("crlf", "spaced")] == []


async def test_one_endpoint_that_cannot_be_sent_to_does_not_stop_the_others(
    session: aiohttp.ClientSession, make_gateway: Callable[..., Gateway]
) -> None:
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        gateway = make_gateway(FAST)
        store = await open_store(f"sqlite:///{gateway.workdir / 'data' / 'gateway.db'}")
        try:  # as an older version, which did not check headers, could have stored it
            await store.add_webhook(
                Webhook("broken", receiver.url, "a-secret-value", {"X-Bad": "a\r\nInjected: 1"}, (), "", "api", 0), int(time.time())
            )
        finally:
            await store.close()
        admin = Api(session, gateway, Gateway.ADMIN)
        await admin.ok("POST", "/webhooks", {"name": "good", "url": receiver.url, "secret": "a-secret-value"}, 201)
        await push(session, gateway, "alice", "alice/first", "v1")
        await eventually(lambda: receiver.deliveries, bool, timeout=30)
        await eventually_async(lambda: admin.ok("GET", "/webhooks/broken/failures"), lambda page: bool(page["items"]), timeout=30)
        await push(session, gateway, "alice", "alice/second", "v1")  # the rounds go on after the failure

        def delivered() -> set[str]:
            return {e["target"]["repository"] for d in receiver.deliveries for e in d.events}

        await eventually(delivered, lambda repositories: "alice/second" in repositories, timeout=30)
        assert {e["target"]["repository"] for d in receiver.deliveries for e in d.events} == {"alice/first", "alice/second"}
        failures = (await admin.ok("GET", "/webhooks/broken/failures"))["items"]
        assert failures and all(f["state"] == "failed" and "ValueError" in f["last_error"] for f in failures), failures
        assert "webhook broken: delivery attempt 1 of 2 failed: ValueError" in gateway.log_text()
        no_traceback_since(gateway, 0)
    finally:
        await receiver.stop()


async def test_events_shown_to_a_user_hide_other_users_addresses_and_sources_they_may_not_pull(
    session: aiohttp.ClientSession, make_gateway: Callable[..., Gateway]
) -> None:
    gateway = make_gateway()
    admin = Api(session, gateway, Gateway.ADMIN)
    bob, alice = admin.as_("bob", "bob-secret-pw"), admin.as_("alice", "alice-secret-pw")
    await bob.ok("POST", "/teams", {"name": "crew"}, 201)
    await bob.ok("POST", "/namespaces", {"name": "crew--ns", "team": "crew", "visibility": "protected"}, 201)
    bob_agent, alice_agent = {"User-Agent": "bob-agent/1.0"}, {"User-Agent": "alice-agent/1.0"}
    source = await bearer(session, gateway.url, gateway.host, "bob", "repository:bob/secret:pull,push")
    digest = await push_blob(session, gateway.url, "bob/secret", b"bob's private layer", source)
    both = await bearer(session, gateway.url, gateway.host, "bob", "repository:crew--ns/app:pull,push", "repository:bob/secret:pull")
    url = f"{gateway.url}/v2/crew--ns/app/blobs/uploads/?mount={digest}&from=bob/secret"
    async with session.post(url, headers={**both, **bob_agent}) as response:
        assert response.status == 201
    own = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/own:pull,push")
    await push_image(session, gateway.url, "alice/own", "v1", {**own, **alice_agent}, seed="own")

    def mount_of(events: list[dict[str, Any]]) -> dict[str, Any]:
        [mount] = [e for e in events if e["action"] == "mount"]
        return mount

    as_admin = mount_of((await admin.ok("GET", "/events?limit=100"))["items"])
    assert as_admin["target"]["fromRepository"] == "bob/secret" and as_admin["request"]["useragent"] == "bob-agent/1.0"
    assert as_admin["request"]["addr"] and as_admin["source"]["addr"]
    assert mount_of((await bob.ok("GET", "/events?limit=100"))["items"])["target"]["fromRepository"] == "bob/secret"

    seen = (await alice.ok("GET", "/events?limit=100"))["items"]
    mount = mount_of(seen)
    assert mount["target"]["repository"] == "crew--ns/app" and "fromRepository" not in mount["target"]
    assert mount["request"]["addr"] == "" and mount["request"]["useragent"] == "" and mount["source"]["addr"] == ""
    assert "bob/secret" not in json.dumps(seen) and "bob-agent" not in json.dumps(seen)
    [her_push] = [e for e in seen if e["action"] == "push"]
    assert her_push["request"]["useragent"] == "alice-agent/1.0" and her_push["request"]["addr"] == "127.0.0.1"
    assert her_push["source"]["addr"] == ""
    no_traceback_since(gateway, 0)
