"""Queries on users and refresh tokens."""

from __future__ import annotations

from gateway.store.records import Deletion, RefreshToken, User
from gateway.store.sql import Row, containing, now
from gateway.store.tombstones import TombstoneQueries


def _user(row: Row) -> User:
    return User(
        name=row["name"], password_hash=row["password_hash"], admin=bool(row["admin"]),
        disabled=bool(row["disabled"]), created_at=int(row["created_at"]), updated_at=int(row["updated_at"]),
        source=row.get("source", "local"),  # a row read before migration 15 (the migration tests do)
        email=row.get("email"),
    )


class UserQueries(TombstoneQueries):
    async def get_user(self, name: str) -> User | None:
        row = await self.fetch_one("SELECT * FROM users WHERE name = :name", {"name": name})
        return _user(row) if row else None

    async def list_users(self, after: str = "", limit: int = 1000, contains: str = "") -> list[User]:
        """Users by name after `after`; with `contains`, only those whose name contains it (literally)."""
        params: dict[str, str | int] = {"after": after, "limit": limit}
        matching = ""
        if contains:
            matching, params["pattern"] = " AND name LIKE :pattern ESCAPE '!'", containing(contains)
        rows = await self.fetch_all(f"SELECT * FROM users WHERE name > :after{matching} ORDER BY name LIMIT :limit", params)
        return [_user(r) for r in rows]

    async def create_user(self, name: str, password_hash: str, *, admin: bool = False, source: str = "local") -> User:
        """A directory's user (`source` other than 'local') has an empty `password_hash`: no
        password of ours matches it (gateway.auth.credentials.verify_password)."""
        moment = now()
        await self.execute(
            "INSERT INTO users (name, password_hash, admin, disabled, created_at, updated_at, source)"
            " VALUES (:name, :hash, :admin, 0, :now, :now, :source)",
            {"name": name, "hash": password_hash, "admin": int(admin), "now": moment, "source": source},
        )
        return User(name, password_hash, admin, False, moment, moment, source)

    async def list_users_from(self, source: str, after: str = "", limit: int = 1000) -> list[User]:
        """A page of the users a directory owns, by name (its periodic sync walks them)."""
        rows = await self.fetch_all(
            "SELECT * FROM users WHERE source = :source AND name > :after ORDER BY name LIMIT :limit",
            {"source": source, "after": after, "limit": limit},
        )
        return [_user(r) for r in rows]

    async def revoke_issued(self, name: str, moment: int) -> None:
        """Void the registry tokens issued to `name` up to `moment` (as a deletion does), so
        access a sync took away ends before they expire."""
        await self.execute("INSERT INTO revoked_subjects (name, revoked_at) VALUES (:name, :at)", {"name": name, "at": moment})

    async def delete_user(self, name: str, *, deleted_by: str) -> Deletion:
        """Delete a user and their personal namespace's settings; the tokens already issued to
        them (and to their application tokens) are recorded as revoked so they die with the
        account. When repositories are in their namespace the name is reserved (a tombstone)
        before anything is deleted: a failure half-way leaves a reserved name, never a free one
        with the repositories in it. A second look after the deletion catches a push that raced it."""
        async with self.transaction():
            if await self.get_user(name) is None:
                return Deletion(False)
            reserved = await self.reserve_if_occupied(name, "user", name, deleted_by)
            moment = now()
            rows = await self.fetch_all("SELECT id FROM app_tokens WHERE username = :name", {"name": name})
            token_ids = tuple(str(row["id"]) for row in rows)
            for token_id in token_ids:
                await self.execute(
                    "INSERT INTO revoked_app_tokens (id, revoked_at) VALUES (:id, :now)", {"id": token_id, "now": moment}
                )
            await self.execute("DELETE FROM team_members WHERE username = :name", {"name": name})
            await self.execute("DELETE FROM app_tokens WHERE username = :name", {"name": name})
            await self.execute("DELETE FROM oidc_links WHERE username = :name", {"name": name})
            await self.revoke_refresh_tokens(name)
            deleted = await self.execute("DELETE FROM users WHERE name = :name", {"name": name}) > 0
            if not deleted:
                return Deletion(False, reserved)
            await self.execute(
                "INSERT INTO revoked_subjects (name, revoked_at) VALUES (:name, :now)", {"name": name, "now": moment}
            )
            # A later user of the same name starts with a private namespace of no settings.
            await self.execute("DELETE FROM namespaces WHERE name = :name AND team IS NULL", {"name": name})
            await self.execute(
                "DELETE FROM namespace_quotas WHERE namespace = :name"
                " AND NOT EXISTS (SELECT 1 FROM namespaces WHERE name = :name)",
                {"name": name},
            )
            if reserved is None:
                reserved = await self.reserve_if_occupied(name, "user", name, deleted_by)
            return Deletion(True, reserved, token_ids)

    async def revoked_subjects(self, since: int) -> dict[str, int]:
        """Deleted users: tokens of theirs issued up to the returned moment are void."""
        rows = await self.fetch_all("SELECT name, revoked_at FROM revoked_subjects WHERE revoked_at >= :since", {"since": since})
        latest: dict[str, int] = {}
        for row in rows:
            latest[row["name"]] = max(latest.get(row["name"], 0), int(row["revoked_at"]))
        return latest

    async def set_user_disabled(self, name: str, disabled: bool) -> bool:
        count = await self.execute(
            "UPDATE users SET disabled = :disabled, updated_at = :now WHERE name = :name",
            {"disabled": int(disabled), "now": now(), "name": name},
        )
        return count > 0

    async def set_user_admin(self, name: str, admin: bool) -> bool:
        count = await self.execute(
            "UPDATE users SET admin = :admin, updated_at = :now WHERE name = :name",
            {"admin": int(admin), "now": now(), "name": name},
        )
        return count > 0

    async def set_user_email(self, name: str, email: str | None) -> bool:
        """Not an account change (a sign-in or sync brings it): `updated_at` is left alone."""
        count = await self.execute("UPDATE users SET email = :email WHERE name = :name", {"email": email, "name": name})
        return count > 0

    async def set_user_password(self, name: str, password_hash: str) -> bool:
        count = await self.execute(
            "UPDATE users SET password_hash = :hash, updated_at = :now WHERE name = :name",
            {"hash": password_hash, "now": now(), "name": name},
        )
        return count > 0

    async def replace_password_hash(self, name: str, old_hash: str, new_hash: str) -> bool:
        """Swap a hash for a stronger one of the same password, unless the password changed
        meanwhile (then the new password's hash stays). Not an account change: `updated_at`
        is left alone."""
        count = await self.execute(
            "UPDATE users SET password_hash = :new WHERE name = :name AND password_hash = :old",
            {"new": new_hash, "old": old_hash, "name": name},
        )
        return count > 0

    async def disabled_usernames(self) -> frozenset[str]:
        rows = await self.fetch_all("SELECT name FROM users WHERE disabled = 1")
        return frozenset(r["name"] for r in rows)

    async def add_refresh_token(self, token_hash: str, username: str, service: str, client_id: str) -> None:
        await self.execute(
            "INSERT INTO refresh_tokens (token_hash, username, service, client_id, created_at, revoked_at, last_used_at)"
            " VALUES (:hash, :user, :service, :client, :now, NULL, :now)",
            {"hash": token_hash, "user": username, "service": service, "client": client_id, "now": now()},
        )

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        row = await self.fetch_one("SELECT * FROM refresh_tokens WHERE token_hash = :hash", {"hash": token_hash})
        if row is None:
            return None
        return RefreshToken(
            token_hash=row["token_hash"], username=row["username"], service=row["service"],
            client_id=row["client_id"], created_at=int(row["created_at"]),
            revoked_at=None if row["revoked_at"] is None else int(row["revoked_at"]),
            last_used_at=None if row["last_used_at"] is None else int(row["last_used_at"]),
        )

    async def touch_refresh_token(self, token_hash: str, moment: int) -> None:
        """Record a use of the refresh token (its idle limit counts from the last one)."""
        await self.execute(
            "UPDATE refresh_tokens SET last_used_at = :now WHERE token_hash = :hash", {"now": moment, "hash": token_hash}
        )

    async def revoke_refresh_tokens(self, username: str) -> int:
        return await self.execute(
            "UPDATE refresh_tokens SET revoked_at = :now WHERE username = :user AND revoked_at IS NULL",
            {"now": now(), "user": username},
        )
