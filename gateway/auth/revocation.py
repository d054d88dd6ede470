"""An in-memory view of who may no longer use issued tokens, refreshed from the store.

The proxy asks it on every request; it never touches the database itself. It is refreshed when
the store's change watch sees a new data version (any process's revocation bumps it, so every
instance follows within one poll of `changes.poll_seconds`), and at the latest every
`revocation.refresh_seconds` (for what only time changes: old entries leaving the view).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from gateway.auth.policy import namespace_of
from gateway.background import running
from gateway.store import Store, StoreError
from gateway.store.change_watch import ChangeWatch

log = logging.getLogger(__name__)


# What enabling a user again does not undo: disabling revoked their refresh tokens for good.
ENABLED_AGAIN_NOTE = (
    "refresh tokens revoked by the disable stay revoked: a docker login made before it must be repeated "
    "(passwords, application tokens and unexpired registry tokens work again)"
)

# Revoked application tokens are remembered this long: longer than any JWT issued from them lives.
REMEMBER_REVOKED_SECONDS = 2 * 86400


class RevocationView:
    def __init__(self) -> None:
        self._disabled: frozenset[str] = frozenset()
        self._revoked_app_tokens: frozenset[str] = frozenset()
        self._deleted: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._changes = 0

    def is_revoked(self, subject: str, app_token: str | None = None, issued_at: int = 0) -> bool:
        """Disabled users, revoked application tokens, and tokens issued to a since-deleted user
        (a later user of the same name gets tokens issued after the deletion)."""
        if subject in self._disabled or (app_token is not None and app_token in self._revoked_app_tokens):
            return True
        deleted_at = self._deleted.get(subject)
        return deleted_at is not None and issued_at <= deleted_at

    def predates_reservation(self, repository: str, issued_at: int) -> bool:
        """Was this token issued before (or in the second of) the deletion that reserved the
        repository's namespace? Its grant was decided for the namespace's former owner, so it is
        void there, even after the name was released (a new owner must not find old tokens in).
        Tokens issued later were decided with the reservation in view."""
        reserved_at = self._reserved.get(namespace_of(repository))
        return reserved_at is not None and issued_at <= reserved_at

    def reserve(self, namespace: str, moment: int) -> None:
        self._reserved = {**self._reserved, namespace: max(moment, self._reserved.get(namespace, 0))}
        self._changes += 1

    def delete(self, subject: str, moment: int) -> None:
        self._deleted = {**self._deleted, subject: moment}
        self._changes += 1

    def revoke_issued(self, subject: str, moment: int) -> None:
        """Tokens issued to `subject` up to `moment` are void (a directory sync took access away)."""
        self._deleted = {**self._deleted, subject: max(moment, self._deleted.get(subject, 0))}
        self._changes += 1

    def disable(self, subject: str) -> None:
        """Take effect at once in this process (other instances follow at their next refresh)."""
        self._disabled = self._disabled | {subject}
        self._changes += 1

    def enable(self, subject: str) -> None:
        self._disabled = self._disabled - {subject}
        self._changes += 1

    def revoke_app_token(self, token_id: str) -> None:
        self._revoked_app_tokens = self._revoked_app_tokens | {token_id}
        self._changes += 1

    async def refresh(self, store: Store) -> None:
        """Replace the view with the store's, unless a local change raced with the read."""
        changes = self._changes
        disabled = await store.disabled_usernames()
        since = int(time.time()) - REMEMBER_REVOKED_SECONDS
        revoked = await store.revoked_app_token_ids(since)
        deleted = await store.revoked_subjects(since)
        reserved = await store.reservations_since(since)
        if changes == self._changes:
            self._disabled, self._revoked_app_tokens, self._deleted = disabled, revoked, deleted
            self._reserved = reserved

    async def run(self, store: Store, watch: ChangeWatch, interval: float) -> None:
        """Refresh at each change the watch sees, else every `interval`; a failing store keeps
        the last view (and says so)."""
        seen = watch.generation
        while True:
            seen = await watch.changed_since(seen, interval)
            try:
                await self.refresh(store)
            except StoreError as exc:
                log.warning("revocation view not refreshed: %s", exc)


async def refreshing(view: RevocationView, store: Store, watch: ChangeWatch, interval: float) -> AsyncIterator[None]:
    """Cleanup-context body: load once, then keep refreshing until shutdown."""
    await view.refresh(store)
    async with running(view.run(store, watch, interval), "revocation-refresh"):
        yield
