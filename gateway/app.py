"""The app factory: wires keys, resources (cleanup contexts), routes and signals; nothing else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from gateway import keys
from gateway.api import setup_api
from gateway.app_services import services_of
from gateway.auth.credentials import DEFAULT_COST, PasswordHasher
from gateway.auth.endpoint import get_token, post_token
from gateway.auth.grant_cache import GrantCache
from gateway.auth.keyfiles import load_or_create_signing_key, load_verification_key
from gateway.auth.login import Authenticator, CredentialCache
from gateway.auth.revocation import RevocationView, refreshing
from gateway.auth.sealing import load_or_create_sealer
from gateway.auth.throttle import LoginThrottle
from gateway.auth.tokens import TokenIssuer, TokenVerifier
from gateway.background import running
from gateway.config import Settings, uses_data_dir
from gateway.events.recorder import EventRecorder, default_source_addr, recording
from gateway.events.resolver import PublicResolver
from gateway.events.retention import pruning
from gateway.events.upstream import receive_upstream_events
from gateway.events.webhooks import WebhookDispatcher, delivering, policy_from, seal_stored_secrets, sync_configured
from gateway.identity.ldap import LdapConfig, LdapDirectory
from gateway.identity.ldap_login import LdapSignIn
from gateway.identity.oidc import OidcClient
from gateway.ops.holder import lease_holder
from gateway.ops.maintenance import maintaining
from gateway.ops.setup import setup_ops
from gateway.private_files import private_dir
from gateway.registry.errors import API_VERSION, API_VERSION_HEADER
from gateway.registry.gate_reads import GateReads
from gateway.registry.manifest_cache import ManifestCache, following
from gateway.registry.manifest_writes import sweeping
from gateway.registry.proxy import v2_handler
from gateway.registry.storage_blobs import senders
from gateway.registry.uploads import UploadBinder
from gateway.store import Conflict, Store, open_store
from gateway.store.change_watch import ChangeWatch, watching
from gateway.ui.app import setup_ui

log = logging.getLogger(__name__)

# Room for big (and hostile) Authorization headers, so they reach us and get a proper 401.
_HANDLER_ARGS = {"max_field_size": 65536, "max_line_size": 16384}


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = await open_store(settings.effective_database_url)
    store.use_sealer(app[keys.SEALER])
    try:
        await store.migrate()
        await _ensure_admin(app, store)
        app[keys.STORE] = store
        app[keys.GATE_READS] = GateReads(store)
        ldap = _ldap_sign_in(app)
        authenticator = Authenticator(
            store, app[keys.HASHER], CredentialCache(),
            LoginThrottle(settings.login_max_failures, settings.login_failure_window), directory=ldap,
        )
        app[keys.AUTHENTICATOR] = authenticator
        yield
        await authenticator.close()
    finally:
        await store.close()


def _ldap_sign_in(app: web.Application) -> LdapSignIn | None:
    """The LDAP directory's sign-in, when [ldap] names one (its sync starts in `_ldap_sync_ctx`)."""
    config = LdapConfig.from_settings(app[keys.SETTINGS])
    if config is None:
        return None
    app[keys.LDAP] = sign_in = LdapSignIn(LdapDirectory(config), services_of(app))
    return sign_in


async def _ldap_sync_ctx(app: web.Application) -> AsyncIterator[None]:
    sign_in = app.get(keys.LDAP)
    if sign_in is None:
        yield
        return
    try:
        async with running(sign_in.run(app[keys.SETTINGS].ldap_sync_interval), "ldap-sync"):
            yield
    finally:
        sign_in.directory.close()


async def _ensure_admin(app: web.Application, store: Store) -> None:
    """Create the configured first admin if missing; an existing user is left as it is."""
    settings = app[keys.SETTINGS]
    if not settings.admin_username or not settings.admin_password:
        return
    if await store.get_user(settings.admin_username) is not None:
        return
    try:
        await store.create_user(settings.admin_username, await app[keys.HASHER].hash(settings.admin_password), admin=True)
        log.info("created admin user %r", settings.admin_username)
    except Conflict:
        pass


async def _keys_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    if uses_data_dir(settings):
        private_dir(settings.data_dir)
    key = load_or_create_signing_key(settings.token_key_file, settings.token_cert_file, settings.data_dir)
    app[keys.SEALER] = load_or_create_sealer(settings.effective_secrets_key_file)
    app[keys.SIGNING_KEY] = key
    app[keys.ISSUER] = TokenIssuer(key, settings.issuer, settings.token_ttl)
    previous = [load_verification_key(path) for path in settings.token_previous_cert_files]
    app[keys.VERIFIER] = TokenVerifier([*previous, key], settings.issuer)
    app[keys.UPLOAD_BINDER] = UploadBinder(key.secret_material(b"upload-binding"), settings.upload_session_ttl)
    yield


async def _upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    """One pooled session to the registry: over its Unix socket when one is set (no TCP stack
    between the two, and no port the registry can be reached on but through us), else TCP."""
    socket_path = app[keys.SETTINGS].upstream_socket
    connector: aiohttp.BaseConnector
    if socket_path is not None:
        connector = aiohttp.UnixConnector(str(socket_path), limit=512, keepalive_timeout=30)
    else:
        connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=30, enable_cleanup_closed=True)
    session = aiohttp.ClientSession(connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
    app[keys.UPSTREAM] = session
    yield
    await session.close()


async def _events_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    recorder = EventRecorder(app[keys.STORE], default_source_addr(settings.listen_port))
    app[keys.EVENTS] = recorder
    async for _ in recording(recorder):
        yield


async def _webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, store = app[keys.SETTINGS], app[keys.STORE]
    await sync_configured(store, settings)
    await seal_stored_secrets(store)
    allow_private = settings.webhooks_allow_private_targets
    connector = aiohttp.TCPConnector(resolver=None if allow_private else PublicResolver())
    session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
    metrics = app[keys.METRICS]
    data_dir = settings.data_dir if settings.data_dir.is_dir() else None  # _keys_ctx made it if anything lives there
    try:
        with lease_holder(data_dir, app[keys.WORKER]) as holder:
            dispatcher = WebhookDispatcher(
                store, session, policy_from(settings), holder,
                on_failure=metrics.webhook_failed, on_depth=metrics.set_outbox_depth, allow_private_targets=allow_private,
            )
            app[keys.WEBHOOKS] = dispatcher
            async for _ in delivering(dispatcher):
                async for _ in pruning(store, settings.events_retention_days, settings.events_retention_count):
                    yield
    finally:
        await session.close()


async def _changes_ctx(app: web.Application) -> AsyncIterator[None]:
    watch = ChangeWatch(app[keys.STORE], app[keys.SETTINGS].changes_poll_seconds)
    app[keys.CHANGES] = watch
    async for _ in watching(watch):
        yield


async def _revocation_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    async for _ in refreshing(app[keys.REVOCATIONS], app[keys.STORE], app[keys.CHANGES], settings.revocation_refresh_seconds):
        yield


async def _senders_ctx(app: web.Application) -> AsyncIterator[None]:
    root = app[keys.SETTINGS].upstream_storage_dir
    if root is not None and not root.is_dir():
        log.warning("upstream.storage_dir %s is not a directory (yet): blobs go through the proxy until it is", root)
    async for pool in senders():
        app[keys.BLOB_SENDERS] = pool
        yield


async def _manifest_cache_ctx(app: web.Application) -> AsyncIterator[None]:
    async for _ in following(app[keys.MANIFEST_CACHE], app[keys.STORE], app[keys.CHANGES]):
        yield


async def _oidc_ctx(app: web.Application) -> AsyncIterator[None]:
    """The OpenID Connect client, with its own session to the provider, when one is configured."""
    settings = app[keys.SETTINGS]
    if not settings.oidc_enabled:
        yield
        return
    session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    app[keys.OIDC] = client = OidcClient(settings, session)
    yield
    await client.close()
    await session.close()


async def _tag_deletions_ctx(app: web.Application) -> AsyncIterator[None]:
    async for _ in sweeping(app):
        yield


async def _api_version_header(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/v2"):
        response.headers[API_VERSION_HEADER] = API_VERSION


def create_app(settings: Settings, *, announce_setup: bool = True, worker: int = 0) -> web.Application:
    """`announce_setup`: this process logs the first-run setup URL (see gateway.ui.first_run);
    `worker`: its index among the processes of `serve --workers N` (see gateway.ops.holder)."""
    app = web.Application(handler_args=_HANDLER_ARGS)
    if settings.password_cost < DEFAULT_COST:
        log.warning(
            "auth.password_cost %d is below OWASP's %d: new password hashes are weak (for tests only)",
            settings.password_cost, DEFAULT_COST,
        )
    app[keys.SETTINGS] = settings
    app[keys.WORKER] = worker
    app[keys.HASHER] = PasswordHasher(processes=settings.server_workers, cost=settings.password_cost)
    app[keys.POLICY_RULES] = settings.policy_rules()
    app[keys.REVOCATIONS] = RevocationView()
    app[keys.MANIFEST_CACHE] = ManifestCache()
    app[keys.GRANT_CACHE] = GrantCache()
    app.cleanup_ctx.extend([
        _keys_ctx, _store_ctx, _changes_ctx, _upstream_ctx, _events_ctx, _webhooks_ctx, _revocation_ctx, _manifest_cache_ctx,
        _senders_ctx, _ldap_sync_ctx, _oidc_ctx, _tag_deletions_ctx, maintaining,
    ])
    app.on_response_prepare.append(_api_version_header)
    setup_ops(app)
    app.router.add_get("/v2/token", get_token)
    app.router.add_post("/v2/token", post_token)
    app.router.add_post("/v2/webhooks/events", receive_upstream_events)
    app.router.add_route("*", "/v2{tail:(?s:.*)}", v2_handler)  # (?s): a %0A in the path is the handler's to judge
    setup_api(app)
    setup_ui(app, announce_setup=announce_setup)
    return app
