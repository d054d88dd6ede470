"""Persistence behind one async interface: SQLite (embedded default) or MariaDB (asyncmy).

Every row type, the store's errors and the webhook sealer interface are exported here; callers
import them from `gateway.store`, never from the modules that hold the queries."""

from __future__ import annotations

from gateway.store.base import Store
from gateway.store.imports import ImportedTag
from gateway.store.maintenance import MaintenanceRun, RetentionPolicyRow
from gateway.store.records import (
    AppToken,
    Conflict,
    CountMark,
    Deadlock,
    Deletion,
    EventRow,
    ManifestRow,
    Member,
    Namespace,
    NamespaceLookup,
    NamespaceStanding,
    NewEvent,
    NotFound,
    OpenNamespaces,
    PullMark,
    RefreshToken,
    RepositoryRow,
    SettledBatch,
    SetupCode,
    StoreError,
    StoreUnavailable,
    TagDeletion,
    TagPush,
    TagRow,
    Team,
    Tombstone,
    UiSession,
    UploadState,
    User,
    Webhook,
    WebhookDelivery,
    WebhookFailure,
)
from gateway.store.webhooks import FieldSealer, PlainText


async def open_store(url: str) -> Store:
    """Open the store named by a `sqlite:///PATH` or `mysql://USER:PASS@HOST:PORT/DB` URL."""
    if url.startswith("sqlite:///"):
        from gateway.store.sqlite import SQLiteStore

        return await SQLiteStore.open(url.removeprefix("sqlite:///"))
    if url.startswith("mysql://"):
        from gateway.store.mysql import MySQLStore

        return await MySQLStore.open(url)
    raise StoreError(f"unsupported database URL scheme in {url.split('://')[0]!r}")


__all__ = [
    "AppToken", "Conflict", "CountMark", "Deadlock", "Deletion", "EventRow", "FieldSealer", "ImportedTag", "MaintenanceRun",
    "ManifestRow", "Member", "Namespace", "NamespaceLookup", "NamespaceStanding", "NewEvent", "NotFound", "OpenNamespaces",
    "PlainText", "PullMark", "RefreshToken", "RepositoryRow", "RetentionPolicyRow", "SettledBatch", "SetupCode", "Store",
    "StoreError", "StoreUnavailable", "TagDeletion", "TagPush", "TagRow", "Team", "Tombstone", "UiSession", "UploadState",
    "User", "Webhook", "WebhookDelivery", "WebhookFailure", "open_store",
]
