"""Namespace quotas: how much storage a namespace's manifests may hold, counted as Harbor does
(the sum of the distinct blobs they hold: config and layers, an index's children's blobs;
a blob shared by two repositories of the namespace counts once; a mounted blob counts once a
manifest holds it). Admins set and lift quotas; whoever may see a namespace sees its quota and
usage. A push that would take a namespace past its quota is refused at its manifest PUT, before
the registry has it (no tag moves); an upload is refused from its start while the namespace is
at or over its quota. The global namespace (names without `/`) has no quota.

Two pushes racing into one namespace are each checked against the usage before the other, so
together they may pass the quota by what they add; the next push is refused.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from gateway import names, safe_json
from gateway.auth.permissions import Actor
from gateway.auth.policy import namespace_of
from gateway.events.manifest_blobs import references
from gateway.services.context import Services
from gateway.services.errors import Invalid, Unavailable
from gateway.services.guards import require_admin
from gateway.services.namespaces import get_namespace
from gateway.store import Store

if TYPE_CHECKING:
    from gateway.registry.purge import Upstream

# The largest quota: no registry holds 2**62 bytes, and both stores keep it in a BIGINT.
MAX_QUOTA = 2**62
NO_QUOTA = "none"
_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50,
}
_SIZE = re.compile(r"([0-9]{1,20})(?:\.([0-9]{1,9}))? ?([a-z]{0,3})", re.ASCII | re.IGNORECASE)
_SHOWN_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def parse_size(text: str) -> int | None:
    """A quota as people write it: `10GiB`, `500MB`, `1.5 TiB`, `1048576` (bytes); `none`: no
    quota. Units are decimal (kB, MB, GB, TB, PB) or binary (KiB ... PiB), in any case."""
    cleaned = text.strip()
    if cleaned.lower() == NO_QUOTA:
        return None
    match = _SIZE.fullmatch(cleaned)
    unit = match.group(3).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise Invalid(
            f"{names.shown(text[:40])} is not a size: write it like 10GiB, 500MB or 1048576 (bytes), or {NO_QUOTA} for no quota"
        )
    whole, fraction = match.group(1), match.group(2) or "0"
    size = int(Decimal(f"{whole}.{fraction}") * _UNITS[unit])
    if size > MAX_QUOTA:
        raise Invalid(f"a quota may be at most {MAX_QUOTA} bytes")
    return size


def format_size(size: int) -> str:
    """`size` bytes for people: `512 B`, `1.5 GiB` (binary units, one decimal)."""
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_SHOWN_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{size} B" if unit == 0 else f"{value:.1f} {_SHOWN_UNITS[unit]}"


@dataclass(frozen=True)
class Quota:
    """A namespace's quota in bytes (None: none) and the storage its manifests hold now."""

    namespace: str
    quota: int | None
    usage: int

    @property
    def text(self) -> str:
        """`1.2 MiB of 10.0 GiB` (or `... (no quota)`), as the CLI and UI show it."""
        limit = f"of {format_size(self.quota)}" if self.quota is not None else "(no quota)"
        return f"{format_size(self.usage)} {limit}"


def push_refusal(namespace: str, quota: int | None, usage: int, adds: int) -> str | None:
    """Why a push that adds `adds` bytes to the namespace is refused; None when it fits. A push
    that adds nothing (a new tag for what is there) always fits."""
    if quota is None or adds == 0 or usage + adds <= quota:
        return None
    return (
        f"namespace {namespace!r} is over its quota: this push adds {format_size(adds)} to the {format_size(usage)}"
        f" it uses of its {format_size(quota)} quota ({adds} + {usage} > {quota} bytes)"
    )


async def upload_refusal(
    store: Store, repository: str, quota_of: Callable[[str], Awaitable[int | None]] | None = None
) -> str | None:
    """Why an upload into `repository` is refused before it starts (its namespace has used up its
    quota); None when it may go on. `quota_of`: where the namespace's quota is read (the store by
    default; the proxy keeps it per data version, gateway/registry/gate_reads.py). The usage is
    read from the store, and only when the namespace has a quota."""
    namespace = namespace_of(repository)
    quota = await (quota_of or store.namespace_quota)(namespace) if namespace else None
    if quota is None:
        return None
    usage = await store.namespace_usage(namespace)
    if usage < quota:
        return None
    return (
        f"namespace {namespace!r} has used its quota: it holds {format_size(usage)} of {format_size(quota)}"
        f" ({usage} of {quota} bytes); delete images or ask an admin to raise the quota"
    )


async def manifest_refusal(store: Store, repository: str, adds: int) -> str | None:
    """Why a manifest PUT that adds `adds` bytes to its namespace is refused; None when it fits."""
    namespace = namespace_of(repository)
    if not namespace or adds == 0:
        return None
    quota = await store.namespace_quota(namespace)
    if quota is None:
        return None
    return push_refusal(namespace, quota, await store.namespace_usage(namespace), adds)


async def quota_of(services: Services, actor: Actor, name: str) -> Quota:
    """A namespace's quota and usage, for whoever may see the namespace."""
    await get_namespace(services, actor, name)
    store = services.store
    return Quota(name, await store.namespace_quota(name), await store.namespace_usage(name))


async def quotas_of(services: Services, shown: list[str]) -> dict[str, Quota]:
    """The quotas and usages of namespaces the caller was shown already (a page of a list)."""
    found = await services.store.quotas_and_usages(shown)
    return {name: Quota(name, *found[name]) for name in shown}


async def set_quota(services: Services, actor: Actor, name: str, text: str) -> Quota:
    """Set (`10GiB`) or lift (`none`) a namespace's quota; admins only. Lowering it below the
    usage deletes nothing: the namespace takes no new blobs until it is below again."""
    quota = parse_size(text)
    require_admin(actor, "set quotas")
    await get_namespace(services, actor, name)
    await services.store.set_namespace_quota(name, quota)
    return await quota_of(services, actor, name)


@dataclass(frozen=True)
class Recount:
    namespaces: dict[str, int]  # namespace -> usage after the recount
    manifests: int  # manifests read from the registry
    missing: int  # manifests of the index the registry no longer has


async def recount(services: Services, actor: Actor, namespace: str | None, upstream: Upstream) -> Recount:
    """Read every indexed manifest of a namespace (of all, when None) from the registry and
    record the blobs it holds with the sizes the registry gives: for manifests pushed before
    the gateway counted usage (migration 18), and to check the count. Admins only."""
    require_admin(actor, "recount quotas")
    # The registry's client (and aiohttp) only where a recount runs, not for the command
    # line's other namespace commands, which read quotas.
    import aiohttp

    from gateway.registry.blob_sizes import blob_size, manifest_bytes

    store = services.store
    if namespace is not None:
        await get_namespace(services, actor, namespace)
        repositories = await store.namespace_repositories(namespace)
    else:
        repositories = await _every_repository(store)
    sizes: dict[str, int | None] = {}
    seen: set[str] = set()
    read = missing = 0
    try:
        for repository in repositories:
            owner = namespace_of(repository)
            seen.add(owner)
            indexes: list[tuple[str, bytes]] = []
            for digest in await store.manifest_digests(repository):
                body = await manifest_bytes(upstream, repository, digest)
                if body is None:
                    missing += 1
                    continue
                read += 1
                refs = references(_parsed(body))
                if refs.children:
                    indexes.append((digest, body))
                    continue
                for blob in refs.blobs:
                    if blob not in sizes:
                        sizes[blob] = await blob_size(upstream, repository, blob)
                await store.replace_manifest_blobs(owner, repository, digest, {b: sizes[b] or 0 for b in refs.blobs})
            for digest, body in indexes:  # after their children, whose blobs they hold
                refs = references(_parsed(body))
                held = await store.child_blob_sizes(repository, refs.children)
                for blob in refs.blobs:
                    if blob not in sizes:
                        sizes[blob] = await blob_size(upstream, repository, blob)
                    held[blob] = sizes[blob] or 0
                await store.replace_manifest_blobs(owner, repository, digest, held)
            await store.relive_manifest_blobs(repository)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise Unavailable(f"the registry could not be reached ({exc.__class__.__name__}); try again") from None
    if namespace is not None:
        seen.add(namespace)
    return Recount({name: await store.namespace_usage(name) for name in sorted(seen)}, read, missing)


def _parsed(body: bytes) -> object:
    try:
        return safe_json.loads(body)
    except ValueError:
        return None


async def _every_repository(store: Store) -> list[str]:
    found: list[str] = []
    after = ""
    while page := await store.list_repositories(after, 500):
        found.extend(r.name for r in page)
        after = page[-1].name
    return found

