"""What handlers tell the operations side: one call each, cheap, never failing the request.

`note` fills in the access-log facts of the current request; the others move a counter. They
look the metrics up through `config_dict`, so they work from the management sub-application too.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.ops.context import info_of


def note(
    request: web.Request, *, route: str | None = None, user: str | None = None,
    repository: str | None = None, action: str | None = None,
) -> None:
    info = info_of(request)
    if info is None:
        return
    if route is not None:
        info.route = route
    if user is not None:
        info.user = user
    if repository is not None:
        info.repository = repository
    if action is not None:
        info.action = action


def token_issued(request: web.Request, grant: str) -> None:
    request.config_dict[keys.METRICS].token_issued(grant)


def token_denied(request: web.Request, reason: str) -> None:
    request.config_dict[keys.METRICS].tokens_denied.labels(reason=reason).inc()


def authentication_failed(request: web.Request, kind: str) -> None:
    request.config_dict[keys.METRICS].auth_failures.labels(kind=kind).inc()


def upstream_failed(request: web.Request, kind: str) -> None:
    request.config_dict[keys.METRICS].upstream_errors.labels(kind=kind).inc()


def blob_from_storage(request: web.Request) -> None:
    request.config_dict[keys.METRICS].blobs_from_storage.inc()


def manifest_from_memory(request: web.Request, by: str) -> None:
    request.config_dict[keys.METRICS].manifests_from_memory.labels(by=by).inc()
