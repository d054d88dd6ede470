"""Rows as the rest of the gateway sees them, and the store's own errors: every type a store
query takes or returns is here, so callers import them from `gateway.store` alone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any


class StoreError(Exception):
    """Base class of every store failure."""


class Conflict(StoreError):
    """A unique key already exists."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or refused the operation."""


class NoSuchTable(StoreUnavailable):
    """A statement named a table the database does not have (yet: before its migration)."""


class Deadlock(StoreUnavailable):
    """MariaDB made this transaction a deadlock's victim, or its lock wait timed out: the
    transaction was rolled back whole (`SQLBase.transaction` rolls back on any error), so running
    the same block again is safe, and the way out InnoDB expects."""


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    admin: bool
    disabled: bool
    created_at: int
    updated_at: int
    source: str = "local"  # 'local', or the directory that owns the account ('ldap', 'oidc')
    email: str | None = None  # as the directory or a Portus import gave it


@dataclass(frozen=True)
class RefreshToken:
    token_hash: str
    username: str
    service: str
    client_id: str
    created_at: int
    revoked_at: int | None
    last_used_at: int | None = None


class NotFound(StoreError):
    """The row to change does not exist."""


@dataclass(frozen=True)
class Team:
    name: str
    created_at: int


@dataclass(frozen=True)
class Member:
    team: str
    username: str
    role: str
    managed_by: str | None = None  # the directory whose sync added it; None: added by hand


@dataclass(frozen=True)
class Namespace:
    """A namespace row: a team namespace (`team` set) or a personal namespace's settings."""

    name: str
    team: str | None
    visibility: str
    created_at: int
    immutable_tags: tuple[str, ...] = ()  # fnmatch patterns of tags that may not move or go


@dataclass(frozen=True)
class OpenNamespaces:
    """The namespaces that anyone (public) or any signed-in user (protected) may pull from, each
    in the order of their repositories' names (`names.past_namespace`: `a-b` before `a`), and how
    many namespace rows there are in all (`AccessQueries.open_namespaces`)."""

    public: tuple[str, ...]
    protected: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class NamespaceStanding:
    """Everything a token decision needs about one namespace and one caller, read at once."""

    reserved: bool  # an active tombstone holds the name
    row: bool  # a namespaces row exists
    team: str | None
    visibility: str | None
    role: str | None  # the caller's role in the namespace's team
    user_named: bool  # a user of this name exists (a personal namespace)

    def lookup(self, name: str) -> NamespaceLookup:
        """The same facts as a lookup of this one namespace, for the one rule that reads them."""
        rows = {name: Namespace(name, self.team, self.visibility or "private", 0)} if self.row else {}
        roles = {self.team: self.role} if self.team is not None and self.role is not None else {}
        return NamespaceLookup(rows, {name} if self.reserved else set(), {name} if self.user_named else set(), roles)


@dataclass(frozen=True)
class NamespaceLookup:
    """Many namespaces at once, as access decisions need them (`AccessQueries.namespace_lookup`):
    their rows by name, the reserved ones, those that are users' names, and the asker's role
    by team."""

    rows: dict[str, Namespace]
    reserved: set[str]
    users: set[str]
    roles: dict[str, str]


@dataclass(frozen=True)
class AppToken:
    id: str
    username: str
    name: str
    secret_hash: str
    namespaces: tuple[str, ...]
    actions: tuple[str, ...]
    expires_at: int | None
    created_at: int
    last_used_at: int | None
    origin: str | None = None  # where an imported token came from ("portus"); None for the gateway's own
    legacy_hash: str | None = None  # the source's slow hash of the secret, until the token's first use


@dataclass(frozen=True)
class Tombstone:
    """A namespace deleted while repositories were in it, kept reserved: nobody may take the
    name (and with it those repositories) until an admin releases or purges it."""

    name: str
    deleted_at: int
    former_kind: str  # "user" (a personal namespace), "team", or "none" (it belonged to no one)
    former_owner: str | None
    deleted_by: str
    repositories: int


@dataclass(frozen=True)
class Deletion:
    """What deleting a user or a namespace did: whether it existed, the reservation left, and
    the ids of the application tokens it revoked (a user's)."""

    deleted: bool
    reserved: Tombstone | None = None
    revoked_tokens: tuple[str, ...] = ()


# -- the event log ---------------------------------------------------------------------------

@dataclass(frozen=True)
class EventRow:
    seq: int
    id: str
    created_at_ms: int
    action: str
    repository: str
    body_json: str  # as stored: compact JSON, so webhooks send it without parsing it

    @cached_property
    def body(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body_json)
        return loaded


@dataclass(frozen=True)
class TagPush:
    """A push of a tag, from the event log's columns alone (no body to read)."""

    seq: int
    repository: str
    tag: str
    actor: str
    created_at_ms: int


@dataclass(frozen=True)
class SettledBatch:
    """Settled events after a webhook cursor, as a delivery sends them: their seqs in order and
    their bodies joined with commas (the inside of an envelope's array), in the same order."""

    seqs: tuple[int, ...]
    bodies_json: str

    @classmethod
    def of(cls, events: Sequence[EventRow]) -> SettledBatch:
        return cls(tuple(e.seq for e in events), ",".join(e.body_json for e in events))


@dataclass
class CountMark:
    """What the last walk of retention by count learnt (kept by the pruning loop between rounds):
    at most `at_most` events had seqs up to `top` (0: no walk yet)."""

    top: int = 0
    at_most: int = 0


@dataclass(frozen=True)
class NewEvent:
    """An event ready to store: the indexed columns and the full distribution-shaped body."""

    id: str
    created_at_ms: int
    action: str
    repository: str
    tag: str
    digest: str
    actor: str
    body: dict[str, Any]


# -- the repository index --------------------------------------------------------------------

@dataclass(frozen=True)
class TagDeletion:
    """A tag deletion in progress (gateway/store/tag_deletions.py). `digest`, `media_type`,
    `manifest` and `restore_tags` are None until journaled, before anything is deleted."""

    repository: str
    tag: str
    holder: str
    lease_until: int  # ms
    actor: str
    digest: str | None = None
    media_type: str | None = None
    manifest: bytes | None = None
    restore_tags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TagRow:
    repository: str
    tag: str
    digest: str
    media_type: str
    size: int  # the manifest's own bytes
    pushed_at: int
    image_size: int | None = None  # config + layers; None for an index or a row indexed before
    platforms: tuple[str, ...] = ()  # an index's os/arch[/variant]
    last_pull_at: int | None = None  # by this tag, or by the digest it names; None: not since indexed


@dataclass(frozen=True)
class PullMark:
    """A pull, as the index records it: by tag (`tag` set) or by digest (`tag` empty)."""

    repository: str
    tag: str
    digest: str
    at: int


@dataclass(frozen=True)
class ManifestRow:
    repository: str
    digest: str
    media_type: str
    size: int
    artifact_type: str | None
    subject: str | None
    annotations: dict[str, str] | None
    pushed_at: int
    image_size: int | None = None
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class RepositoryRow:
    name: str
    created_at: int
    last_push_at: int | None
    last_pull_at: int | None


# -- blob uploads ----------------------------------------------------------------------------

@dataclass(frozen=True)
class UploadState:
    id: str
    repository: str
    offset: int
    state: str


# -- webhooks and their delivery state -------------------------------------------------------

@dataclass(frozen=True)
class Webhook:
    name: str
    url: str
    secret: str
    headers: dict[str, str]
    actions: tuple[str, ...]
    repository_pattern: str
    source: str
    cursor_seq: int
    disabled_reason: str | None = None  # why it delivers nothing (an import it cannot send as it was)


@dataclass(frozen=True)
class WebhookFailure:
    webhook: str
    event_seq: int
    state: str
    attempts: int
    last_error: str
    updated_at: int


@dataclass(frozen=True)
class WebhookDelivery:
    """One envelope sent to a webhook, after its retries: the events it carried, the receiver's
    status code (None when none answered) and what went wrong (None on success). `id` is 0
    until stored."""

    webhook: str
    seqs: tuple[int, ...]
    status_code: int | None
    error: str | None
    attempts: int
    redelivery: bool
    delivered_at: int
    id: int = 0

    @property
    def succeeded(self) -> bool:
        return self.error is None


# -- web UI sessions and the first-run setup code ---------------------------------------------

@dataclass(frozen=True)
class UiSession:
    """A web UI session; `id_hash` is the hash of the id the browser's cookie holds."""

    id_hash: str
    username: str
    created_at: int
    last_seen_at: int
    ended_at: int | None


@dataclass(frozen=True)
class SetupCode:
    """The first-run setup code: its hash decides, its sealed copy is shown in the log."""

    code_hash: str
    sealed_code: str
    created_at: int
    used_at: int | None
