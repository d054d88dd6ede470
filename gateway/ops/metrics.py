"""Prometheus metrics: one `Metrics` object (and its own CollectorRegistry) per application.

Request counters, latency and byte totals are recorded once per finished request by the access
logger (gateway/ops/access_log.py), so the proxy's hot path pays nothing per chunk. The token
endpoint, the /v2 handler and the proxy report what only they know through gateway/ops/observe.py.

With several worker processes (`serve --workers N`) each worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode, chosen when that variable is set
before the worker starts) and /metrics on any worker adds up all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Small requests take milliseconds; blob transfers may take minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """Known methods as they are; anything else (clients may send any token) as `other`."""
    return method if method in _METHODS else "other"


class Metrics:
    """Every metric the gateway exports, registered in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        if self.multiprocess_dir is None:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        r = self.registry
        self.requests = Counter(
            "gateway_http_requests", "Finished HTTP requests.", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds", "Time from request start to the last byte of the response.",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.received_bytes = Counter(
            "gateway_http_received_bytes", "Request body bytes received from clients (uploads and forms).", ["route"], registry=r
        )
        self.sent_bytes = Counter(
            "gateway_http_sent_bytes", "Response bytes written to clients, headers included.", ["route"], registry=r
        )
        self.tokens_issued = Counter(
            "gateway_tokens_issued",
            "Registry tokens handed out, by how the caller authenticated (a request repeated within the second"
            " its token was signed in gets that token again, and counts again).",
            ["grant"], registry=r,
        )
        self._issued: dict[str, Counter] = {}
        self.tokens_denied = Counter(
            "gateway_tokens_denied", "Token requests refused, by OAuth2 error code.", ["reason"], registry=r
        )
        self.auth_failures = Counter(
            "gateway_authentication_failures",
            "Failed authentications: a wrong password at the token endpoint, a bad token on /v2.",
            ["kind"], registry=r,
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors", "Upstream registry failures: unreachable, or a 5xx answer.", ["kind"], registry=r
        )
        self.manifests_from_memory = Counter(
            "gateway_manifest_cache_answers", "Manifest GETs and HEADs answered from memory, by digest or by tag.",
            ["by"], registry=r,
        )
        self.blobs_from_storage = Counter(
            "gateway_blobs_from_storage", "Blob GETs whose body was sent from upstream.storage_dir.",
            registry=r,
        )
        self.uploads_in_flight = Gauge(
            "gateway_uploads_in_flight", "Blob upload requests (PATCH, PUT, POST with a body) being streamed now.",
            registry=r, multiprocess_mode="livesum",
        )
        self.outbox_depth = Gauge(
            "gateway_event_outbox_depth", "Events waiting in the webhook outbox.", registry=r, multiprocess_mode="max"
        )
        self.webhook_failures = Counter(
            "gateway_webhook_failures", "Failed webhook deliveries, by endpoint name.", ["endpoint"], registry=r
        )

    def token_issued(self, grant: str) -> None:
        """Counted for every token, so the child of each grant (a fixed few) is looked up once:
        `labels()` takes a lock and builds its key every time."""
        child = self._issued.get(grant)
        if child is None:
            child = self._issued[grant] = self.tokens_issued.labels(grant=grant)
        child.inc()

    # Entry points for the events work (outbox and webhooks), so it needs no prometheus import.
    def set_outbox_depth(self, depth: int) -> None:
        self.outbox_depth.set(depth)

    def webhook_failed(self, endpoint: str) -> None:
        self.webhook_failures.labels(endpoint=endpoint).inc()

    def render(self) -> bytes:
        """The text exposition of every metric (of all workers in multiprocess mode)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        MultiProcessCollector(combined, path=self.multiprocess_dir)
        return generate_latest(combined)
