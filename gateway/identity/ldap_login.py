"""LDAP sign-in and the periodic group sync: the directory's answers, applied through
gateway.services.directory (the accounts and memberships an LDAP directory owns).

At each sign-in the directory decides the password and the user's groups are synced; every
`ldap.sync_interval` seconds (default 5 min) all LDAP accounts are looked up again, so a user
removed from a mapped group, or from the directory, loses that access without signing in
(see services.directory for what a sync revokes). A sync round the directory cannot answer is
skipped and logged: the last synced memberships stay until it answers again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from gateway.auth.login import DirectoryUnavailable
from gateway.identity.group_sync import GroupPlan, plan_groups
from gateway.identity.ldap import SOURCE, DirectoryEntry, LdapDirectory, normalize_dn
from gateway.services import directory as accounts
from gateway.services.context import Services
from gateway.services.errors import ServiceError
from gateway.store import StoreError, User

log = logging.getLogger(__name__)

_PAGE = 200


@dataclass(frozen=True)
class SyncRound:
    """What one periodic sync did: accounts looked up, changed, and disabled (gone from the directory)."""

    checked: int = 0
    changed: int = 0
    disabled: int = 0


class LdapSignIn:
    """gateway.auth.login.DirectoryLogin for an LDAP directory."""

    source = SOURCE

    def __init__(self, directory: LdapDirectory, services: Services) -> None:
        self.directory = directory
        self._services = services

    def _plan(self, entry: DirectoryEntry) -> GroupPlan:
        return plan_groups(entry.groups, self.directory.config.mapping, normalize_dn)

    async def sign_in(self, username: str, password: str) -> User | None:
        entry = await self.directory.authenticate(username, password)
        if entry is None:
            return None
        try:
            return await accounts.directory_sign_in(self._services, username, SOURCE, self._plan(entry), entry.email)
        except ServiceError as exc:
            log.warning("LDAP user %r accepted by the directory but not signed in: %s", username, exc.message)
            return None

    async def sync_all(self) -> SyncRound:
        """Look every LDAP account up again and apply what the directory says now; raises
        DirectoryUnavailable (the round stops, nothing is changed for those not yet looked up).

        Accounts the directory no longer has are disabled at the end of the round, unless it
        found none of several: a directory that answers "nobody" for everyone (a service account
        that lost its read access, a filter changed by mistake) is a fault to report, not a
        reason to lock every LDAP user out."""
        checked = changed = 0
        missing: list[str] = []
        after = ""
        while users := await self._services.store.list_users_from(SOURCE, after, _PAGE):
            for user in users:
                checked += 1
                entry = await self.directory.lookup(user.name)
                if entry is None:
                    missing.append(user.name)
                elif not user.disabled:
                    await accounts.record_email(self._services, user, entry.email)
                    result = await accounts.apply_group_plan(self._services, user.name, SOURCE, self._plan(entry))
                    changed += bool(result.added or result.changed or result.removed or result.admin is not None)
            after = users[-1].name
        if len(missing) > 1 and len(missing) == checked:
            log.error(
                "LDAP sync: the directory found none of the %d LDAP accounts; none disabled (check ldap.user_base,"
                " ldap.user_filter and the service account's read access)", checked,
            )
            return SyncRound(checked, changed, 0)
        disabled = 0
        for name in missing:
            disabled += await accounts.forget_directory_user(self._services, name, SOURCE)
        return SyncRound(checked, changed, disabled)

    async def run(self, interval: float) -> None:
        """Sync every `interval` seconds until cancelled; a failed round is logged, not fatal."""
        while True:
            await asyncio.sleep(interval)
            try:
                done = await self.sync_all()
            except (DirectoryUnavailable, StoreError, ServiceError) as exc:
                log.warning("LDAP sync round skipped: %s", exc)
                continue
            if done.changed or done.disabled:
                log.info("LDAP sync: %d accounts checked, %d changed, %d disabled", done.checked, done.changed, done.disabled)
