"""Every object shared through the aiohttp Application, under a typed key."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from gateway.auth.credentials import PasswordHasher
from gateway.auth.grant_cache import GrantCache
from gateway.auth.keyfiles import SigningKey
from gateway.auth.login import Authenticator
from gateway.auth.policy import Rules
from gateway.auth.revocation import RevocationView
from gateway.auth.sealing import Sealer
from gateway.auth.tokens import TokenIssuer, TokenVerifier
from gateway.background import Tasks
from gateway.config import Settings
from gateway.events.recorder import EventRecorder
from gateway.events.webhooks import WebhookDispatcher
from gateway.identity.ldap_login import LdapSignIn
from gateway.identity.oidc import OidcClient
from gateway.ops.inflight import InFlight
from gateway.ops.metrics import Metrics
from gateway.registry.gate_reads import GateReads
from gateway.registry.manifest_cache import ManifestCache
from gateway.registry.storage_blobs import SenderPool
from gateway.registry.uploads import UploadBinder
from gateway.store import Store
from gateway.store.change_watch import ChangeWatch

SETTINGS = web.AppKey("settings", Settings)
WORKER = web.AppKey("worker", int)  # index among the processes of `serve --workers N`; 0 alone
STORE = web.AppKey("store", Store)
SIGNING_KEY = web.AppKey("signing_key", SigningKey)
SEALER = web.AppKey("sealer", Sealer)
ISSUER = web.AppKey("issuer", TokenIssuer)
VERIFIER = web.AppKey("verifier", TokenVerifier)
HASHER = web.AppKey("hasher", PasswordHasher)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
POLICY_RULES = web.AppKey("policy_rules", Rules)
REVOCATIONS = web.AppKey("revocations", RevocationView)
CHANGES = web.AppKey("changes", ChangeWatch)
UPLOAD_BINDER = web.AppKey("upload_binder", UploadBinder)
UPSTREAM = web.AppKey("upstream", aiohttp.ClientSession)
METRICS = web.AppKey("metrics", Metrics)
IN_FLIGHT = web.AppKey("in_flight", InFlight)
EVENTS = web.AppKey("events", EventRecorder)
WEBHOOKS = web.AppKey("webhooks", WebhookDispatcher)
MANIFEST_CACHE = web.AppKey("manifest_cache", ManifestCache)
GRANT_CACHE = web.AppKey("grant_cache", GrantCache)
GATE_READS = web.AppKey("gate_reads", GateReads)  # the write gates' reads, per data version
BLOB_SENDERS = web.AppKey("blob_senders", SenderPool)
OIDC = web.AppKey("oidc", OidcClient)  # only when OpenID Connect is configured
LDAP = web.AppKey("ldap", LdapSignIn)  # only when [ldap] names a directory
MAINTENANCE = web.AppKey("maintenance", Tasks)  # runs started through the API or UI, and scheduled ones
