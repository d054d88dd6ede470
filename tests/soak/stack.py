"""What the soak runs and breaks: its own MariaDB, registry 2.8, two gateway instances on that one
database (each with its own data dir; the same token key, secrets key and webhook) and a webhook
receiver in this process. Everything listens on free loopback ports under one work directory."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.soak.mariadb import OwnMariaDB
from tests.soak.timed_receiver import TimedReceiver
from tests.support.client import USERS, bearer
from tests.support.images import push_image
from tests.support.processes import REPO_ROOT, Gateway, Registry, free_port

SERVICE = "registry.soak.test"
DATABASE = "portus_soak"
WEBHOOK_SECRET = "soak-webhook-secret"
# Failed deliveries come back quickly, so "reached the receiver at least once" settles within the run.
FAST_RETRIES = {
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL": "0.2",
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_MAX": "1",
    "GATEWAY_WEBHOOK_DELIVERY_MAX_ATTEMPTS": "100",
    "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT": "1",
}


@dataclass
class Stack:
    workdir: Path
    mariadb: OwnMariaDB = field(init=False)
    registry: Registry = field(init=False)
    gateways: dict[str, Gateway] = field(default_factory=dict)
    receiver: TimedReceiver = field(init=False)
    instance_ids: dict[str, str] = field(default_factory=dict)  # an instance's event source id -> its name

    async def start(self) -> Stack:
        self.mariadb = await asyncio.to_thread(OwnMariaDB(self.workdir / "mariadb").install)
        await asyncio.to_thread(self.mariadb.create_database, DATABASE)
        self.registry = await asyncio.to_thread(Registry(self.workdir / "registry").start)
        self.receiver = TimedReceiver(free_port())
        await self.receiver.start()
        keys = self.workdir / "pki"
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "gateway", "keys", "generate", "--out", str(keys), "--type", "ec"],
            check=True, capture_output=True, cwd=REPO_ROOT, timeout=60,
        )
        hooks = [{"name": "soak", "url": self.receiver.url, "secret": WEBHOOK_SECRET}]
        env = {
            "GATEWAY_DATABASE_URL": self.mariadb.url(DATABASE), "GATEWAY_SERVICE": SERVICE,
            "GATEWAY_TOKEN_KEY_FILE": str(keys / "token.key"), "GATEWAY_TOKEN_CERT_FILE": str(keys / "token.crt"),
            "GATEWAY_WEBHOOKS": json.dumps(hooks), "GATEWAY_LOG_FORMAT": "json", **FAST_RETRIES,
        }
        first = Gateway(self.workdir / "gateway-a", self.registry.url, dict(env))
        for name, password in USERS.items():
            await asyncio.to_thread(first.add_user, name, password)
        self.gateways["a"] = await asyncio.to_thread(first.start)
        shared = {"GATEWAY_SECRETS_KEY_FILE": str(first.workdir / "data" / "secrets.key")}
        self.gateways["b"] = await asyncio.to_thread(Gateway(self.workdir / "gateway-b", self.registry.url, {**env, **shared}).start)
        for name in self.gateways:
            await self.learn_instance_id(name)
        return self

    async def learn_instance_id(self, name: str) -> None:
        """Push a probe image through instance `name` and read its event's source id: that id is
        also what the instance writes as the holder of a webhook lease."""
        gateway = self.gateways[name]
        repository = f"alice/soak-probe-{name}-{time.time_ns()}"
        timeout = aiohttp.ClientTimeout(total=30, sock_connect=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            headers = await bearer(session, gateway.url, SERVICE, "alice", f"repository:{repository}:pull,push")
            await push_image(session, gateway.url, repository, "probe", headers, seed=repository)
            admin = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
            params = {"repository": repository, "action": "push"}
            async with session.get(f"{gateway.url}/api/v1/events", params=params, headers=admin) as response:
                response.raise_for_status()
                items = (await response.json())["items"]
        self.instance_ids[items[0]["source"]["instanceID"]] = name

    async def lease_holder(self, within: float) -> str | None:
        """The instance holding the webhook's delivery lease, polled for up to `within` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            holder = await asyncio.to_thread(self._lease_row)
            if holder in self.instance_ids:
                return self.instance_ids[holder]
            await asyncio.sleep(0.05)
        return None

    def _lease_row(self) -> str | None:
        import pymysql

        connection = pymysql.connect(
            host="127.0.0.1", port=self.mariadb.port, user="root", password=self.mariadb.password, database=DATABASE,
            connect_timeout=5, read_timeout=5,
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT leased_by FROM webhooks WHERE lease_until > %s", (int(time.time() * 1000),))
                row = cursor.fetchone()
        finally:
            connection.close()
        return None if row is None else str(row[0])

    async def kill_gateway(self, name: str) -> None:
        await asyncio.to_thread(self.gateways[name].stop, signal.SIGKILL)

    async def start_gateway(self, name: str) -> None:
        await asyncio.to_thread(self.gateways[name].start)

    async def stop_mariadb(self) -> None:
        await asyncio.to_thread(self.mariadb.stop)

    async def start_mariadb(self) -> None:
        await asyncio.to_thread(self.mariadb.start)

    async def stop_registry(self) -> None:
        await asyncio.to_thread(self.registry.stop)

    async def start_registry(self) -> None:
        await asyncio.to_thread(self.registry.start)

    async def stop(self) -> None:
        for gateway in self.gateways.values():
            await asyncio.to_thread(gateway.stop)
        await self.receiver.stop()
        await asyncio.to_thread(self.registry.stop)
        await asyncio.to_thread(self.mariadb.remove)
