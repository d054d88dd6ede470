"""/api/v1 calls from the browser tests (plain urllib: this thread's event loop belongs to
Playwright), to set up what a page acts on and to check what it did, as a given user."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from tests.support.processes import Gateway


def api_as(gateway: Gateway, user: str, password: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """`user`'s /api/v1 request: its status and its JSON (None when it has none)."""
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(
        f"{gateway.url}/api/v1{path}", data=json.dumps(body).encode() if body is not None else None, method=method,
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return int(response.status), json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read() or b"null")


def api_ok(gateway: Gateway, user: str, password: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """The JSON of a request that must succeed (2xx)."""
    status, answer = api_as(gateway, user, password, method, path, body)
    assert 200 <= status < 300, (method, path, status, answer)
    return answer
