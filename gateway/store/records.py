"""Rows as the rest of the gateway sees them, and the store's own errors."""

from __future__ import annotations

from dataclasses import dataclass


class StoreError(Exception):
    """Base class of every store failure."""


class Conflict(StoreError):
    """A unique key already exists."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or refused the operation."""


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    admin: bool
    disabled: bool
    created_at: int
    updated_at: int


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


@dataclass(frozen=True)
class Namespace:
    """A namespace row: a team namespace (`team` set) or a personal namespace's settings."""

    name: str
    team: str | None
    visibility: str
    created_at: int


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
    """What deleting a user or a namespace did: whether it existed, and the reservation left."""

    deleted: bool
    reserved: Tombstone | None = None


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
