"""The processes a benchmark run measures, all on free loopback ports under one work directory.

- `registry`: distribution 2.8 without auth on a loopback port (the "direct" side of the blob
  and skopeo figures);
- `upstream`: the same registry on the *same storage*, on a Unix socket: the gateway's upstream,
  as `scripts/run` sets it up;
- `portus`: a second distribution 2.8 on the *same storage* doing its own token auth with the
  gateway's certificate (the Portus-style deployment the manifest figures compare against), so
  both sides serve the very same manifests and answer the very same tokens;
- `gateway` (and, for the webhook figure, `hooked`: the same gateway with a webhook delivering
  every event to a receiver in this process), both reading blob bodies from the registry's
  storage directory (`upstream.storage_dir`), as `scripts/run` sets them up. `upstream_socket=False`
  puts them on the TCP `registry` instead.

On MariaDB (`databases` given) `gateway` and `hooked` each get a database of their own, and
`peers` are further instances of `gateway` on its database (each with its own data dir, the same
signing key and secrets key), as several instances behind one address run.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from gateway.auth.credentials import DEFAULT_COST
from gateway.config import load_settings
from tests.support.deployment import TokenAuthRegistry
from tests.support.processes import REPO_ROOT, Gateway, Registry, free_port

SERVICE = "registry.bench.test"
ISSUER = "bench.test"
USER = ("alice", "alice-bench-password")
TOOLS = ("docker-registry", "skopeo", "wrk", "hey", "curl")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


class HookReceiver:
    """Accepts webhook deliveries and counts the events (the consumer of the `hooked` gateway)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.events = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        # Counted, not parsed: parsing cost this process (on the same two cores as the gateway it
        # measures) about 5 us an event, 2-3 % of the machine during the webhook runs, a cost
        # of the consumer and not of the gateway. Events are compact JSON with one "action" key
        # each, and inside a JSON string that sequence would have its quotes escaped.
        body = await request.read()
        self.events += body.count(b'"action":')
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Stack:
    workdir: Path
    workers: int = 1
    with_hooked: bool = True
    upstream_socket: bool = True
    databases: Callable[[str], str] | None = None  # a fresh GATEWAY_DATABASE_URL by name; None: SQLite
    instances: int = 1
    registry: Registry | None = None
    upstream: Registry | None = None
    portus: TokenAuthRegistry | None = None
    gateway: Gateway | None = None
    hooked: Gateway | None = None
    receiver: HookReceiver | None = None
    peers: list[Gateway] = field(default_factory=list)
    key_dir: Path = field(init=False)

    def _gateway_env(self, data: str) -> dict[str, str]:
        return {
            "GATEWAY_SERVICE": SERVICE, "GATEWAY_ISSUER": ISSUER, "GATEWAY_TOKEN_TTL": "7200",
            "GATEWAY_TOKEN_KEY_FILE": str(self.key_dir / "token.key"),
            "GATEWAY_TOKEN_CERT_FILE": str(self.key_dir / "token.crt"),
            "GATEWAY_SECRETS_KEY_FILE": str(self.key_dir / "secrets.key"),  # instances on one database share it
            "GATEWAY_SERVER_WORKERS": str(self.workers),
            "GATEWAY_DATA_DIR": str(self.workdir / data),
            "GATEWAY_AUTH_PASSWORD_COST": str(DEFAULT_COST),  # measure what production pays
            **({"GATEWAY_UPSTREAM_STORAGE_DIR": str(self.registry.store)} if self.registry else {}),
            **({"GATEWAY_UPSTREAM_SOCKET": str(self.upstream.socket)} if self.upstream and self.upstream.socket else {}),
        }

    async def start(self) -> Stack:
        self.key_dir = self.workdir / "pki"
        subprocess.run(  # noqa: ASYNC221 - once, before anything is measured
            [sys.executable, "-m", "gateway", "keys", "generate", "--out", str(self.key_dir), "--type", "ec"],
            check=True, capture_output=True, cwd=REPO_ROOT, timeout=60,
        )
        self.registry = Registry(self.workdir / "registry").start()
        self.registry.store.mkdir(exist_ok=True)
        if self.upstream_socket:
            self.upstream = Registry(
                self.workdir / "upstream", socket=self.workdir / "upstream" / "registry.sock", root=self.registry.store
            ).start()
        gateway_port = free_port()
        portus_dir = self.workdir / "portus"
        portus_dir.mkdir(parents=True)
        (portus_dir / "store").symlink_to(self.registry.store)
        self.portus = TokenAuthRegistry(
            portus_dir, realm=f"http://127.0.0.1:{gateway_port}/v2/token", service=SERVICE, issuer=ISSUER,
            rootcertbundle=self.key_dir / "token.crt",
        ).start()
        shared = self._database("gateway")
        self.gateway = self._new_gateway("gateway", gateway_port, shared)
        for index in range(2, self.instances + 1):
            self.peers.append(self._new_gateway(f"gateway{index}", 0, shared, add_user=False))
        if self.with_hooked:
            self.receiver = HookReceiver()
            await self.receiver.start()
            hook = [{"name": "bench", "url": self.receiver.url, "secret": "bench-webhook-secret"}]
            self.hooked = self._new_gateway("hooked", 0, {**self._database("hooked"), "GATEWAY_WEBHOOKS": json.dumps(hook)})
        return self

    def _database(self, name: str) -> dict[str, str]:
        return {"GATEWAY_DATABASE_URL": self.databases(name)} if self.databases is not None else {}

    def _new_gateway(self, name: str, port: int, extra: dict[str, str], *, add_user: bool = True) -> Gateway:
        gateway = Gateway(self.workdir / name, self.registry.url if self.registry else "", port=port)
        gateway.env = {**self._gateway_env(f"{name}/data"), **extra}
        if add_user:
            gateway.add_user(*USER)
        return gateway.start()

    @property
    def store(self) -> str:
        return "sqlite" if self.databases is None else "mariadb"

    @property
    def database_url(self) -> str:
        """The store `gateway` and its peers share, for the bench to write to as another instance would."""
        assert self.gateway is not None
        return load_settings(self.gateway.env).effective_database_url

    @property
    def instances_started(self) -> list[Gateway]:
        """`gateway` and its peers: the instances sharing its store."""
        return [g for g in (self.gateway, *self.peers) if g is not None]

    async def stop(self) -> None:
        for process in (self.hooked, *self.peers, self.gateway, self.portus, self.upstream, self.registry):
            if process is not None:
                process.stop()
        if self.receiver is not None:
            await self.receiver.stop()

    @property
    def upstream_name(self) -> str:
        """Which registry process the gateway forwards to."""
        return "upstream" if self.upstream is not None else "registry"

    def pid(self, name: str = "gateway") -> int:
        return pid_of(getattr(self, name))


def pid_of(process: Gateway | Registry | None) -> int:
    assert process is not None and process.process is not None
    return int(process.process.pid)


async def fetch_token(session: aiohttp.ClientSession, gateway_url: str, *scopes: str, user: tuple[str, str] = USER) -> str:
    params = [("service", SERVICE)] + [("scope", s) for s in scopes]
    headers = {"Authorization": aiohttp.encode_basic_auth(*user)}
    async with session.get(f"{gateway_url}/v2/token", params=params, headers=headers) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"token request failed: {response.status} {body}")
        return str(body["token"])


async def warm_logins(gateway_url: str, user: tuple[str, str] = USER, connections: int = 8) -> None:
    """Token requests on fresh connections, so every worker has checked the password lately:
    figures about moving images leave the cold password check to the token figures."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(fetch_token(session, gateway_url, "registry:catalog:*", user=user) for _ in range(connections)))
