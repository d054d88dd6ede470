"""Deleting a manifest (and so every tag that names it) on someone's behalf, by the same policy
as `DELETE /v2/NAME/manifests/DIGEST`: the registry deletes it, the index forgets it, and a
delete event with the actor's name goes to the audit log (webhooks hear of it, and every
process's manifest cache follows delete events). Layers stay in storage until the registry's
garbage collector runs.
"""

from __future__ import annotations

import aiohttp

from gateway import names
from gateway.auth.namespaces import PullFilter, facts_for
from gateway.auth.policy import Identity, grant
from gateway.auth.scopes import Scope, is_valid_digest
from gateway.events.recorder import to_row
from gateway.registry.purge import Actor as DeleteRecorder
from gateway.registry.purge import PurgeError, Upstream, delete_event, delete_upstream
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from gateway.services.gc import check_writable
from gateway.services.guards import valid_name
from gateway.services.immutable import refuse_immutable_delete

DELETE_DISABLED = "deletion is disabled in this gateway (delete.enabled = false)"
USER_AGENT = "portus-gateway web UI"


async def may_delete(services: Services, identity: Identity, repository: str) -> bool:
    """Whether a token request for `delete` on the repository would be granted."""
    scope = Scope("repository", repository, ("delete",))
    facts = await facts_for(services.store, identity, [scope], services.rules)
    return bool(grant(identity, [scope], facts, services.rules).scopes)


async def require_delete(services: Services, identity: Identity, repository: str) -> None:
    """NotFound for a repository the identity may not see, Forbidden where it may not delete."""
    if not await PullFilter(services.store, identity, services.rules).allows(repository):
        raise NotFound(f"no such repository {repository!r}")
    if not await may_delete(services, identity, repository):
        if not services.rules.delete_enabled:
            raise Forbidden(DELETE_DISABLED)
        raise Forbidden(f"you may not delete in {repository!r}")


async def check_delete(services: Services, identity: Identity, repository: str, digest: str) -> None:
    """Refuse (NotFound, Forbidden, Invalid) what `delete_manifest` refuses before it acts, so
    a confirmation page is offered only for a delete that may happen."""
    valid_name(names.REPOSITORY, repository)
    if not is_valid_digest(digest):
        raise Invalid(f"{names.shown(digest)} is not a valid digest")
    await require_delete(services, identity, repository)
    store = services.store
    if digest not in await store.manifest_digests(repository):
        raise NotFound(f"no such manifest {digest} in {repository!r}")
    await refuse_immutable_delete(store, repository, digest=digest)


async def delete_manifest(
    services: Services, identity: Identity, repository: str, digest: str, upstream: Upstream, recorder: DeleteRecorder
) -> None:
    """Delete the manifest `digest` of `repository` in the registry (through `upstream`), drop it
    and its tags from the index, and record the delete event by `recorder` (the actor's name)."""
    await check_delete(services, identity, repository, digest)
    await check_writable(services.store)
    try:
        deleted = await delete_upstream(upstream, repository, digest)
    except PurgeError as exc:
        raise (Conflict(str(exc)) if exc.refused else Unavailable(str(exc))) from None
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        raise Unavailable(f"the registry could not be reached ({exc.__class__.__name__}); try again") from None
    store = services.store
    async with store.transaction():
        await store.index_delete_manifest(repository, digest)
        if deleted:
            await store.add_event(to_row(delete_event(recorder, upstream, repository, digest, USER_AGENT)))
    recorder.on_deleted(repository, digest)
