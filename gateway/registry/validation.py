"""Reject malformed references before they reach the registry, with the OCI error clients expect."""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway import safe_json
from gateway.auth.scopes import is_supported_digest, is_valid_digest, is_valid_tag
from gateway.registry.routes import Route
from gateway.safe_json import TooDeep

_UPLOAD_ID = re.compile(r"[A-Za-z0-9_=-]{1,128}")


def reference_problem(method: str, route: Route, query: Mapping[str, str]) -> tuple[str, str, int] | None:
    """(OCI code, message, status) for a bad reference, digest or upload id; None when fine."""
    reference = route.reference
    if route.kind == "manifest":
        if ":" in reference:
            return _digest_problem(reference)
        if not is_valid_tag(reference):
            if method == "PUT":
                return "TAG_INVALID", f"{reference[:100]!r} is not a valid tag", 400
            # No manifest can have this name: reading or deleting it is a manifest not found.
            return "MANIFEST_UNKNOWN", f"no manifest {reference[:100]!r}: it is neither a tag nor a digest", 404
    elif route.kind in ("blob", "referrers"):
        return _digest_problem(reference)
    elif route.kind == "upload":
        if reference and not _UPLOAD_ID.fullmatch(reference):
            return "BLOB_UPLOAD_UNKNOWN", "no such upload", 404
        for name in ("digest", "mount"):
            value = query.get(name)
            if value is not None and (problem := _digest_problem(value)) is not None:
                return problem
    return None


def _digest_problem(digest: str) -> tuple[str, str, int] | None:
    if not is_valid_digest(digest):
        return "DIGEST_INVALID", f"{digest[:100]!r} is not a valid digest", 400
    if not is_supported_digest(digest):
        return "DIGEST_INVALID", f"{digest[:100]!r}: this registry supports sha256, sha384 and sha512 digests", 400
    return None


def manifest_problem(body: bytes) -> str | None:
    """Why a manifest body is refused before it reaches the registry, or None. Registry 2.8
    answers 500 to one that is JSON but not an object (`null`, `[]`), which clients would read as
    the registry being down; and one nested deeper than this process can parse could not be
    indexed (Go would take nesting up to 10,000 deep; no real manifest nests more than a few)."""
    try:
        document = safe_json.loads(body)
    except TooDeep:
        return "the manifest nests arrays or objects too deeply"
    except ValueError:
        return "the manifest is not JSON (UTF-8)"
    return None if isinstance(document, dict) else "a manifest is a JSON object"
