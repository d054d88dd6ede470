"""Parse /v2 paths into routes, and compute the access each request needs (one pure function)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from multidict import MultiMapping

from gateway.auth.scopes import Scope
from gateway.names import MAX_NAME_LENGTH, NAME_PATTERN

RouteKind = Literal["base", "catalog", "manifest", "blob", "upload", "tags", "referrers"]

_PATTERNS: tuple[tuple[RouteKind, re.Pattern[str]], ...] = (
    ("manifest", re.compile(rf"/v2/(?P<name>{NAME_PATTERN})/manifests/(?P<reference>[^/]+)")),
    ("upload", re.compile(rf"/v2/(?P<name>{NAME_PATTERN})/blobs/uploads/(?P<reference>[^/]*)")),
    ("blob", re.compile(rf"/v2/(?P<name>{NAME_PATTERN})/blobs/(?P<reference>[^/]+)")),
    ("tags", re.compile(rf"/v2/(?P<name>{NAME_PATTERN})/tags/list")),
    ("referrers", re.compile(rf"/v2/(?P<name>{NAME_PATTERN})/referrers/(?P<reference>[^/]+)")),
)
_LOOSE = re.compile(r"/v2/(?P<name>.+?)/(?:manifests/[^/]+|blobs/uploads/[^/]*|blobs/[^/]+|tags/list|referrers/[^/]+)")

PULL = ("pull",)
PULL_PUSH = ("pull", "push")
DELETE = ("delete",)


class InvalidName(Exception):
    """The path has the shape of a /v2 route but the repository name breaks the grammar."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    name: str = ""
    reference: str = ""


def match_route(path: str) -> Route | None:
    """The route for a /v2 path; None when nothing matches; InvalidName for a bad name."""
    if path in ("/v2", "/v2/"):
        return Route("base")
    if path == "/v2/_catalog":
        return Route("catalog")
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(path)
        if match and len(match.group("name")) <= MAX_NAME_LENGTH:
            groups = match.groupdict()
            return Route(kind, groups["name"], groups.get("reference") or "")
    loose = _LOOSE.fullmatch(path)
    if loose:
        raise InvalidName(loose.group("name"))
    return None


_READ = ("GET", "HEAD")
_METHODS: dict[RouteKind, tuple[str, ...]] = {
    "base": _READ,
    "catalog": _READ,
    "tags": _READ,
    "manifest": ("GET", "HEAD", "PUT", "DELETE"),
    "blob": ("GET", "HEAD", "DELETE"),
    "referrers": ("GET",),
}


def allowed_methods(route: Route) -> tuple[str, ...]:
    """The methods the distribution API defines for a route (an upload is opened by POST and then
    addressed by its id)."""
    if route.kind == "upload":
        return ("GET", "PATCH", "PUT", "DELETE") if route.reference else ("POST",)
    return _METHODS[route.kind]


def method_actions(method: str) -> tuple[str, ...]:
    if method in ("GET", "HEAD"):
        return PULL
    if method == "DELETE":
        return DELETE
    return PULL_PUSH


def required_access(method: str, route: Route) -> tuple[Scope, ...]:
    """What a token must grant for this request (the mount source is handled separately).

    The catalog needs only a valid token: it lists just what the caller may pull."""
    if route.kind in ("base", "catalog"):
        return ()
    return (Scope("repository", route.name, method_actions(method)),)


def _is_mount(method: str, route: Route, query: Mapping[str, str]) -> bool:
    return method == "POST" and route.kind == "upload" and not route.reference and "mount" in query


def mount_source(method: str, route: Route, query: Mapping[str, str]) -> str | None:
    """The `from` repository of a cross-repository mount request, when this is one. `query` is the
    query as the registry reads it (gateway/registry/go_form.py): its first `from` is the one used."""
    return (query.get("from") or None) if _is_mount(method, route, query) else None


def mount_sources(method: str, route: Route, query: MultiMapping[str]) -> tuple[str, ...]:
    """Every non-empty `from` of a mount request: all must be pullable, since which of several a
    registry reads is its own business."""
    return tuple(source for source in query.getall("from", ()) if source) if _is_mount(method, route, query) else ()


_UPLOAD_BODY_METHODS = frozenset({"PATCH", "PUT", "POST"})


def is_upload_body(method: str, target: str) -> bool:
    """Whether a request with this method and raw target sends an upload's body (a blob's bytes):
    the bodies the connection reads itself (gateway/ops/owned_bodies.py). A target with escapes
    is left to aiohttp, so that the raw path is the path the route is taken from."""
    path = target.partition("?")[0]
    if method not in _UPLOAD_BODY_METHODS or "%" in path:
        return False
    try:
        route = match_route(path)
    except InvalidName:
        return False
    return route is not None and route.kind == "upload"
