"""The services in-process, on a migrated store (once SQLite, once MariaDB), with the actors the
tests act as."""

from __future__ import annotations

import pytest

from gateway.auth.credentials import MIN_COST, PasswordHasher
from gateway.auth.permissions import Actor
from gateway.auth.policy import Rules
from gateway.auth.revocation import RevocationView
from gateway.services.context import Services
from gateway.store import Store

ADMIN = Actor("root", admin=True)
ALICE = Actor("alice")
BOB = Actor("bob")


@pytest.fixture
def services(store: Store) -> Services:
    return Services(store, PasswordHasher(cost=MIN_COST), RevocationView(), Rules(), allow_private_webhooks=False)
