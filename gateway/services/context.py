"""What the management operations work with, gathered once per caller: the API builds it from
the application, the CLI from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.credentials import PasswordHasher
from gateway.auth.policy import Rules
from gateway.auth.revocation import RevocationView
from gateway.store import Store


@dataclass(frozen=True)
class Services:
    """`revocations` is this process's view: a change that must end access at once (a disabled
    user, a revoked token) is told to it after the store has it; other processes read the store
    at their next refresh. `allow_private_webhooks`: webhook targets may be non-public addresses."""

    store: Store
    hasher: PasswordHasher
    revocations: RevocationView
    rules: Rules
    allow_private_webhooks: bool = False
