"""Repositories and their tags, as far as the asker may pull them.

Answered from the gateway's repository index (kept from the events of what passed through
it), filtered by the same policy as the token endpoint (a pull scope per repository), so no
caller is shown a repository whose pull a token request would refuse. Who asks is an
`Identity`: an application token's limits narrow what its holder may pull.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from gateway import names
from gateway.auth.namespaces import PullFilter
from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity, namespace_of
from gateway.services.context import Services
from gateway.services.errors import Forbidden, Invalid, NotFound
from gateway.services.events import EventQuery, list_events
from gateway.services.guards import search_text, valid_name
from gateway.services.namespaces import get_namespace
from gateway.services.paging import first_kept, kept_items, page_of
from gateway.services.reach import open_namespaces_of
from gateway.store import ManifestRow, RepositoryRow, TagRow


def _past_hidden(row: RepositoryRow) -> str:
    """Where to read on after a repository the asker may not pull: past its whole namespace,
    since a pull is decided by namespace (a repository of the global namespace: just past it)."""
    namespace = namespace_of(row.name)
    return names.past_namespace(namespace) if namespace else row.name


# Namespaces a listing by namespace reads in one request at most (a statement each, an empty
# one included); after them it reads on as the walk does, from where it got to.
MAX_NAMESPACES_READ = 200


@dataclass(frozen=True)
class _Reach:
    """Outside which a visitor may surely pull nothing: some namespaces, in the catalog's order
    (by `names.past_namespace`), and the global namespace or not."""

    namespaces: tuple[str, ...]
    with_global: bool


async def _reach_of(services: Services, identity: Identity) -> _Reach | None:
    """The namespaces `identity` may pull from, when the store can name them and they are few
    enough to read one by one (gateway/services/reach.py); None: walk the whole list. An
    application token limited to some namespaces: those alone (never the global one); anyone
    else but an admin: the namespaces open to them, and the global one where its visibility
    lets them pull."""
    if identity.limits is not None and identity.limits.namespaces:
        return _Reach(names.in_catalog_order(identity.limits.namespaces), False)
    if identity.admin:
        return None
    theirs = await open_namespaces_of(services, identity.name, gated=False)
    if theirs is None:
        return None
    visibility = services.rules.global_visibility
    return _Reach(theirs, visibility == "public" or (visibility == "protected" and not identity.anonymous))


async def list_repositories(services: Services, identity: Identity, after: str = "", limit: int = 100) -> list[RepositoryRow]:
    """Up to `limit` repositories named after `after` that `identity` may pull, by name; fewer
    only when no more follow."""
    return await _visible_repositories(services, identity, after, limit, "")


async def _visible_repositories(
    services: Services, identity: Identity, after: str, limit: int, contains: str
) -> list[RepositoryRow]:
    """Up to `limit` repositories named after `after` whose names contain `contains` (all when
    empty) that `identity` may pull, by name; fewer only when no more follow.

    Where the namespaces the identity may pull from are known to be few (`_reach_of`), they are
    read one by one in the catalog's order, and the global namespace's repositories beside them,
    so a page costs what it shows and the namespaces it passes, not every repository hidden from
    its visitor; a search does so only when they are at most `MAX_NAMESPACES_READ`, since each
    one costs a statement even when nothing in it matches. Otherwise (and after
    `MAX_NAMESPACES_READ` namespaces) the list (or the search, through its trigram index) is
    walked in batches, each repository kept or not by the same filter."""
    if limit <= 0:
        return []
    store = services.store
    visible = PullFilter(store, identity, services.rules)
    kept: list[RepositoryRow] = []
    reach = await _reach_of(services, identity)
    if reach is not None and contains and len(reach.namespaces) > MAX_NAMESPACES_READ:
        reach = None  # a rare text would cost a statement a namespace for nothing: the trigram index instead
    if reach is not None:
        kept, complete_to = await _read_reach(services, visible, reach, after, limit, contains)
        if complete_to is None or len(kept) == limit:
            return kept
        after = complete_to

    async def prepare(batch: Sequence[RepositoryRow]) -> None:
        await visible.prefetch(r.name for r in batch)  # the batch's namespaces in a few statements, not one each

    async def fetch(start: str, count: int) -> list[RepositoryRow]:
        if contains:
            return await store.search_repositories(contains, start, count)
        return await store.list_repositories(start, count)

    walk = kept_items(fetch, lambda r: r.name, after, lambda r: visible.allows(r.name), prepare, _past_hidden, limit)
    return kept + await first_kept(walk, limit - len(kept))


async def _read_reach(
    services: Services, visible: PullFilter, reach: _Reach, after: str, limit: int, contains: str
) -> tuple[list[RepositoryRow], str | None]:
    """Up to `limit` repositories after `after` within `reach` (containing `contains`), by name,
    and the name up to which they are all there is (None: to the end of the list). The global
    namespace's names (which share no prefix to read by) come from their own index range, merged
    in: the first `limit` of both lists hold the first `limit` of their union."""
    namespaced: list[RepositoryRow] = []
    ended, complete_to = await _read_by_namespace(services, visible, reach.namespaces, after, limit, contains, namespaced)
    bound = None if ended else complete_to
    if not reach.with_global:
        return namespaced, bound
    read = await services.store.list_global_repositories(after, limit, contains)
    if len(read) == limit and (bound is None or read[-1].name < bound):
        bound = read[-1].name
    merged = sorted(namespaced + [r for r in read if await visible.allows(r.name)], key=lambda r: r.name)
    if bound is not None:
        merged = [r for r in merged if r.name <= bound]
    return merged[:limit], bound


async def _read_by_namespace(
    services: Services, visible: PullFilter, only: Sequence[str], after: str, limit: int, contains: str,
    kept: list[RepositoryRow],
) -> tuple[bool, str]:
    """Fill `kept` from the repositories of the namespaces `only`, given in the catalog's order
    (by `names.past_namespace`, which is not the namespaces' own order: `a-b/` sorts before
    `a/`). Returns whether the list ended, and the name up to which `kept` holds all of them
    when it did not."""
    first = bisect.bisect_right(only, after, key=names.past_namespace)
    chosen = only[first:first + MAX_NAMESPACES_READ]
    await visible.prefetch_namespaces(chosen)
    for namespace in chosen:
        position = after
        while len(kept) < limit:
            wanted = limit - len(kept)
            rows = await services.store.list_repositories_in(namespace, position, wanted, contains)
            if rows and not await visible.allows(rows[0].name):
                break  # decided by namespace: none of it
            kept.extend(rows)
            if len(rows) < wanted:
                break
            position = rows[-1].name
        if len(kept) == limit:
            return False, kept[-1].name
        after = names.past_namespace(namespace)
    return first + MAX_NAMESPACES_READ >= len(only), after


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


# Push events read to tell who pushed the tags of a page (one page of the audit log).
PUSHERS_LOOKED_AT = 200
MAX_TAG_FILTER = 128  # the longest tag


@dataclass(frozen=True)
class TagPage:
    """A page of a repository's tags, the name to go on after (None at the end), and the
    referrers (signatures, SBOMs...) of each digest on the page that has any."""

    repository: RepositoryRow
    tags: list[TagRow]
    next: str | None
    referrers: dict[str, list[ManifestRow]]


def _repository_name(name: str) -> str:
    return valid_name(names.REPOSITORY, name)


async def list_namespace_repositories(
    services: Services, identity: Identity, namespace: str, after: str, limit: int
) -> tuple[list[RepositoryRow], str | None]:
    """A page of the repositories in a namespace the identity may see, those it may pull."""
    await get_namespace(services, Actor.of(identity), namespace)
    visible = PullFilter(services.store, identity, services.rules)

    async def fetch(start: str, count: int) -> list[RepositoryRow]:
        return await services.store.list_repositories_in(namespace, start, count)

    return await page_of(fetch, lambda r: r.name, after, limit, lambda r: visible.allows(r.name))


async def search_repositories(
    services: Services, identity: Identity, text: str, after: str, limit: int
) -> tuple[list[RepositoryRow], str | None]:
    """A page of the repositories whose name contains `text` that the identity may pull, and the
    name to go on after (None at the end): read as the catalog is (`_visible_repositories`)."""
    wanted = search_text(text)
    found = await _visible_repositories(services, identity, after, limit + 1, wanted)
    if len(found) > limit:
        return found[:limit], found[limit - 1].name
    return found, None


async def tag_page(
    services: Services, identity: Identity, repository: str, after: str, limit: int, contains: str = "",
) -> TagPage:
    """A repository the identity may pull, with a page of its tags (`contains`: only the tags
    containing it). One it may not pull is not found, exactly as one that does not exist."""
    _repository_name(repository)
    if len(contains) > MAX_TAG_FILTER:
        raise Invalid(f"filter tags with at most {MAX_TAG_FILTER} characters")
    store = services.store
    row = await store.get_repository(repository)
    if row is None or not await PullFilter(store, identity, services.rules).allows(repository):
        raise NotFound(f"no such repository {repository!r}")

    async def fetch(start: str, count: int) -> list[TagRow]:
        return await store.list_tags(repository, start, count, contains.lower())

    tags, following = await page_of(fetch, lambda t: t.tag, after, limit)
    referrers = await store.referrers_of(repository, [t.digest for t in tags]) if tags else {}
    return TagPage(row, tags, following, referrers)


async def tag_pushers(services: Services, identity: Identity, repository: str) -> dict[str, str]:
    """Who pushed each tag last, from the latest push events of the repository the identity may
    read (one page of the audit log: a tag pushed before them is missing)."""
    page = await list_events(
        services, identity, EventQuery(repository=_repository_name(repository), action="push", limit=PUSHERS_LOOKED_AT),
    )
    pushers: dict[str, str] = {}
    for event in page.items:
        tag, actor = (event.body.get("target") or {}).get("tag"), (event.body.get("actor") or {}).get("name")
        if isinstance(tag, str) and tag and isinstance(actor, str) and tag not in pushers:
            pushers[tag] = actor
    return pushers
