"""References and manifest bodies refused before they reach the registry, which would answer 500."""

from __future__ import annotations

import pytest

from gateway.registry.routes import Route
from gateway.registry.validation import manifest_problem, reference_problem

SHA256 = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{}", None), (b'{"schemaVersion": 2}', None), (b"null", "a manifest is a JSON object"),
        (b"[]", "a manifest is a JSON object"), (b"42", "a manifest is a JSON object"),
        (b"{", "the manifest is not JSON (UTF-8)"), (b"\xff\xfe{", "the manifest is not JSON (UTF-8)"),
        (b'{"size": ' + b"9" * 5000 + b"}", "the manifest is not JSON (UTF-8)"),
        (b"[" * 100_000, "the manifest nests arrays or objects too deeply"),
        (b'{"annotations": ' + b"[" * 5000 + b"]" * 5000 + b"}", "the manifest nests arrays or objects too deeply"),
    ],
    ids=["empty", "object", "null", "array", "number", "cut", "utf16", "huge-number", "deep", "deep-inside"],
)
def test_a_manifest_body_must_be_a_json_object(body: bytes, expected: str | None) -> None:
    assert manifest_problem(body) == expected


@pytest.mark.parametrize(
    "route",
    [
        Route("manifest", "alice/app", "md5:" + "ab" * 16),
        Route("blob", "alice/app", "sha256+b64:abc"),
        Route("referrers", "alice/app", "sha512:" + "ab" * 32),
    ],
)
def test_a_digest_the_registry_cannot_look_up_is_digest_invalid(route: Route) -> None:
    problem = reference_problem("GET", route, {})
    assert problem is not None and problem[0] == "DIGEST_INVALID" and problem[2] == 400


def test_upload_digest_and_mount_must_be_supported_digests() -> None:
    upload = Route("upload", "alice/app", "")
    for method, route, query in [("POST", upload, {"mount": "md5:" + "ab" * 16}), ("PUT", Route("upload", "alice/app", "abc"), {"digest": "a:b"})]:
        problem = reference_problem(method, route, query)
        assert problem is not None and problem[0] == "DIGEST_INVALID"
    assert reference_problem("POST", upload, {"mount": SHA256}) is None


def test_supported_digests_and_tags_pass() -> None:
    assert reference_problem("GET", Route("manifest", "alice/app", SHA256), {}) is None
    assert reference_problem("GET", Route("manifest", "alice/app", "sha384:" + "ab" * 48), {}) is None
    assert reference_problem("GET", Route("manifest", "alice/app", "v1.0"), {}) is None


@pytest.mark.parametrize("tag", ["v1\n", "-bad-tag", "v1 ", "\nv1"])
def test_an_invalid_tag_is_tag_invalid_on_put(tag: str) -> None:
    assert reference_problem("PUT", Route("manifest", "alice/app", tag), {}) == ("TAG_INVALID", f"{tag!r} is not a valid tag", 400)


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
@pytest.mark.parametrize("tag", ["v1\n", "-bad-tag"])
def test_an_invalid_tag_is_an_unknown_manifest_to_read_or_delete(method: str, tag: str) -> None:
    """No manifest can carry such a tag: 404 as the registry answers (OCI: 404 for a missing manifest)."""
    problem = reference_problem(method, Route("manifest", "alice/app", tag), {})
    assert problem is not None and problem[0] == "MANIFEST_UNKNOWN" and problem[2] == 404


@pytest.mark.parametrize(
    "route", [Route("blob", "alice/app", SHA256 + "\n"), Route("referrers", "alice/app", SHA256 + "\n"), Route("manifest", "alice/app", SHA256 + "\n")]
)
def test_a_digest_with_a_trailing_newline_is_digest_invalid(route: Route) -> None:
    problem = reference_problem("GET", route, {})
    assert problem is not None and problem[0] == "DIGEST_INVALID" and problem[2] == 400


def test_an_upload_id_with_a_trailing_newline_is_an_unknown_upload() -> None:
    assert reference_problem("PATCH", Route("upload", "alice/app", "abc\n"), {}) == ("BLOB_UPLOAD_UNKNOWN", "no such upload", 404)


@pytest.mark.parametrize("reference", [".INVALID_MANIFEST_NAME", "-bad-tag", "a" * 129])
@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_reading_or_deleting_a_name_no_manifest_can_have_is_manifest_unknown(reference: str, method: str) -> None:
    assert reference_problem(method, Route("manifest", "alice/app", reference), {}) == (
        "MANIFEST_UNKNOWN", f"no manifest {reference[:100]!r}: it is neither a tag nor a digest", 404,
    )


def test_pushing_under_a_name_that_is_not_a_tag_is_tag_invalid() -> None:
    problem = reference_problem("PUT", Route("manifest", "alice/app", ".INVALID_MANIFEST_NAME"), {})
    assert problem is not None and problem[0] == "TAG_INVALID" and problem[2] == 400


def test_deleting_by_a_valid_tag_is_no_problem() -> None:
    assert reference_problem("DELETE", Route("manifest", "alice/app", "v1"), {}) is None
