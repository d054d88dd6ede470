"""Namespace quotas with a real client: skopeo pushes into a namespace with a quota; one push
too many is refused with the quota and usage in its message, and leaves no tag and no usage
behind."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from tests.e2e.clients import Skopeo, stored_tags
from tests.integration.ui.api_calls import api_ok
from tests.support.oci_layout import build_layout
from tests.support.processes import Gateway

ADMIN = f"{Gateway.ADMIN[0]}:{Gateway.ADMIN[1]}"


def _admin(gateway: Gateway, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return api_ok(gateway, *Gateway.ADMIN, method, path, body)


def _stored_bytes(layout: Path, digest: str) -> int:
    """The config and layers of the layout's image: what it holds in the registry's storage."""
    manifest = json.loads((layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_text())
    return int(manifest["config"]["size"]) + sum(int(layer["size"]) for layer in manifest["layers"])


async def test_a_push_over_quota_is_refused_and_leaves_nothing_behind(gateway: Gateway, tmp_path: Path) -> None:
    team = f"quota{secrets.token_hex(4)}"
    _admin(gateway, "POST", "/teams", {"name": team})
    namespace = f"{team}--space"
    _admin(gateway, "POST", "/namespaces", {"name": namespace, "team": team})
    repository = f"{namespace}/app"
    skopeo = Skopeo.create(gateway, tmp_path / "client")
    small = build_layout(tmp_path / "small", layers=1, layer_size=32 * 1024, seed=f"{team}-small")
    big = build_layout(tmp_path / "big", layers=2, layer_size=32 * 1024, seed=f"{team}-big")
    small_bytes, big_bytes = _stored_bytes(small.path, small.manifest_digest), _stored_bytes(big.path, big.manifest_digest)
    quota = small_bytes + big_bytes - 1
    assert _admin(gateway, "PATCH", f"/namespaces/{namespace}", {"quota": quota})["quota"] == quota

    pushed = skopeo.copy(f"oci:{small.path}:latest", skopeo.ref(repository, "small"), dest_creds=ADMIN)
    assert pushed.ok, pushed.describe()
    assert _admin(gateway, "GET", f"/namespaces/{namespace}")["usage"] == small_bytes

    refused = skopeo.copy(f"oci:{big.path}:latest", skopeo.ref(repository, "big"), dest_creds=ADMIN)
    assert not refused.ok
    assert "denied" in refused.stderr and f"namespace '{namespace}' is over its quota" in refused.stderr, refused.describe()
    assert f"{big_bytes} + {small_bytes} > {quota} bytes" in refused.stderr, refused.describe()
    assert await stored_tags(gateway, repository) == (200, ["small"])
    assert _admin(gateway, "GET", f"/namespaces/{namespace}")["usage"] == small_bytes

    again = skopeo.copy(skopeo.ref(repository, "small"), skopeo.ref(repository, "again"), src_creds=ADMIN, dest_creds=ADMIN)
    assert again.ok, again.describe()  # a new tag for what the namespace holds adds nothing

    _admin(gateway, "PATCH", f"/namespaces/{namespace}", {"quota": str(small_bytes)})  # used up: uploads stop at once
    other = build_layout(tmp_path / "other", layers=1, layer_size=1024, seed=f"{team}-other")
    stopped = skopeo.copy(f"oci:{other.path}:latest", skopeo.ref(repository, "other"), dest_creds=ADMIN)
    assert not stopped.ok and "Writing manifest" not in stopped.stdout, stopped.describe()
    assert f"namespace '{namespace}' has used its quota" in stopped.stderr, stopped.describe()

    assert _admin(gateway, "PATCH", f"/namespaces/{namespace}", {"quota": "none"})["quota"] is None
    lifted = skopeo.copy(f"oci:{big.path}:latest", skopeo.ref(repository, "big"), dest_creds=ADMIN)
    assert lifted.ok, lifted.describe()
    assert _admin(gateway, "GET", f"/namespaces/{namespace}")["usage"] == small_bytes + big_bytes
    assert sorted((await stored_tags(gateway, repository))[1]) == ["again", "big", "small"]
