"""First run: the one-time setup code that lets whoever holds it create the first admin.

With no admin in the store and none configured (`GATEWAY_ADMIN_*`), the gateway makes one
random code and keeps it in the store: its hash (which decides) and a copy sealed with the
secrets key (so every process and instance sharing that key accepts the same code and can show
it in its log; one with another key can only accept it). The code is consumed and the admin
created in one transaction, and consuming is a conditional UPDATE whose row count decides: of
two concurrent submissions one creates the admin, the other changes nothing. A wrong code and a
used one get the same answer, so the code cannot be probed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from gateway.auth.permissions import Actor
from gateway.auth.sealing import Sealer, Unsealable
from gateway.services.context import Services
from gateway.services.errors import NotFound
from gateway.services.users import create_user
from gateway.store import Conflict, Store, User

# Who creates the first admin, for the record: nobody is signed in yet.
SETUP_ACTOR = Actor("(first-run setup)", admin=True)
CLOSED_MESSAGE = "this gateway is already set up, or this setup link is not valid (its code is wrong or was used)"
_SEAL_CONTEXT = "ui_setup_code.sealed_code"
_CODE_BYTES = 24


class SetupClosed(NotFound):
    """An admin exists, or the code is wrong or used (one answer for all three)."""

    def __init__(self) -> None:
        super().__init__(CLOSED_MESSAGE)


@dataclass(frozen=True)
class SetupOffer:
    """Setup is open. `code` is None when this process cannot open the sealed copy (another
    instance with another secrets key made it): it accepts the code but cannot show it."""

    code: str | None


def code_hash(code: str) -> str:
    return hashlib.sha256(b"portus-gateway setup code:" + code.encode("utf-8")).hexdigest()


async def open_setup(store: Store, sealer: Sealer, *, admin_configured: bool) -> SetupOffer | None:
    """The setup offer when the store has no admin and none is configured (the code made, or
    made again after a use that left no admin); None when no setup is needed."""
    if admin_configured or await store.has_admin():
        return None
    existing = await store.get_setup_code()
    if existing is None or existing.used_at is not None:
        code = secrets.token_urlsafe(_CODE_BYTES)
        stored = (code_hash(code), sealer.seal(code, _SEAL_CONTEXT))
        if existing is None:
            try:
                await store.add_setup_code(*stored)
                return SetupOffer(code)
            except Conflict:
                pass
        elif await store.renew_used_setup_code(*stored):
            return SetupOffer(code)
        existing = await store.get_setup_code()  # another process made (or renewed) it first
        if existing is None:
            return SetupOffer(None)
    try:
        return SetupOffer(sealer.open(existing.sealed_code, _SEAL_CONTEXT))
    except Unsealable:
        return SetupOffer(None)


async def setup_is_open(store: Store, code: str) -> bool:
    """Whether this code would create the first admin now (for showing the form)."""
    if not code or await store.has_admin():
        return False
    existing = await store.get_setup_code()
    return existing is not None and existing.used_at is None and hmac.compare_digest(existing.code_hash, code_hash(code))


async def complete_setup(services: Services, code: str, name: str, password: str) -> User:
    """Consume the code and create the admin `name`, all or nothing: a refused name or password
    leaves the code unused. Raises SetupClosed, or the user rules' Invalid and Conflict."""
    store = services.store
    async with store.transaction():
        if not code or not await store.consume_setup_code(code_hash(code)):
            raise SetupClosed
        if await store.has_admin():
            raise SetupClosed
        return await create_user(services, SETUP_ACTOR, name, password, admin=True)
