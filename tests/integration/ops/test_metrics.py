"""/metrics moves with real traffic: tokens, failed logins, bad tokens, bytes both ways, upstream errors."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import aiohttp

from gateway import keys
from gateway.app import create_app
from gateway.config import load_settings
from tests.integration.ops.helpers import samples, value
from tests.support.client import USERS, bearer, fetch_token
from tests.support.processes import Gateway, free_port

BLOB_SIZE = 3 * 1024 * 1024 + 17


async def push_blob(session: aiohttp.ClientSession, gateway: Gateway, repository: str, data: bytes) -> str:
    headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repository}:pull,push")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    async with session.post(f"{gateway.url}/v2/{repository}/blobs/uploads/", headers=headers) as started:
        assert started.status == 202, await started.text()
        location = started.headers["Location"]
    separator = "&" if "?" in location else "?"
    target = location if location.startswith("http") else f"{gateway.url}{location}"
    async with session.put(f"{target}{separator}digest={digest}", data=data, headers=headers) as finished:
        assert finished.status == 201, await finished.text()
    return digest


async def test_counters_move_with_token_and_registry_traffic(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway()
    repository = "alice/metrics"
    before = samples(gateway.url)
    data = os.urandom(BLOB_SIZE)
    async with aiohttp.ClientSession() as session:
        digest = await push_blob(session, gateway, repository, data)
        await fetch_token(session, gateway.url, gateway.host, None, None, "repository:alice/metrics:pull")
        async with session.get(f"{gateway.url}/v2/token", params={"service": gateway.host},
                               headers={"Authorization": aiohttp.encode_basic_auth("alice", "wrong-password")}) as refused:
            assert refused.status == 401
        async with session.get(f"{gateway.url}/v2/{repository}/tags/list", headers={"Authorization": "Bearer not.a.jwt"}) as bad:
            assert bad.status == 401
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repository}:pull")
        async with session.get(f"{gateway.url}/v2/{repository}/blobs/{digest}", headers=headers) as blob:
            assert blob.status == 200
            assert await blob.read() == data
    after = samples(gateway.url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("gateway_tokens_issued_total", grant="user") == 2
    assert delta("gateway_tokens_issued_total", grant="anonymous") == 1
    assert delta("gateway_tokens_denied_total", reason="invalid_grant") == 1
    assert delta("gateway_authentication_failures_total", kind="password") == 1
    assert delta("gateway_authentication_failures_total", kind="invalid_token") == 1
    assert delta("gateway_http_requests_total", route="upload", method="POST", status="202") == 1
    assert delta("gateway_http_requests_total", route="upload", method="PUT", status="201") == 1
    assert delta("gateway_http_requests_total", route="blob", method="GET", status="200") == 1
    assert delta("gateway_http_requests_total", route="tags", method="GET", status="401") == 1
    assert delta("gateway_http_requests_total", route="token", method="GET", status="401") == 1
    assert BLOB_SIZE <= delta("gateway_http_received_bytes_total", route="upload") < BLOB_SIZE + 4096
    assert BLOB_SIZE <= delta("gateway_http_sent_bytes_total", route="blob") < BLOB_SIZE + 4096
    assert delta("gateway_http_request_duration_seconds_count", route="blob", method="GET") == 1
    assert delta("gateway_http_request_duration_seconds_bucket", route="blob", method="GET", le="+Inf") == 1
    assert value(after, "gateway_uploads_in_flight") == 0
    assert ("gateway_event_outbox_depth", frozenset()) in after
    assert delta("gateway_upstream_errors_total") == 0


async def test_an_unreachable_upstream_counts_as_an_upstream_error(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway(upstream_url=f"http://127.0.0.1:{free_port()}")
    before = samples(gateway.url)
    async with aiohttp.ClientSession() as session:
        token = await fetch_token(session, gateway.url, gateway.host, "alice", USERS["alice"], "repository:alice/gone:pull")
        headers = {"Authorization": f"Bearer {token['token']}"}
        blob = f"{gateway.url}/v2/alice/gone/blobs/sha256:{'0' * 64}"  # a plain pass-through request
        async with session.get(blob, headers=headers) as response:
            assert response.status == 503
    after = samples(gateway.url)
    assert value(after, "gateway_upstream_errors_total", kind="unreachable") - value(
        before, "gateway_upstream_errors_total", kind="unreachable") == 1


def test_each_application_has_its_own_metrics_registry(tmp_path: object) -> None:
    settings = load_settings({"GATEWAY_DATA_DIR": str(tmp_path)})
    first, second = create_app(settings), create_app(settings)
    assert first[keys.METRICS].registry is not second[keys.METRICS].registry
    first[keys.METRICS].tokens_issued.labels(grant="user").inc(5)
    assert b'gateway_tokens_issued_total{grant="user"} 5.0' in first[keys.METRICS].render()
    assert b'gateway_tokens_issued_total{grant="user"}' not in second[keys.METRICS].render()
    second[keys.METRICS].set_outbox_depth(7)
    second[keys.METRICS].webhook_failed("ci")
    rendered = second[keys.METRICS].render()
    assert b"gateway_event_outbox_depth 7.0" in rendered
    assert b'gateway_webhook_failures_total{endpoint="ci"} 1.0' in rendered
