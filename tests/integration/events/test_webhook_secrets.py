"""Webhook URLs, secrets and header values sealed at rest in a real gateway's store (SQLite and
MariaDB): deliveries still carry the right signature and header, a row an older version wrote
in plain text is sealed at start-up, and `portus-gateway secrets rotate` seals every row again."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import stat
from collections.abc import Callable
from pathlib import Path

import aiohttp

from gateway.auth.sealing import Sealer, read_keys
from gateway.store import Webhook, open_store
from tests.integration.api.conftest import Api, no_traceback_since
from tests.support.client import bearer
from tests.support.images import push_image
from tests.support.processes import Gateway, free_port
from tests.support.receiver import Receiver

API_SECRET = "api-hook-secret-5b21"
API_HEADER = "api-header-credential-9c4d"
OLD_SECRET = "plain-old-secret-0e7f"
OLD_HEADER = "plain-old-header-71aa"
FAST = {"GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL": "0.1", "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT": "2"}


async def _raw_rows(database_url: str) -> str:
    store = await open_store(database_url)  # no secrets key: the row as it is stored
    try:
        return json.dumps(await store.fetch_all("SELECT * FROM webhooks"))
    finally:
        await store.close()


async def _add_plain_row(database_url: str, url: str) -> None:
    store = await open_store(database_url)  # as a version before sealing wrote it
    try:
        await store.migrate()
        await store.add_webhook(Webhook("old", url, OLD_SECRET, {"X-Old": OLD_HEADER}, ("push",), "", "api", 0), 0)
    finally:
        await store.close()


async def _push_and_receive(gateway: Gateway, receiver: Receiver, repo: str) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push")
        await push_image(session, gateway.url, repo, "v1", headers, seed=repo)
    for _ in range(80):
        urls = {d.headers.get("X-Old") or d.headers.get("X-Api") for d in receiver.deliveries if repo in d.body.decode()}
        if len(urls) == 2:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"deliveries of {repo}: {receiver.deliveries}")


def _check_deliveries(receiver: Receiver, repo: str) -> None:
    for delivery in receiver.deliveries:
        if repo not in delivery.body.decode():
            continue
        secret = OLD_SECRET if "X-Old" in delivery.headers else API_SECRET
        expected = "sha256=" + hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        assert delivery.headers["X-Gateway-Signature"] == expected
        assert delivery.headers.get("X-Old", OLD_HEADER) == OLD_HEADER and delivery.headers.get("X-Api", API_HEADER) == API_HEADER


async def test_stored_webhook_secrets_are_sealed_and_deliveries_are_still_signed(
    database_url: str, make_gateway: Callable[..., Gateway]
) -> None:
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        await _add_plain_row(database_url, receiver.url)
        assert OLD_SECRET in await _raw_rows(database_url)
        gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url, **FAST})
        async with aiohttp.ClientSession() as session:
            admin = Api(session, gateway, Gateway.ADMIN)
            await admin.ok("POST", "/webhooks", {"name": "api", "url": receiver.url, "secret": API_SECRET,
                                                 "headers": {"X-Api": API_HEADER}, "actions": ["push"]}, 201)
            listed = json.dumps(await admin.ok("GET", "/webhooks"))
            assert API_SECRET not in listed and API_HEADER not in listed and OLD_SECRET not in listed
        raw = await _raw_rows(database_url)
        for plain in (API_SECRET, API_HEADER, OLD_SECRET, OLD_HEADER, receiver.url):
            assert plain not in raw, f"{plain} stored in plain text"
        await _push_and_receive(gateway, receiver, "alice/sealed")
        _check_deliveries(receiver, "alice/sealed")

        before = await _raw_rows(database_url)
        rotated = gateway.cli("secrets", "rotate")
        assert "2 webhook(s) sealed again" in rotated.stdout, rotated.stdout
        after = await _raw_rows(database_url)
        assert after != before and API_SECRET not in after and OLD_SECRET not in after
        gateway.stop()
        gateway.start()
        await _push_and_receive(gateway, receiver, "alice/rotated")
        _check_deliveries(receiver, "alice/rotated")
        no_traceback_since(gateway, 0)
    finally:
        await receiver.stop()


async def test_rotating_with_drop_previous_leaves_only_the_new_key_and_every_row_readable(tmp_path: Path) -> None:
    gateway = Gateway(tmp_path, "http://127.0.0.1:9")  # its CLI only
    key_file, database_url = tmp_path / "data" / "secrets.key", f"sqlite:///{tmp_path / 'data' / 'gateway.db'}"
    await _add_plain_row(database_url, "https://hooks.example.com/x")
    first = gateway.cli("secrets", "rotate")
    assert "1 webhook(s) sealed again" in first.stdout and len(read_keys(key_file)) == 1, "no previous key to keep yet"
    original = read_keys(key_file)[0]
    gateway.cli("secrets", "rotate")
    assert read_keys(key_file)[1:] == [original], "the previous key stays for instances not yet restarted"
    gateway.cli("secrets", "rotate", "--drop-previous")
    [only] = read_keys(key_file)
    assert only != original and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    store = await open_store(database_url)
    try:
        store.use_sealer(Sealer([only]))
        hook = await store.get_webhook("old")
        assert hook is not None and hook.secret == OLD_SECRET and hook.headers == {"X-Old": OLD_HEADER}
    finally:
        await store.close()
    key_file.write_text("not a key\n")
    broken = gateway.cli("secrets", "rotate", check=False)
    assert broken.returncode == 1 and "secrets.key" in broken.stderr and len(broken.stderr.strip().splitlines()) == 1
