"""Small synchronous probes of a running gateway: JSON endpoints, Prometheus samples, waiting."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")


def get(url: str, *, context: ssl.SSLContext | None = None, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(url: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    status, _, body = get(url, **kwargs)
    return status, json.loads(body)


def samples(base_url: str, **kwargs: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics as {(name, labels): value}."""
    status, headers, body = get(f"{base_url}/metrics", **kwargs)
    assert status == 200, body[:500]
    assert headers.get("Content-Type", "").startswith("text/plain"), headers
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= ls)


def wait_until(probe: Callable[[], T], accept: Callable[[T], bool], timeout: float = 15.0, interval: float = 0.1) -> T:
    """Call `probe` until `accept(result)`; returns the last result either way (assert on it)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if accept(result) or time.monotonic() > deadline:
            return result
        time.sleep(interval)
