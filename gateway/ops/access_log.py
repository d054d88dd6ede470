"""One structured line per finished request, and the request metrics recorded at the same moment.

This replaces aiohttp's access log (`web.run_app(access_log_class=...)`). aiohttp calls `log`
after the last byte of the response was written, so duration and byte counts are exact and the
streaming proxy pays nothing per chunk. The line never carries a header value; query parameters
that hold secrets or signed state are replaced by `redacted`.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gateway.ops.context import info_of, new_request_id
from gateway.ops.logs import LogOutput
from gateway.ops.metrics import Metrics, method_label

MAX_PATH = 2048
REDACTED_PARAMS = frozenset({"_state", "_gw", "password", "token", "access_token", "refresh_token", "client_secret"})
_CHILDREN_LIMIT = 4096
_FIXED_ROUTES = {
    "/v2/token": "token", "/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics",
    "/.well-known/jwks.json": "jwks",
}


def route_label(path: str, noted: str) -> str:
    """A small fixed set of route names for metric labels (never the raw path)."""
    if noted:
        return noted
    fixed = _FIXED_ROUTES.get(path)
    if fixed:
        return fixed
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/v2"):
        return "v2_unmatched"
    return "unmatched"


def loggable_target(request: web.BaseRequest) -> str:
    """Path and query as sent, with secret-bearing query values redacted, quotes escaped, bounded."""
    url = request.rel_url
    target = url.raw_path
    query = url.raw_query_string
    if query:
        parts = []
        for part in query.split("&"):
            name, sep, _ = part.partition("=")
            secret = name in REDACTED_PARAMS or ("%" in name and unquote_plus(name) in REDACTED_PARAMS)
            parts.append(f"{name}=redacted" if sep and secret else part)
        target += "?" + "&".join(parts)
    if len(target) > MAX_PATH:
        target = target[:MAX_PATH] + "..."
    return target.replace('"', "%22").replace("\\", "%5C")


class AccessLogger(AbstractAccessLogger):
    """Bind it to an application's metrics and the log output with `AccessLogger.bound(metrics, output)`."""

    metrics: Metrics | None = None
    output: LogOutput | None = None  # where lines go without a logging record (gateway/ops/logs.py)
    # The labelled metric children per (route, method, status): `labels()` is a locked lookup
    # that every request would otherwise repeat four times.
    children: ClassVar[dict[tuple[str, str, int], tuple[Any, Any, Any, Any]]] = {}

    @classmethod
    def bound(cls, metrics: Metrics, output: LogOutput | None = None) -> type[AccessLogger]:
        return type("BoundAccessLogger", (cls,), {"metrics": metrics, "output": output, "children": {}})

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        info = info_of(request)
        route = route_label(request.path, info.route if info else "")
        method = request.method
        status = response.status
        received = request.content.total_bytes
        sent = response.body_length
        if self.metrics is not None:
            self._record(route, method, status, received, sent, time)
        output = self.output
        if not (output.access if output is not None else self.logger.isEnabledFor(logging.INFO)):
            return
        fields: dict[str, Any] = {
            # Requests aiohttp refused before any handler ran (a TLS hello on a plain port) get one here.
            "request_id": info.request_id if info else new_request_id(),
            "remote": (info.remote if info else None) or request.remote,
            "method": method,
            "path": loggable_target(request),
            "status": status,
            "route": route,
            "user": info.user if info else None,
            "repository": info.repository if info and info.repository else None,
            "action": info.action if info and info.action else None,
            "bytes_in": received,
            "bytes_out": sent,
            "duration_ms": round(time * 1000, 3),
            "user_agent": request.headers.get("User-Agent", "")[:200],
        }
        if output is not None:
            output.access_line(self._text(request, fields), fields)
        else:
            self.logger.info(self._text(request, fields), extra={"access": fields})

    def _record(self, route: str, method: str, status: int, received: int, sent: int, duration: float) -> None:
        key = (route, method, status)
        children = self.children.get(key)
        if children is None:
            metrics = self.metrics
            assert metrics is not None
            label = method_label(method)
            children = (
                metrics.requests.labels(route=route, method=label, status=str(status)),
                metrics.latency.labels(route=route, method=label),
                metrics.received_bytes.labels(route=route),
                metrics.sent_bytes.labels(route=route),
            )
            if len(self.children) < _CHILDREN_LIMIT:
                self.children[key] = children
        requests, latency, received_bytes, sent_bytes = children
        requests.inc()
        latency.observe(duration)
        if received:
            received_bytes.inc(received)
        if sent:
            sent_bytes.inc(sent)

    @staticmethod
    def _text(request: web.BaseRequest, fields: dict[str, Any]) -> str:
        user = fields["user"]
        shown_user = "-" if user is None else (user or "(anonymous)")
        version = f"{request.version.major}.{request.version.minor}"
        referer = _quoted(request.headers.get("Referer", "-")[:200])
        agent = _quoted(fields["user_agent"] or "-")
        # The combined log format aiohttp and most proxies write, then our fields.
        return (
            f'{fields["remote"] or "-"} "{fields["method"]} {fields["path"]} HTTP/{version}" {fields["status"]} '
            f'{fields["bytes_out"]} "{referer}" "{agent}" in={fields["bytes_in"]} {fields["duration_ms"]:.1f}ms '
            f'id={fields["request_id"]} user={shown_user} repository={fields["repository"] or "-"} '
            f'action={fields["action"] or "-"}'
        )


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
