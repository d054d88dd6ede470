"""Reject malformed references before they reach the registry, with the OCI error clients expect."""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway.auth.scopes import is_valid_digest, is_valid_tag
from gateway.registry.routes import Route

_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_=-]{1,128}$")


def reference_problem(method: str, route: Route, query: Mapping[str, str]) -> tuple[str, str, int] | None:
    """(OCI code, message, status) for a bad reference, digest or upload id; None when fine."""
    reference = route.reference
    if route.kind == "manifest":
        if ":" in reference:
            if not is_valid_digest(reference):
                return "DIGEST_INVALID", f"{reference[:100]!r} is not a valid digest", 400
        elif not is_valid_tag(reference):
            return "TAG_INVALID", f"{reference[:100]!r} is not a valid tag", 400
        elif method == "DELETE":
            return (
                "UNSUPPORTED",
                "this registry cannot delete a tag on its own; delete the manifest by digest",
                405,
            )
    elif route.kind in ("blob", "referrers"):
        if not is_valid_digest(reference):
            return "DIGEST_INVALID", f"{reference[:100]!r} is not a valid digest", 400
    elif route.kind == "upload":
        if reference and not _UPLOAD_ID.match(reference):
            return "BLOB_UPLOAD_UNKNOWN", "no such upload", 404
        digest = query.get("digest")
        if digest is not None and not is_valid_digest(digest):
            return "DIGEST_INVALID", f"{digest[:100]!r} is not a valid digest", 400
        mount = query.get("mount")
        if mount is not None and not is_valid_digest(mount):
            return "DIGEST_INVALID", f"{mount[:100]!r} is not a valid digest", 400
    return None
