"""The namespaces a visitor may pull from and see, where the store can name them and they are few.

A list keyed by name, filtered by what its visitor may see, reads every row hidden from them
before it finds theirs: for a user who may see little of a big store, most of the store. Where
the namespaces open to them are few, the lists read those instead, one by one (the catalog and
repository search, gateway/services/repositories.py; the namespaces, namespaces.py). The same
filter still keeps each row or not, so a superset of what the rules allow is harmless; what
matters is that nothing they allow is missing, which the lists' integration tests hold to the
one-at-a-time rule.
"""

from __future__ import annotations

from gateway import names
from gateway.services.context import Services

# A signed-in visitor's lists are read by namespace when at most this share of the namespaces
# (one in four) is open to them: then the rows hidden from them are most of each list, and
# reading theirs one namespace at a time costs less than walking past the others. Beyond it,
# the walk keeps most of what it reads in a few statements.
SPARSE_SHARE = 4


async def open_namespaces_of(services: Services, name: str, *, gated: bool) -> tuple[str, ...] | None:
    """The namespaces (besides the global one) that `name` may pull from and see, in the order
    of their repositories' names (`names.in_catalog_order`): for nobody signed in (`name == ""`)
    the public ones; for a signed-in user also the protected ones, those of their teams and their
    own. None when they are more than 1/`SPARSE_SHARE` of the
    namespaces: always so checked for a signed-in user, and for nobody signed in when `gated`.
    Not for admins, who may see everything."""
    store = services.store
    found = await store.open_namespaces()
    if not name:
        if gated and len(found.public) * SPARSE_SHARE > found.count:
            return None
        return found.public  # kept in this order by the store
    if (len(found.public) + len(found.protected)) * SPARSE_SHARE > found.count:
        return None
    theirs = {name, *found.public, *found.protected, *await store.team_namespaces_of(name)}
    if len(theirs) * SPARSE_SHARE > found.count:
        return None
    return names.in_catalog_order(theirs)
