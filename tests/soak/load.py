"""The mixed load: skopeo pushes and pulls of small random images, token bursts and API writes,
spread over both gateway instances until a deadline. Every operation has a deadline of its own."""

from __future__ import annotations

import asyncio
import itertools
import random
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.e2e.clients import client_env, oci_layout_manifest
from tests.soak.records import ApiWrite, Journal, Op, Pushed
from tests.soak.stack import SERVICE, Stack
from tests.support.client import USERS
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway

SKOPEO_TIMEOUT = 60.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15, sock_connect=5)
TOKEN_BURST = 16
PAUSE = {"push": 0.2, "pull": 0.3, "token": 0.5, "api": 0.3}


@dataclass
class Load:
    stack: Stack
    journal: Journal
    workdir: Path
    until: float  # wall clock
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def __post_init__(self) -> None:
        self._counter = itertools.count()
        self._env = client_env(self.workdir / "skopeo")

    def _instance(self) -> tuple[str, Gateway]:
        name = random.choice(sorted(self.stack.gateways))
        return name, self.stack.gateways[name]

    async def run(self, pushers: int = 2) -> None:
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT, connector=aiohttp.TCPConnector(limit=0)) as session:
            workers = [self._loop("push", self._push) for _ in range(pushers)]
            workers += [self._loop("pull", self._pull), self._loop("token", lambda: self._tokens(session))]
            workers.append(self._loop("api", lambda: self._api_write(session)))
            await asyncio.gather(*workers)

    async def _loop(self, kind: str, step: Callable[[], Awaitable[None]]) -> None:
        while time.time() < self.until:
            await step()
            await asyncio.sleep(PAUSE[kind])

    async def _skopeo(self, *args: str) -> tuple[bool, str]:
        process = await asyncio.create_subprocess_exec(
            "skopeo", *args, env=self._env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), SKOPEO_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            return False, f"skopeo timed out after {SKOPEO_TIMEOUT}s"
        return process.returncode == 0, stderr.decode(errors="replace").strip()[-400:]

    async def _push(self) -> None:
        number = next(self._counter)
        user = random.choice(sorted(USERS))
        repository, tag = f"{user}/soak-{self.run_id}-{number}", "v1"
        layout = await asyncio.to_thread(
            build_layout, self.workdir / "images" / f"{number}", layers=random.randint(1, 2),
            layer_size=random.randint(4, 48) * 1024, seed=uuid.uuid4().hex, tag=tag,
        )
        name, gateway = self._instance()
        start = time.time()
        ok, detail = await self._skopeo(
            "copy", "--retry-times", "0", "--dest-tls-verify=false", "--dest-creds", f"{user}:{USERS[user]}",
            f"oci:{layout.path}:{tag}", f"docker://{gateway.host}/{repository}:{tag}",
        )
        end = time.time()
        self.journal.ops.append(Op("push", name, start, end, ok, None, "" if ok else detail))
        if ok:
            self.journal.pushed.append(Pushed(repository, tag, name, layout, end))

    async def _pull(self) -> None:
        if not self.journal.pushed:
            await asyncio.sleep(0.2)
            return
        image = random.choice(self.journal.pushed)
        user = image.repository.split("/")[0]
        name, gateway = self._instance()
        target = self.workdir / "pulls" / uuid.uuid4().hex
        target.parent.mkdir(parents=True, exist_ok=True)
        start = time.time()
        ok, detail = await self._skopeo(
            "copy", "--retry-times", "0", "--src-tls-verify=false", "--src-creds", f"{user}:{USERS[user]}",
            f"docker://{gateway.host}/{image.repository}:{image.tag}", f"oci:{target}:{image.tag}",
        )
        end = time.time()
        if ok:
            got = oci_layout_manifest(target)
            want = (image.layout.manifest_digest, list(image.layout.layer_digests))
            if got != want:
                self.journal.mismatches.append(f"{image.repository}:{image.tag} via {name}: pulled {got}, pushed {want}")
        shutil.rmtree(target, ignore_errors=True)
        self.journal.ops.append(Op("pull", name, start, end, ok, None, "" if ok else detail, image.repository))

    async def _tokens(self, session: aiohttp.ClientSession) -> None:
        """A burst of GET /v2/token with Basic auth, all at once, on one instance."""
        name, gateway = self._instance()
        user = random.choice(sorted(USERS))
        params = {"service": SERVICE, "scope": f"repository:{user}/soak-{self.run_id}-0:pull,push"}
        headers = {"Authorization": aiohttp.encode_basic_auth(user, USERS[user])}
        await asyncio.gather(*(
            self._http(session, "token", name, "GET", f"{gateway.url}/v2/token", params=params, headers=headers)
            for _ in range(TOKEN_BURST)
        ))

    async def _api_write(self, session: aiohttp.ClientSession) -> None:
        """A team, a namespace of it and an application token, each through /api/v1 of a random instance."""
        number = next(self._counter)
        team, namespace, token = f"soak-{self.run_id}-t{number}", f"soak__{self.run_id}_{number}", f"soak-{self.run_id}-{number}"
        headers = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
        steps = (
            ("team", team, "/api/v1/teams", {"name": team}),
            ("namespace", namespace, "/api/v1/namespaces", {"name": namespace, "team": team}),
            ("token", token, "/api/v1/users/alice/tokens", {"name": token, "actions": ["pull"]}),
        )
        for what, made, path, body in steps:
            name, gateway = self._instance()
            status = await self._http(session, "api", name, "POST", f"{gateway.url}{path}", headers=headers, json=body, expect=201)
            if status != 201:
                return  # the next step needs this one
            self.journal.writes.append(ApiWrite(what, made, name))

    async def _http(
        self, session: aiohttp.ClientSession, kind: str, instance: str, method: str, url: str, *, expect: int = 200,
        **options: object,
    ) -> int | None:
        start = time.time()
        try:
            async with session.request(method, url, **options) as response:  # type: ignore[arg-type]
                body = await response.read()
                status: int | None = response.status
                detail = "" if status == expect else f"{status} {body[:200]!r}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, detail = None, f"{type(exc).__name__}: {exc}"
        self.journal.ops.append(Op(kind, instance, start, time.time(), status == expect, status, detail))
        return status
