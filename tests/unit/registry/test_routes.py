"""Table tests: /v2 path + method -> route, required access and mount source."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from gateway.auth.scopes import Scope
from gateway.registry.routes import (
    InvalidName,
    Route,
    allowed_methods,
    is_upload_body,
    match_route,
    mount_source,
    mount_sources,
    required_access,
)

DIGEST = "sha256:" + "a" * 64
UPLOAD_ID = "0b5e3f6c-1a2b-4c3d-9e8f-0123456789ab"


def pull(name: str) -> tuple[Scope, ...]:
    return (Scope("repository", name, ("pull",)),)


def pull_push(name: str) -> tuple[Scope, ...]:
    return (Scope("repository", name, ("pull", "push")),)


def delete(name: str) -> tuple[Scope, ...]:
    return (Scope("repository", name, ("delete",)),)


# The catalog needs only a valid token: the gateway filters it to what the caller may pull.
CATALOG: tuple[Scope, ...] = ()

# (method, path, expected route, expected required access)
TABLE: list[tuple[str, str, Route, tuple[Scope, ...]]] = [
    # end-1: base
    ("GET", "/v2/", Route("base"), ()),
    ("GET", "/v2", Route("base"), ()),
    ("HEAD", "/v2/", Route("base"), ()),
    # catalog
    ("GET", "/v2/_catalog", Route("catalog"), CATALOG),
    # end-2 / end-3 / end-7 / end-9: manifests by tag and by digest
    ("GET", "/v2/alice/app/manifests/latest", Route("manifest", "alice/app", "latest"), pull("alice/app")),
    ("HEAD", "/v2/alice/app/manifests/latest", Route("manifest", "alice/app", "latest"), pull("alice/app")),
    ("GET", f"/v2/alice/app/manifests/{DIGEST}", Route("manifest", "alice/app", DIGEST), pull("alice/app")),
    ("HEAD", f"/v2/alice/app/manifests/{DIGEST}", Route("manifest", "alice/app", DIGEST), pull("alice/app")),
    ("PUT", "/v2/alice/app/manifests/v1.0", Route("manifest", "alice/app", "v1.0"), pull_push("alice/app")),
    ("PUT", f"/v2/alice/app/manifests/{DIGEST}", Route("manifest", "alice/app", DIGEST), pull_push("alice/app")),
    ("DELETE", f"/v2/alice/app/manifests/{DIGEST}", Route("manifest", "alice/app", DIGEST), delete("alice/app")),
    ("DELETE", "/v2/alice/app/manifests/latest", Route("manifest", "alice/app", "latest"), delete("alice/app")),
    # end-2 / end-10: blobs
    ("GET", f"/v2/alice/app/blobs/{DIGEST}", Route("blob", "alice/app", DIGEST), pull("alice/app")),
    ("HEAD", f"/v2/alice/app/blobs/{DIGEST}", Route("blob", "alice/app", DIGEST), pull("alice/app")),
    ("DELETE", f"/v2/alice/app/blobs/{DIGEST}", Route("blob", "alice/app", DIGEST), delete("alice/app")),
    # end-4a / end-4b / end-5 / end-6 / end-11: uploads
    ("POST", "/v2/alice/app/blobs/uploads/", Route("upload", "alice/app", ""), pull_push("alice/app")),
    ("PATCH", f"/v2/alice/app/blobs/uploads/{UPLOAD_ID}", Route("upload", "alice/app", UPLOAD_ID), pull_push("alice/app")),
    ("PUT", f"/v2/alice/app/blobs/uploads/{UPLOAD_ID}", Route("upload", "alice/app", UPLOAD_ID), pull_push("alice/app")),
    ("GET", f"/v2/alice/app/blobs/uploads/{UPLOAD_ID}", Route("upload", "alice/app", UPLOAD_ID), pull("alice/app")),
    ("DELETE", f"/v2/alice/app/blobs/uploads/{UPLOAD_ID}", Route("upload", "alice/app", UPLOAD_ID), delete("alice/app")),
    # end-8a / end-8b: tags
    ("GET", "/v2/alice/app/tags/list", Route("tags", "alice/app"), pull("alice/app")),
    # end-12a / end-12b: referrers
    ("GET", f"/v2/alice/app/referrers/{DIGEST}", Route("referrers", "alice/app", DIGEST), pull("alice/app")),
    # global namespace and deep names
    ("GET", "/v2/ubuntu/manifests/22.04", Route("manifest", "ubuntu", "22.04"), pull("ubuntu")),
    ("PUT", "/v2/a/b/c/d/manifests/x", Route("manifest", "a/b/c/d", "x"), pull_push("a/b/c/d")),
    # names with components that look like route keywords
    ("GET", "/v2/foo/blobs/manifests/latest", Route("manifest", "foo/blobs", "latest"), pull("foo/blobs")),
    ("GET", f"/v2/foo/manifests/blobs/{DIGEST}", Route("blob", "foo/manifests", DIGEST), pull("foo/manifests")),
    ("POST", "/v2/foo/manifests/blobs/uploads/", Route("upload", "foo/manifests", ""), pull_push("foo/manifests")),
    ("GET", "/v2/blobs/tags/list", Route("tags", "blobs"), pull("blobs")),
    ("GET", "/v2/manifests/manifests/latest", Route("manifest", "manifests", "latest"), pull("manifests")),
    ("GET", "/v2/a/tags/list/tags/list", Route("tags", "a/tags/list"), pull("a/tags/list")),
    ("GET", f"/v2/x/blobs/uploads/blobs/{DIGEST}", Route("blob", "x/blobs/uploads", DIGEST), pull("x/blobs/uploads")),
    ("PUT", "/v2/x/referrers/manifests/v1", Route("manifest", "x/referrers", "v1"), pull_push("x/referrers")),
]


@pytest.mark.parametrize(("method", "path", "route", "access"), TABLE, ids=[f"{m} {p}" for m, p, _, _ in TABLE])
def test_route_and_required_access(method: str, path: str, route: Route, access: tuple[Scope, ...]) -> None:
    assert match_route(path) == route
    assert required_access(method, route) == access


@pytest.mark.parametrize(
    "path",
    [
        "/v2/Alice/app/tags/list",
        "/v2/alice/App/manifests/latest",
        f"/v2/ALICE/blobs/{DIGEST}",
        "/v2/alice/App/blobs/uploads/",
        f"/v2/al ice/referrers/{DIGEST}",
        "/v2/a__-b/tags/list",
        "/v2/alice//app/tags/list",
        "/v2/-alice/app/tags/list",
        f"/v2/{'a' * 256}/tags/list",
    ],
)
def test_bad_repository_name_raises_invalid_name(path: str) -> None:
    with pytest.raises(InvalidName) as caught:
        match_route(path)
    assert caught.value.name
    assert caught.value.name in path


def test_invalid_name_carries_the_name() -> None:
    with pytest.raises(InvalidName) as caught:
        match_route("/v2/Alice/app/manifests/latest")
    assert caught.value.name == "Alice/app"


def test_name_of_exactly_255_characters_routes() -> None:
    name = "a" * 255
    assert match_route(f"/v2/{name}/tags/list") == Route("tags", name)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1/alice/app/tags/list",
        "/v2/token",
        "/v2/_catalog/extra",
        "/v2/alice/app",
        "/v2/alice/app/",
        "/v2/alice/app/tags",
        "/v2/alice/app/tags/list/",
        "/v2/alice/app/manifests/",
        "/v2/alice/app/manifests/latest/extra",
        "/v2/alice/app/blobs/",
        "/v2/alice/app/unknown/thing",
        "/healthz",
        "/v2/alice/app/tags/list\n",
        "/v2/alice/app\n/tags/list",
        "/v2/alice/app/blobs/uploads/\n/x",
    ],
)
def test_unrelated_paths_match_nothing(path: str) -> None:
    assert match_route(path) is None


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/v2/alice/app/manifests/v1\n", Route("manifest", "alice/app", "v1\n")),
        (f"/v2/alice/app/blobs/{DIGEST}\n", Route("blob", "alice/app", f"{DIGEST}\n")),
        ("/v2/alice/app/blobs/uploads/\n", Route("upload", "alice/app", "\n")),
    ],
)
def test_a_trailing_newline_stays_in_the_reference_for_the_reference_checks(path: str, route: Route) -> None:
    """The path patterns match in full: a `%0A` the client sent is part of what the checks see."""
    assert match_route(path) == route


# --- cross-repository mount ----------------------------------------------------------------------

UPLOAD_START = Route("upload", "alice/app", "")


def test_mount_with_from_names_the_source_repository() -> None:
    assert mount_source("POST", UPLOAD_START, {"mount": DIGEST, "from": "alice/base"}) == "alice/base"


def test_mount_source_adds_nothing_to_the_target_access() -> None:
    assert required_access("POST", UPLOAD_START) == pull_push("alice/app")


def test_mount_without_from_has_no_source() -> None:
    assert mount_source("POST", UPLOAD_START, {"mount": DIGEST}) is None


def test_mount_with_empty_from_has_no_source() -> None:
    assert mount_source("POST", UPLOAD_START, {"mount": DIGEST, "from": ""}) is None


def test_from_without_mount_is_not_a_mount() -> None:
    assert mount_source("POST", UPLOAD_START, {"from": "alice/base"}) is None


def test_plain_upload_start_is_not_a_mount() -> None:
    assert mount_source("POST", UPLOAD_START, {}) is None


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("PATCH", Route("upload", "alice/app", UPLOAD_ID)),
        ("PUT", Route("upload", "alice/app", UPLOAD_ID)),
        ("POST", Route("upload", "alice/app", UPLOAD_ID)),
        ("GET", UPLOAD_START),
        ("POST", Route("manifest", "alice/app", "latest")),
        ("PUT", Route("blob", "alice/app", DIGEST)),
    ],
)
def test_mount_parameters_elsewhere_are_not_a_mount(method: str, route: Route) -> None:
    assert mount_source(method, route, {"mount": DIGEST, "from": "alice/base"}) is None


@pytest.mark.parametrize(
    ("route", "methods"),
    [
        (Route("base"), ("GET", "HEAD")),
        (Route("catalog"), ("GET", "HEAD")),
        (Route("tags", "alice/app"), ("GET", "HEAD")),
        (Route("manifest", "alice/app", "v1"), ("GET", "HEAD", "PUT", "DELETE")),
        (Route("blob", "alice/app", DIGEST), ("GET", "HEAD", "DELETE")),
        (Route("referrers", "alice/app", DIGEST), ("GET",)),
        (UPLOAD_START, ("POST",)),
        (Route("upload", "alice/app", UPLOAD_ID), ("GET", "PATCH", "PUT", "DELETE")),
    ],
)
def test_each_route_allows_the_methods_of_the_distribution_api(route: Route, methods: tuple[str, ...]) -> None:
    assert allowed_methods(route) == methods


def test_the_first_from_is_the_mount_source_as_the_registry_reads_it() -> None:
    query = MultiDict([("mount", DIGEST), ("from", "alice/base"), ("from", "bob/other")])
    assert mount_source("POST", UPLOAD_START, query) == "alice/base"


def test_every_from_of_a_mount_is_a_source_to_check() -> None:
    query = MultiDict([("mount", DIGEST), ("from", "alice/base"), ("from", ""), ("from", "bob/other")])
    assert mount_sources("POST", UPLOAD_START, query) == ("alice/base", "bob/other")
    assert mount_sources("POST", UPLOAD_START, MultiDict([("from", "alice/base")])) == ()
    assert mount_sources("PUT", Route("upload", "alice/app", UPLOAD_ID), query) == ()


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("PATCH", "/v2/alice/app/blobs/uploads/8c1e?_state=x", True),
        ("PUT", "/v2/alice/app/blobs/uploads/8c1e?digest=sha256:00", True),
        ("POST", "/v2/alice/app/blobs/uploads/", True),
        ("GET", "/v2/alice/app/blobs/uploads/8c1e", False),
        ("PATCH", "/v2/alice/app/manifests/latest", False),
        ("PATCH", "/v2/alice/app/blobs/sha256:00", False),
        ("PATCH", "/v2/alice%2Fapp/blobs/uploads/8c1e", False),  # escapes: the route is aiohttp's to decode
        ("PATCH", "/v2/Alice/app/blobs/uploads/8c1e", False),  # not a repository name
        ("PATCH", "/api/v1/teams", False),
    ],
)
def test_upload_bodies_are_the_blob_upload_routes_written_plainly(method: str, target: str, expected: bool) -> None:
    assert is_upload_body(method, target) is expected
