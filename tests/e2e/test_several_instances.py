"""Two gateways on one MariaDB behind a real load balancer (haproxy with docker/haproxy.cfg), as
the README's "Scaling out" runs them: own data dirs, one signing key and one secrets key.

Which instance served a request is read from each gateway's own access log, never assumed."""

from __future__ import annotations

import hashlib
import json
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from gateway.auth.keyfiles import write_key_pair
from tests.e2e.clients import client_env, oci_layout_manifest, run, unique
from tests.support.balancer import Balancer
from tests.support.client import USERS, bearer, fetch_token
from tests.support.images import push_image
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway, free_port, mariadb_database, require_tool
from tests.support.receiver import Receiver
from tests.support.waiting import eventually, eventually_async

pytestmark = pytest.mark.slow

CHUNK = 64 * 1024
CLIENT = "127.0.0.2"  # the test clients' address; the balancer's is 127.0.0.1
WEBHOOK_SECRET = "several-instances-webhook-secret"


@dataclass
class Cluster:
    gateways: list[Gateway]
    balancer: Balancer

    def admin(self) -> dict[str, str]:
        return {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}


@pytest.fixture
def start_cluster(make_gateway: Callable[..., Gateway], tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """Two gateways on a fresh MariaDB database sharing one signing key and one secrets key, each
    with its own data dir and JSON access log, behind haproxy on a free loopback port."""
    balancers: list[Balancer] = []
    drops: list[Callable[[], None]] = []

    def start(extra_env: dict[str, str] | None = None) -> Cluster:
        url, drop = mariadb_database()
        drops.append(drop)
        keys = tmp_path / "shared-keys"
        key_file, cert_file = write_key_pair(keys, "ec")
        balancer = Balancer(tmp_path / "haproxy", [], port=free_port())
        env = {
            "GATEWAY_PUBLIC_URL": balancer.url,
            "GATEWAY_DATABASE_URL": url,
            "GATEWAY_TOKEN_KEY_FILE": str(key_file),
            "GATEWAY_TOKEN_CERT_FILE": str(cert_file),
            "GATEWAY_SECRETS_KEY_FILE": str(keys / "secrets.key"),
            "GATEWAY_LOG_FORMAT": "json",
            "GATEWAY_SERVER_TRUSTED_PROXIES": "127.0.0.1",  # where haproxy connects from; clients use 127.0.0.2
            **(extra_env or {}),
        }
        gateways = [make_gateway(env), make_gateway(env, add_users=False)]
        balancer.servers = [(f"gateway-{i + 1}", gateway.port) for i, gateway in enumerate(gateways)]
        balancers.append(balancer.start())
        return Cluster(gateways, balancer)

    yield start
    for balancer in balancers:
        balancer.stop()
    for drop in drops:
        drop()


def access_lines(gateway: Gateway) -> list[dict[str, Any]]:
    lines = (json.loads(line) for line in gateway.log_text().splitlines() if line.startswith("{"))
    return [line for line in lines if line.get("logger") == "gateway.access"]


def served(gateway: Gateway, method: str, path_part: str) -> list[int]:
    """Statuses of the requests `gateway` answered with `method` on a path holding `path_part`."""
    return [line["status"] for line in access_lines(gateway) if line["method"] == method and path_part in line["path"]]


async def wait_until_logged(gateway: Gateway, method: str, path_part: str, count: int) -> list[int]:
    """The access log follows the response by up to 0.2 s: wait for `count` lines."""
    found = await eventually(lambda: served(gateway, method, path_part), lambda s: len(s) >= count, timeout=10)
    assert len(found) >= count, f"{gateway.url} logged {found} for {method} {path_part}"
    return found


async def wait_until_all_logged(gateways: list[Gateway], method: str, path_part: str, count: int) -> list[list[int]]:
    """Each instance's statuses once `count` requests are logged across all of them."""
    found = await eventually(
        lambda: [served(g, method, path_part) for g in gateways], lambda each: sum(map(len, each)) >= count, timeout=10
    )
    assert sum(map(len, found)) >= count, f"logged {found} for {method} {path_part}"
    return found


def blob_bytes(chunks: int, seed: str) -> bytes:
    return b"".join(hashlib.sha256(f"{seed}:{i}".encode()).digest() * (CHUNK // 32) for i in range(chunks))


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Upload:
    """A raw chunked upload (POST, PATCH with Content-Range, PUT) through the balancer."""

    def __init__(self, session: aiohttp.ClientSession, base: str, repo: str, auth: dict[str, str]) -> None:
        self.session, self.base, self.repo, self.auth = session, base, repo, auth
        self.location = ""
        self.offset = 0

    @property
    def uuid(self) -> str:
        return self.location.split("/blobs/uploads/", 1)[1].split("?", 1)[0]

    async def begin(self) -> None:
        async with self.session.post(f"{self.base}/v2/{self.repo}/blobs/uploads/", headers=self.auth) as response:
            assert response.status == 202, await response.text()
            self.location = response.headers["Location"]
            assert self.location.startswith(self.base), "upload locations point at the balancer"

    async def patch(self, chunk: bytes, start: int | None = None, location: str | None = None) -> aiohttp.ClientResponse:
        first = self.offset if start is None else start
        headers = {**self.auth, "Content-Type": "application/octet-stream", "Content-Range": f"{first}-{first + len(chunk) - 1}"}
        async with self.session.patch(location or self.location, data=chunk, headers=headers) as response:
            await response.read()
            if response.status == 202:
                self.location = response.headers["Location"]
                self.offset = first + len(chunk)
            return response

    async def stream(self, data: bytes) -> aiohttp.ClientResponse:
        """One PATCH whose body is sent in pieces without a length (chunked transfer encoding)."""

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(data), CHUNK):
                yield data[start : start + CHUNK]

        headers = {**self.auth, "Content-Type": "application/octet-stream"}
        async with self.session.patch(self.location, data=pieces(), headers=headers) as response:
            await response.read()
            if response.status == 202:
                self.location = response.headers["Location"]
                self.offset += len(data)
            return response

    async def finish(self, whole: bytes) -> None:
        async with self.session.put(self.location, params={"digest": sha(whole)}, headers=self.auth) as response:
            assert response.status == 201, await response.text()

    async def pulled(self, digest: str) -> bytes:
        async with self.session.get(f"{self.base}/v2/{self.repo}/blobs/{digest}", headers=self.auth) as response:
            assert response.status == 200, await response.text()
            return await response.read()


def counting_connections() -> tuple[aiohttp.TraceConfig, list[object]]:
    created: list[object] = []

    async def on_create(session: aiohttp.ClientSession, context: SimpleNamespace, params: object) -> None:
        created.append(params)

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_create)
    return trace, created


async def test_chunks_of_one_keep_alive_connection_land_on_both_instances_and_a_wrong_one_gets_416_on_each(
    start_cluster: Callable[..., Cluster],
) -> None:
    cluster = start_cluster()
    balancer, gateways = cluster.balancer, cluster.gateways
    repo = unique("alice/spread")
    whole = blob_bytes(8, repo)
    trace, connections = counting_connections()
    client = aiohttp.TCPConnector(limit=1, local_addr=(CLIENT, 0))
    async with aiohttp.ClientSession(connector=client, trace_configs=[trace]) as session:
        auth = await bearer(session, balancer.url, balancer.host, "alice", f"repository:{repo}:pull,push")
        upload = Upload(session, balancer.url, repo, auth)
        await upload.begin()
        for start in range(0, len(whole), CHUNK):
            response = await upload.patch(whole[start : start + CHUNK])
            assert response.status == 202
            assert response.headers["Range"] == f"0-{upload.offset - 1}"
        big = blob_bytes(256, f"{repo}-big")  # 16 MiB streamed with Transfer-Encoding: chunked, as skopeo does
        assert (await upload.stream(big)).status == 202
        whole += big
        for _ in gateways:  # one wrong chunk for each instance: round-robin alternates
            wrong = await upload.patch(b"x" * 100, start=upload.offset + 10)
            assert wrong.status == 416
            assert wrong.headers["Range"] == f"0-{upload.offset - 1}"
        await upload.finish(whole)
        assert await upload.pulled(sha(whole)) == whole
    assert len(connections) == 1, "every request went over one keep-alive client connection"

    patches = await wait_until_all_logged(gateways, "PATCH", upload.uuid, 11)
    assert sorted(patches[0] + patches[1]) == [202] * 9 + [416] * 2
    assert all(len(statuses) >= 4 for statuses in patches), f"chunks per instance: {[len(s) for s in patches]}"
    assert all(416 in statuses for statuses in patches), "each instance refused a wrong chunk with the shared offset"
    remotes = {line["remote"] for g in gateways for line in access_lines(g) if upload.uuid in line["path"]}
    assert remotes == {CLIENT}, "each instance logged the client, not the balancer"
    assert Counter(balancer.served_by()).keys() == {"gateway-1", "gateway-2"}


async def test_an_instance_killed_mid_upload_and_restarted_loses_nothing(start_cluster: Callable[..., Cluster]) -> None:
    cluster = start_cluster()
    balancer, (first, second) = cluster.balancer, cluster.gateways
    repo = unique("alice/killed")
    whole = blob_bytes(8, repo)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1, local_addr=(CLIENT, 0))) as session:
        auth = await bearer(session, balancer.url, balancer.host, "alice", f"repository:{repo}:pull,push")
        upload = Upload(session, balancer.url, repo, auth)
        await upload.begin()
        for start in range(0, 2 * CHUNK, CHUNK):
            assert (await upload.patch(whole[start : start + CHUNK])).status == 202
        await wait_until_logged(second, "PATCH", upload.uuid, 1)  # before its last log lines could be lost

        second.stop(signal.SIGKILL)
        for start in range(2 * CHUNK, 5 * CHUNK, CHUNK):
            response = await upload.patch(whole[start : start + CHUNK])
            assert response.status == 202, "the balancer sends the chunk to the instance still running"
        assert len(await wait_until_logged(first, "PATCH", upload.uuid, 4)) >= 4

        before = len(served(second, "PATCH", upload.uuid))
        probes = len(served(second, "GET", "/v2/?back"))
        second.start()  # the same port and data dir

        async def back_in_rotation() -> int:
            async with session.get(f"{balancer.url}/v2/?back", headers=auth) as response:
                await response.read()
            return len(served(second, "GET", "/v2/?back"))

        assert await eventually_async(back_in_rotation, lambda n: n > probes, timeout=20, interval=0.2) > probes
        for start in range(5 * CHUNK, len(whole), CHUNK):
            assert (await upload.patch(whole[start : start + CHUNK])).status == 202
        await upload.finish(whole)
        assert len(await wait_until_logged(second, "PATCH", upload.uuid, before + 1)) > before, "a chunk after the restart"
        assert await upload.pulled(sha(whole)) == whole

        digest = await push_image(session, balancer.url, repo, "v1", auth, seed=repo)
        async with session.get(f"{balancer.url}/v2/{repo}/manifests/v1", headers={**auth, "Accept": "application/vnd.oci.image.manifest.v1+json"}) as response:
            assert response.status == 200
            assert sha(await response.read()) == digest


async def test_a_multi_layer_skopeo_push_through_the_balancer_pulls_back_byte_for_byte(
    start_cluster: Callable[..., Cluster], tmp_path: Path
) -> None:
    cluster = start_cluster()
    balancer = cluster.balancer
    skopeo = require_tool("skopeo")
    env = client_env(tmp_path / "skopeo")
    repo = unique("alice/skopeo-spread")
    layout = build_layout(tmp_path / "layout", layers=4, seed=repo, tag="v1")
    alice = f"alice:{USERS['alice']}"
    common = [skopeo, "copy", "--retry-times", "0"]
    pushed = run([*common, "--dest-tls-verify=false", "--dest-creds", alice, f"oci:{layout.path}:v1", f"docker://{balancer.host}/{repo}:v1"], env)
    assert pushed.ok, pushed.describe()
    back = tmp_path / "pulled-back"
    pulled = run([*common, "--src-tls-verify=false", "--src-creds", alice, f"docker://{balancer.host}/{repo}:v1", f"oci:{back}:v1"], env)
    assert pulled.ok, pulled.describe()

    digest, layers = oci_layout_manifest(back)
    assert (digest, tuple(layers)) == (layout.manifest_digest, layout.layer_digests)
    for layer in layers:
        name = layer.split(":", 1)[1]
        assert (back / "blobs" / "sha256" / name).read_bytes() == (layout.path / "blobs" / "sha256" / name).read_bytes()
    uploads = [await wait_until_logged(g, "PUT", f"/v2/{repo}/blobs/uploads/", 1) for g in cluster.gateways]
    assert all(set(statuses) == {201} for statuses in uploads), uploads


async def test_each_push_is_recorded_once_and_delivered_to_a_webhook_once(start_cluster: Callable[..., Cluster]) -> None:
    receiver = Receiver(free_port())
    await receiver.start()
    hooks = [{"name": "audit", "url": receiver.url, "secret": WEBHOOK_SECRET, "actions": ["push"]}]
    cluster = start_cluster({"GATEWAY_WEBHOOKS": json.dumps(hooks), "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL": "0.2"})
    balancer = cluster.balancer
    repo = unique("alice/audited")
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1, local_addr=(CLIENT, 0))) as session:
            auth = await bearer(session, balancer.url, balancer.host, "alice", f"repository:{repo}:pull,push")
            digests = {await push_image(session, balancer.url, repo, f"t{i}", auth, seed=f"{repo}-{i}") for i in range(6)}

            async def pushes() -> list[dict[str, Any]]:
                params = {"repository": repo, "action": "push", "n": "100"}
                async with session.get(f"{balancer.url}/api/v1/events", params=params, headers=cluster.admin()) as response:
                    assert response.status == 200, await response.text()
                    return list((await response.json())["items"])

            events = await eventually_async(pushes, lambda found: len(found) >= 6, timeout=10)
        ids = [event["id"] for event in events]
        assert len(ids) == len(set(ids)) == 6, "each push recorded once"
        assert {event["target"]["digest"] for event in events} == digests
        assert len({event["source"]["instanceID"] for event in events}) == 2, "both instances recorded pushes"
        assert {event["request"]["addr"] for event in events} == {CLIENT}, "the pusher's address, not the balancer's"
        manifest_puts = await wait_until_all_logged(cluster.gateways, "PUT", f"/v2/{repo}/manifests/", 6)
        assert all(manifest_puts), f"manifest PUTs per instance: {[len(p) for p in manifest_puts]}"

        await receiver.wait_for(set(ids), timeout=60)
        async with aiohttp.ClientSession() as session:  # a last push through each instance: deliveries go in order
            auth = await bearer(session, balancer.url, balancer.host, "alice", f"repository:{repo}:pull,push")
            for gateway in cluster.gateways:
                await push_image(session, gateway.url, repo, "sentinel", auth, seed=f"sentinel-{gateway.port}")
        sentinels = await eventually(
            lambda: [e for d in receiver.deliveries for e in d.events if e["target"].get("tag") == "sentinel"],
            lambda found: len(found) >= 2, timeout=60,
        )
        assert len(sentinels) >= 2
        counts = Counter(receiver.delivered_ids())
        assert {i: n for i, n in counts.items() if n > 1} == {}, "no event delivered twice"
        assert set(ids) <= counts.keys()
    finally:
        await receiver.stop()


async def test_a_user_disabled_through_one_instance_is_refused_by_the_other(start_cluster: Callable[..., Cluster]) -> None:
    cluster = start_cluster()
    first, second = cluster.gateways
    service = cluster.balancer.host
    repo = unique("alice/revoked")
    async with aiohttp.ClientSession() as session:
        token = (await fetch_token(session, second.url, service, "alice", USERS["alice"], f"repository:{repo}:pull,push"))["token"]
        alice = {"Authorization": f"Bearer {token}"}
        await push_image(session, second.url, repo, "v1", alice, seed=repo)

        async def tags_on_second() -> int:
            async with session.get(f"{second.url}/v2/{repo}/tags/list", headers=alice) as response:
                return response.status

        assert await tags_on_second() == 200
        async with session.patch(f"{first.url}/api/v1/users/alice", json={"disabled": True}, headers=cluster.admin()) as response:
            assert response.status == 200, await response.text()

        assert await eventually_async(tags_on_second, lambda status: status == 401, timeout=10) == 401
        basic = {"Authorization": aiohttp.encode_basic_auth("alice", USERS["alice"])}
        params = {"service": service, "scope": f"repository:{repo}:pull"}
        async with session.get(f"{second.url}/v2/token", params=params, headers=basic) as response:
            assert response.status == 401, await response.text()


async def test_an_application_token_revoked_through_one_instance_is_refused_by_the_other(start_cluster: Callable[..., Cluster]) -> None:
    cluster = start_cluster()
    first, second = cluster.gateways
    service = cluster.balancer.host
    repo = unique("bob/app-token")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{second.url}/api/v1/users/bob/tokens", json={"name": "ci", "actions": ["pull", "push"]}, headers=cluster.admin()) as response:
            assert response.status == 201, await response.text()
            secret = (await response.json())["secret"]
        token = (await fetch_token(session, first.url, service, "bob", secret, f"repository:{repo}:pull,push"))["token"]
        bob = {"Authorization": f"Bearer {token}"}
        await push_image(session, first.url, repo, "v1", bob, seed=repo)

        async def tags_on_first() -> int:
            async with session.get(f"{first.url}/v2/{repo}/tags/list", headers=bob) as response:
                return response.status

        assert await tags_on_first() == 200
        async with session.delete(f"{second.url}/api/v1/users/bob/tokens/ci", headers=cluster.admin()) as response:
            assert response.status == 204, await response.text()

        assert await eventually_async(tags_on_first, lambda status: status == 401, timeout=10) == 401
        params = {"service": service, "scope": f"repository:{repo}:pull"}
        with_token = {"Authorization": aiohttp.encode_basic_auth("bob", secret)}
        async with session.get(f"{first.url}/v2/token", params=params, headers=with_token) as response:
            assert response.status == 401, await response.text()
        await fetch_token(session, first.url, service, "bob", USERS["bob"], f"repository:{repo}:pull")  # bob himself is not


def from_address(address: str) -> aiohttp.ClientSession:
    """A client connecting from another loopback address (127.0.0.0/8 is all local)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))


async def test_behind_a_trusted_balancer_failed_logins_are_counted_per_client_address(start_cluster: Callable[..., Cluster]) -> None:
    cluster = start_cluster({"GATEWAY_LOGINS_MAX_FAILURES": "2"})
    balancer = cluster.balancer  # it connects to the instances from 127.0.0.1
    params = {"service": balancer.host}
    right = {"Authorization": aiohttp.encode_basic_auth("alice", USERS["alice"])}
    # The guesser names alice's address itself: the balancer replaces it with the real one.
    wrong = {"Authorization": aiohttp.encode_basic_auth("alice", "not-her-password"), "X-Forwarded-For": "127.0.0.2"}
    async with from_address("127.0.0.3") as guesser, from_address(CLIENT) as alice:
        for _ in range(2 * len(cluster.gateways)):  # round-robin: the limit reached on each instance
            async with guesser.get(f"{balancer.url}/v2/token", params=params, headers=wrong) as response:
                assert response.status == 401
        for _ in cluster.gateways:
            async with guesser.get(f"{balancer.url}/v2/token", params=params, headers=right) as response:
                assert response.status == 429, "the guessing address waits, even with the password"
            async with alice.get(f"{balancer.url}/v2/token", params=params, headers=right) as response:
                assert response.status == 200, "alice's own address is not held back"

    lines = await eventually(
        lambda: [line for g in cluster.gateways for line in access_lines(g) if line["path"].startswith("/v2/token")],
        lambda found: len(found) >= 8,
    )
    assert Counter(line["remote"] for line in lines) == {"127.0.0.3": 6, "127.0.0.2": 2}
