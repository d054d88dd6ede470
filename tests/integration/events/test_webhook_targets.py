"""Webhooks are not sent to loopback, private or link-local addresses unless the operator allows
it: refused when created with such an address (API and settings) and, for names, after DNS
resolution at delivery time, with the reason recorded. URL passwords are never shown back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aiohttp

from gateway.store import Webhook, open_store
from tests.integration.api.conftest import Api, no_traceback_since
from tests.support.client import bearer
from tests.support.images import push_image
from tests.support.processes import Gateway, free_port
from tests.support.receiver import Receiver

DEFAULTS = {  # production's default, not the test suite's
    "GATEWAY_WEBHOOK_DELIVERY_ALLOW_PRIVATE_TARGETS": "false",
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL": "0.1",
    "GATEWAY_WEBHOOK_DELIVERY_MAX_ATTEMPTS": "2",
    "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT": "2",
}


async def test_the_api_refuses_webhook_urls_on_non_public_addresses_by_default(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway(DEFAULTS, add_users=False)
    async with aiohttp.ClientSession() as session:
        admin = Api(session, gateway, Gateway.ADMIN)
        for url in (
            "http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://10.0.0.5/hook",
            "http://192.168.1.1/hook", "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/hook", "http://localhost/hook",
        ):
            reply = await admin.post("/webhooks", {"name": "inside", "url": url, "secret": "a-secret-value"})
            assert reply.status == 400 and "allow_private_targets" in reply.message, (url, reply)
        await admin.ok("POST", "/webhooks", {"name": "outside", "url": "https://93.184.215.14/hook", "secret": "a-secret-value"}, 201)
        reply = await admin.patch("/webhooks/outside", {"url": "http://127.0.0.1/hook"})
        assert reply.status == 400 and "allow_private_targets" in reply.message
        assert [h["name"] for h in (await admin.ok("GET", "/webhooks"))["items"]] == ["outside"]
    no_traceback_since(gateway, 0)


def test_a_configured_webhook_on_a_loopback_address_is_a_bad_setting(tmp_path: Path) -> None:
    hooks = json.dumps([{"name": "inside", "url": "http://127.0.0.1:9/hook", "secret": "a-secret-value"}])
    gateway = Gateway(tmp_path / "unstarted", "http://127.0.0.1:9", {**DEFAULTS, "GATEWAY_WEBHOOKS": hooks})
    result = gateway.cli("config", "show", check=False)
    assert result.returncode == 2
    assert "GATEWAY_WEBHOOKS[0].url" in result.stderr and "allow_private_targets" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    allowed = Gateway(gateway.workdir, gateway.upstream_url, {**gateway.env, "GATEWAY_WEBHOOK_DELIVERY_ALLOW_PRIVATE_TARGETS": "true"})
    assert allowed.cli("config", "show").returncode == 0


async def test_a_name_resolving_to_loopback_is_not_delivered_to_and_the_refusal_is_recorded(
    make_gateway: Callable[..., Gateway],
) -> None:
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        gateway = make_gateway(DEFAULTS)
        store = await open_store(f"sqlite:///{gateway.workdir / 'data' / 'gateway.db'}")
        try:  # as they could have been stored before this check: a name, and an address
            for name, url in (("by-name", f"http://localhost:{receiver.port}/hook"), ("by-address", receiver.url)):
                await store.add_webhook(Webhook(name, url, "a-secret-value", {}, (), "", "api", await store.max_event_seq()), 0)
        finally:
            await store.close()
        async with aiohttp.ClientSession() as session:
            headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/inside:pull,push")
            await push_image(session, gateway.url, "alice/inside", "v1", headers, seed="inside")
            admin = Api(session, gateway, Gateway.ADMIN)
            failures: dict[str, list[dict[str, object]]] = {}
            for _ in range(80):
                failures = {n: (await admin.ok("GET", f"/webhooks/{n}/failures"))["items"] for n in ("by-name", "by-address")}
                if all(failures.values()):
                    break
                await asyncio.sleep(0.25)
        assert receiver.deliveries == [], "nothing reached the loopback receiver"
        [by_name], [by_address] = failures["by-name"], failures["by-address"]
        assert "localhost resolves to non-public addresses only (127.0.0.1" in str(by_name["last_error"]), by_name
        assert "127.0.0.1" in str(by_address["last_error"]) and "allow_private_targets" in str(by_address["last_error"])
        no_traceback_since(gateway, 0)
    finally:
        await receiver.stop()


async def test_a_password_in_a_webhook_url_is_never_shown_back(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway({**DEFAULTS, "GATEWAY_WEBHOOK_DELIVERY_ALLOW_PRIVATE_TARGETS": "true"})
    port = free_port()  # nothing listens: every attempt fails, and its error is recorded and logged
    url = f"http://hookuser:pa55-in-url@127.0.0.1:{port}/hook"
    async with aiohttp.ClientSession() as session:
        admin = Api(session, gateway, Gateway.ADMIN)
        created = await admin.ok("POST", "/webhooks", {"name": "withpw", "url": url, "secret": "a-secret-value"}, 201)
        assert created["url"] == f"http://hookuser:***@127.0.0.1:{port}/hook"
        assert (await admin.ok("GET", "/webhooks/withpw"))["url"] == created["url"]
        assert "pa55-in-url" not in json.dumps(await admin.ok("GET", "/webhooks"))
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/pw:pull,push")
        await push_image(session, gateway.url, "alice/pw", "v1", headers, seed="pw")
        for _ in range(80):
            failures = (await admin.ok("GET", "/webhooks/withpw/failures"))["items"]
            if failures:
                break
            await asyncio.sleep(0.25)
        assert failures and "pa55-in-url" not in json.dumps(failures)
    assert "pa55-in-url" not in gateway.log_text()
    no_traceback_since(gateway, 0)
