"""Queries on OpenID Connect sign-ins: the (issuer, subject) -> user links, and the sign-ins
under way (the hash of each `state`, bound to the hash of the browser's flow cookie)."""

from __future__ import annotations

from gateway.store.sql import SQLBase, now


class IdentityQueries(SQLBase):
    async def oidc_link(self, issuer: str, subject: str) -> str | None:
        """The user an (issuer, subject) signed in as before, or None."""
        row = await self.fetch_one(
            "SELECT username FROM oidc_links WHERE issuer = :issuer AND subject = :subject",
            {"issuer": issuer, "subject": subject},
        )
        return None if row is None else str(row["username"])

    async def add_oidc_link(self, issuer: str, subject: str, username: str) -> None:
        await self.execute(
            "INSERT INTO oidc_links (issuer, subject, username, created_at) VALUES (:issuer, :subject, :user, :now)",
            {"issuer": issuer, "subject": subject, "user": username, "now": now()},
        )

    async def begin_oidc_login(self, state_hash: str, browser_hash: str, max_age: int) -> None:
        """Record a sign-in under way; rows older than `max_age` seconds go (no callback uses them)."""
        moment = now()
        await self.execute("DELETE FROM oidc_logins WHERE created_at < :cutoff", {"cutoff": moment - max_age})
        await self.execute(
            "INSERT INTO oidc_logins (state_hash, browser_hash, created_at) VALUES (:state, :browser, :now)",
            {"state": state_hash, "browser": browser_hash, "now": moment},
        )

    async def finish_oidc_login(self, state_hash: str, browser_hash: str, max_age: int) -> bool:
        """Whether this state was begun by this browser within `max_age` seconds; either way it
        cannot be used again (one DELETE decides, so two callbacks at once cannot both pass)."""
        count = await self.execute(
            "DELETE FROM oidc_logins WHERE state_hash = :state AND browser_hash = :browser AND created_at >= :cutoff",
            {"state": state_hash, "browser": browser_hash, "cutoff": now() - max_age},
        )
        return count == 1
