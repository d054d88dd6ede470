"""The structured access log after a real login and push: one JSON line per request with who did
what, and never a password, a token or an Authorization value."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.clients import client_env, run, unique
from tests.support.client import USERS
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway, require_tool

ACCESS_FIELDS = {"request_id", "user", "repository", "action", "status", "bytes_in", "bytes_out", "duration_ms", "method", "path"}


def access_lines(gateway: Gateway) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in gateway.log_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("logger") == "gateway.access"]


async def test_login_and_push_leave_structured_lines_without_any_secret(
    make_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    gateway = make_gateway({"GATEWAY_LOG_FORMAT": "json"})
    skopeo = require_tool("skopeo")
    env = client_env(tmp_path / "skopeo")
    password = USERS["alice"]
    repository = unique("alice/logged")
    layout = build_layout(tmp_path / "layout", layers=2, seed=repository, tag="v1")

    login = run([skopeo, "login", "--tls-verify=false", "-u", "alice", "--password-stdin", gateway.host], env, stdin=password + "\n")
    assert login.ok, login.describe()
    pushed = run([skopeo, "copy", "--retry-times", "0", "--dest-tls-verify=false", f"oci:{layout.path}:v1",
                  f"docker://{gateway.host}/{repository}:v1"], env)
    assert pushed.ok, pushed.describe()

    secrets: list[str] = [password, base64.b64encode(f"alice:{password}".encode()).decode()]
    async with aiohttp.ClientSession() as session:
        basic = {"Authorization": aiohttp.encode_basic_auth("alice", password)}
        params = {"service": gateway.host, "scope": f"repository:{repository}:pull", "offline_token": "true", "client_id": "t"}
        async with session.get(f"{gateway.url}/v2/token", params=params, headers=basic) as response:
            body = await response.json()
        secrets += [body["token"], body["refresh_token"]]
        form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "service": gateway.host}
        async with session.post(f"{gateway.url}/v2/token", data=form) as response:
            secrets.append((await response.json())["access_token"])
        bearer = {"Authorization": f"Bearer {body['token']}", "X-Request-Id": "trace-from-the-client-42"}
        async with session.get(f"{gateway.url}/v2/{repository}/tags/list", headers=bearer) as response:
            assert response.status == 200
            assert response.headers["X-Request-Id"] == "trace-from-the-client-42"

    # The access line follows the response: wait for the last request's line.
    deadline = time.monotonic() + 30  # only against a hang: the line comes a fraction of a second later
    while "trace-from-the-client-42" not in gateway.log_text() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    log = gateway.log_text()
    for secret in secrets:
        assert secret not in log
    assert "Bearer ey" not in log and "Basic " not in log

    lines = access_lines(gateway)
    assert lines and all(ACCESS_FIELDS <= set(line) for line in lines)
    manifest_puts = [line for line in lines if line["method"] == "PUT" and line["path"] == f"/v2/{repository}/manifests/v1"]
    assert len(manifest_puts) == 1, lines[-10:]
    put = manifest_puts[0]
    assert (put["user"], put["repository"], put["action"], put["status"]) == ("alice", repository, "pull,push", 201)
    assert put["bytes_in"] > 0 and put["duration_ms"] > 0 and len(put["request_id"]) == 32
    uploads = [line for line in lines if line["method"] in ("PATCH", "PUT") and "/blobs/uploads/" in line["path"]]
    assert sum(line["bytes_in"] for line in uploads) >= 2 * 64 * 1024, "two incompressible 64 KiB layers went up"
    assert uploads and all("_state=redacted" in line["path"] for line in uploads), uploads[0]["path"]
    tokens = [line for line in lines if line["path"].startswith("/v2/token") and line["status"] == 200]
    assert tokens and all(line["user"] == "alice" and line["action"] == "token" for line in tokens)
    traced = [line for line in lines if line["request_id"] == "trace-from-the-client-42"]
    assert len(traced) == 1 and traced[0]["path"] == f"/v2/{repository}/tags/list"
    assert len({line["request_id"] for line in lines}) == len(lines), "every request has its own id"
