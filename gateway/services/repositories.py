"""Repositories and their tags, as far as the asker may pull them.

Answered from the gateway's repository index (kept from the events of what passed through
it), filtered by the same policy as the token endpoint (a pull scope per repository), so no
caller is shown a repository whose pull a token request would refuse. Who asks is an
`Identity`: an application token's limits narrow what its holder may pull.
"""

from __future__ import annotations

from gateway import names
from gateway.auth.namespaces import PullFilter
from gateway.auth.policy import Identity
from gateway.services.context import Services
from gateway.services.errors import Forbidden, Invalid, NotFound
from gateway.store import RepositoryRow, TagRow

# Repositories read at a time while a page of pullable ones fills up.
_BATCH = 200


async def list_repositories(services: Services, identity: Identity, after: str = "", limit: int = 100) -> list[RepositoryRow]:
    """Up to `limit` repositories named after `after` that `identity` may pull, by name; fewer
    only when no more follow."""
    store = services.store
    visible = PullFilter(store, identity, services.rules)
    batch_size = max(_BATCH, limit)
    kept: list[RepositoryRow] = []
    while True:
        batch = await store.list_repositories(after, batch_size)
        for row in batch:
            if await visible.allows(row.name):
                kept.append(row)
                if len(kept) == limit:
                    return kept
        if len(batch) < batch_size:
            return kept
        after = batch[-1].name


async def list_tags(services: Services, identity: Identity, repository: str, after: str = "", limit: int = 100) -> list[TagRow]:
    """Up to `limit` tags of `repository` named after `after`, by name. A repository with no
    tags is not found (the index knows a repository by what was pushed to it)."""
    if (problem := names.REPOSITORY.problem(repository)) is not None:
        raise Invalid(problem)
    store = services.store
    if not await PullFilter(store, identity, services.rules).allows(repository):
        raise Forbidden(f"you may not pull {repository!r}")
    tags = await store.list_tags(repository, after, limit)
    if not tags and not after:
        raise NotFound(f"no such repository {repository!r} (or it has no tags)")
    return tags
