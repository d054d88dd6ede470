"""Settings that are parsed and documented, seen doing what they say in a running gateway in front
of the real registry: contributors deleting, a private global namespace, event retention by age,
the readiness and upstream read deadlines against a registry that never answers, and a public
URL behind a proxy."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, Self

import aiohttp
import pytest

from gateway.events.model import new_event_id
from gateway.store import NewEvent, Store
from tests.integration.api.conftest import PASSWORD, Api, no_traceback_since, team_space
from tests.support.client import USERS, fetch_token
from tests.support.images import OCI_MANIFEST, push_image
from tests.support.processes import Gateway

DAY_MS = 86400 * 1000


def _granted(token: str, repository: str) -> set[str]:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {a for entry in claims["access"] if entry["name"] == repository for a in entry["actions"]}


async def _token(api: Api, credentials: tuple[str, str] | None, repository: str, actions: str) -> str:
    user, password = credentials if credentials is not None else (None, None)
    body = await fetch_token(api.session, api.gateway.url, api.gateway.host, user, password, f"repository:{repository}:{actions}")
    return str(body["token"])


async def _manifest(api: Api, token: str, repository: str, reference: str, method: str = "GET") -> int:
    headers = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
    url = f"{api.gateway.url}/v2/{repository}/manifests/{reference}"
    async with api.session.request(method, url, headers=headers) as response:
        await response.read()
        return response.status


# --- delete.contributors -------------------------------------------------------------------------


@pytest.mark.parametrize("contributors_delete", [True, False], ids=["on", "off"])
async def test_a_contributor_deletes_a_manifest_only_where_delete_contributors_is_on(
    make_gateway: Callable[..., Gateway], session: aiohttp.ClientSession, contributors_delete: bool
) -> None:
    gateway = make_gateway({"GATEWAY_DELETE_CONTRIBUTORS": str(contributors_delete).lower()})
    admin = Api(session, gateway, Gateway.ADMIN)
    owner, contributor = await admin.new_user("owner"), await admin.new_user("contrib")
    team = await admin.new_team(owner)
    namespace = team_space("del")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": namespace, "team": team}, 201)
    await admin.as_(owner).ok("PUT", f"/teams/{team}/members/{contributor}", {"role": "contributor"}, 201)
    repository = f"{namespace}/app"
    pushing = {"Authorization": f"Bearer {await _token(admin, (contributor, PASSWORD), repository, 'pull,push')}"}
    digest = await push_image(session, gateway.url, repository, "v1", pushing, seed=namespace)

    token = await _token(admin, (contributor, PASSWORD), repository, "pull,push,delete")
    assert ("delete" in _granted(token, repository)) is contributors_delete
    deleted = await _manifest(admin, token, repository, digest, "DELETE")
    if contributors_delete:
        assert deleted == 202
        assert await _manifest(admin, token, repository, digest) == 404, "the registry still has the manifest"
    else:
        assert deleted == 401
        assert await _manifest(admin, token, repository, digest) == 200, "the manifest went anyway"
    no_traceback_since(gateway, 0)


# --- namespaces.global_visibility ----------------------------------------------------------------


async def test_a_private_global_namespace_is_pulled_by_admins_only(
    make_gateway: Callable[..., Gateway], session: aiohttp.ClientSession
) -> None:
    gateway = make_gateway({"GATEWAY_NAMESPACES_GLOBAL_VISIBILITY": "private"})
    admin = Api(session, gateway, Gateway.ADMIN)
    repository = "globalprivate"
    pushing = {"Authorization": f"Bearer {await _token(admin, Gateway.ADMIN, repository, 'pull,push')}"}
    digest = await push_image(session, gateway.url, repository, "v1", pushing, seed=repository)

    assert await _manifest(admin, await _token(admin, Gateway.ADMIN, repository, "pull"), repository, digest) == 200
    for who, credentials in (("a signed-in user", ("alice", USERS["alice"])), ("an anonymous caller", None)):
        token = await _token(admin, credentials, repository, "pull")
        assert _granted(token, repository) == set(), f"{who} got pull on a private global namespace"
        assert await _manifest(admin, token, repository, digest) == 401, who
    no_traceback_since(gateway, 0)


# --- events.retention_days -----------------------------------------------------------------------


def _event(repository: str, created_at_ms: int) -> NewEvent:
    return NewEvent(
        id=new_event_id(), created_at_ms=created_at_ms, action="pull", repository=repository, tag="v1",
        digest="sha256:" + "0" * 64, actor="alice", body={"created": created_at_ms},
    )


async def test_events_older_than_retention_days_are_pruned_by_the_running_gateway(
    make_gateway: Callable[..., Gateway], store: Store, database_url: str
) -> None:
    gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url, "GATEWAY_EVENTS_RETENTION_DAYS": "1"})
    now = int(time.time() * 1000)
    await store.add_events([
        _event("retention/old", now - 3 * DAY_MS),
        _event("retention/almost", now - DAY_MS + 3_600_000),  # an hour short of a day: kept
        _event("retention/new", now),
    ])

    async def present() -> set[str]:
        return {row.repository for row in await store.list_events(limit=1000) if row.repository.startswith("retention/")}

    deadline = time.monotonic() + 30  # pruning runs every few seconds
    while "retention/old" in await present():
        assert time.monotonic() < deadline, "an event three days old outlived a retention of one day"
        await asyncio.sleep(0.5)
    assert await present() == {"retention/almost", "retention/new"}
    no_traceback_since(gateway, 0)


# --- a registry that accepts connections and never answers ---------------------------------------


class SilentUpstream:
    """A TCP server on loopback that accepts every connection, reads what comes and never answers."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._held.append(connection)
            self.accepted += 1

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self._held:
            connection.close()
        self._listener.close()


@pytest.fixture
def silent_upstream() -> Iterator[SilentUpstream]:
    with SilentUpstream() as upstream:
        yield upstream


def _get(url: str, timeout: float) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_readyz_gives_up_on_a_silent_upstream_after_the_readiness_timeout(
    make_gateway: Callable[..., Gateway], silent_upstream: SilentUpstream
) -> None:
    gateway = make_gateway({"GATEWAY_READINESS_TIMEOUT": "0.5"}, upstream_url=silent_upstream.url)
    # The client's own deadline is the bound plus generous slack: a hang fails here, not later.
    status, body = _get(f"{gateway.url}/readyz", timeout=15)
    assert status == 503, body
    assert body["checks"]["upstream"] == {
        "status": "down", "reason": "no answer within 0.5s", "latency_ms": body["checks"]["upstream"]["latency_ms"]
    }
    assert body["checks"]["store"]["status"] == "up" and body["checks"]["signing_key"]["status"] == "up"
    assert silent_upstream.accepted >= 1, "the check never reached the upstream"
    no_traceback_since(gateway, 0, allow_5xx=True)


async def test_a_manifest_from_a_silent_upstream_is_503_unavailable_after_the_read_timeout(
    make_gateway: Callable[..., Gateway], silent_upstream: SilentUpstream, session: aiohttp.ClientSession
) -> None:
    gateway = make_gateway({"GATEWAY_UPSTREAM_READ_TIMEOUT": "1"}, upstream_url=silent_upstream.url)
    admin = Api(session, gateway, Gateway.ADMIN)
    token = await _token(admin, ("alice", USERS["alice"]), "alice/app", "pull")
    headers = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
    # The client's own deadline is the bound plus generous slack: a hang fails here, not later.
    timeout = aiohttp.ClientTimeout(total=20)
    async with session.get(f"{gateway.url}/v2/alice/app/manifests/v1", headers=headers, timeout=timeout) as response:
        assert response.status == 503
        assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
        assert response.content_type == "application/json"
        errors = (await response.json())["errors"]
        assert [error["code"] for error in errors] == ["UNAVAILABLE"], errors
    assert silent_upstream.accepted >= 1, "the request never reached the upstream"
    async with session.get(f"{gateway.url}/healthz") as response:
        assert response.status == 200, "the gateway stopped serving"
    no_traceback_since(gateway, 0, allow_5xx=True)


# --- public_url ----------------------------------------------------------------------------------


PUBLIC = "https://registry.example.test:8443"


async def test_behind_a_proxy_the_challenge_and_upload_locations_use_the_public_url(
    make_gateway: Callable[..., Gateway], session: aiohttp.ClientSession
) -> None:
    gateway = make_gateway({"GATEWAY_PUBLIC_URL": PUBLIC})
    async with session.get(f"{gateway.url}/v2/") as response:
        assert response.status == 401
        challenge = response.headers["WWW-Authenticate"]
    assert challenge == f'Bearer realm="{PUBLIC}/v2/token",service="registry.example.test:8443"', challenge

    body = await fetch_token(
        session, gateway.url, "registry.example.test:8443", "alice", USERS["alice"], "repository:alice/proxied:pull,push"
    )
    headers = {"Authorization": f"Bearer {body['token']}"}
    async with session.post(f"{gateway.url}/v2/alice/proxied/blobs/uploads/", headers=headers) as response:
        assert response.status == 202, await response.text()
        location = response.headers["Location"]
    assert location.startswith(f"{PUBLIC}/v2/alice/proxied/blobs/uploads/"), location

    # What the proxy does: the same path and query, sent on to the gateway.
    data = b"behind a proxy"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    upload = gateway.url + location.removeprefix(PUBLIC)
    async with session.put(upload, params={"digest": digest}, data=data, headers=headers) as response:
        assert response.status == 201, await response.text()
        assert response.headers["Location"].startswith(f"{PUBLIC}/v2/alice/proxied/blobs/"), response.headers["Location"]
    no_traceback_since(gateway, 0)
