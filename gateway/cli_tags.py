"""The command line's `tag delete REPOSITORY:TAG`: one tag deleted alone, as the gateway would
(gateway/services/tags.py), acting as the operator (an admin)."""

from __future__ import annotations

from gateway.auth.permissions import OPERATOR
from gateway.auth.policy import Identity
from gateway.cli_registry import cli_recorder, registry
from gateway.config import Settings
from gateway.services.context import Services
from gateway.services.errors import Invalid
from gateway.services.tags import delete_tag


def split_reference(text: str) -> tuple[str, str]:
    """`REPOSITORY:TAG` split at its last colon (a repository name has none)."""
    repository, colon, tag = text.rpartition(":")
    if not colon or not repository or not tag:
        raise Invalid(f"give the tag as REPOSITORY:TAG, not {text[:300]!r}")
    return repository, tag


async def delete(services: Services, settings: Settings, reference: str) -> None:
    repository, tag = split_reference(reference)
    async with registry(settings) as upstream:
        done = await delete_tag(
            services, Identity(OPERATOR.name, admin=True), repository, tag, upstream, cli_recorder(),
            useragent="portus-gateway command line",
        )
    kept = f"its other tags {', '.join(done.kept)} stay" if done.kept else f"the manifest stays as {done.digest}"
    print(f"tag {repository}:{tag} deleted; {kept}")
