"""Check the bearer token of a /v2 request against the access the request needs.

Denying is raising `Challenge`; one place (the /v2 handler) turns it into a 401 with
`WWW-Authenticate`. No database: the token carries the grant, revocation is in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web
from multidict import MultiDictProxy

from gateway import keys
from gateway.auth.namespaces import namespace_facts
from gateway.auth.policy import Identity, namespace_of, repository_actions, reserved_message
from gateway.auth.scopes import Scope, format_scopes
from gateway.auth.tokens import TokenError, VerifiedToken
from gateway.names import could_be_a_user
from gateway.public import service_name, token_realm
from gateway.registry.errors import challenge_header, error_response
from gateway.registry.go_form import go_query
from gateway.registry.routes import Route, method_actions, mount_source, mount_sources, required_access
from gateway.registry.uploads import PARAM as UPLOAD_PARAM
from gateway.registry.uploads import split_query

log = logging.getLogger(__name__)


class Challenge(Exception):
    """The request needs a (better) token. `error` is None, invalid_token or insufficient_scope."""

    def __init__(
        self, scopes: tuple[Scope, ...], error: str | None, reason: str, subject: str = "", app_token: str | None = None
    ) -> None:
        super().__init__(reason)
        self.scopes = scopes
        self.error = error
        self.reason = reason
        self.subject = subject
        self.app_token = app_token


@dataclass(frozen=True)
class Access:
    """What the proxy needs to know about an authorized request."""

    subject: str
    strip_mount: bool = False
    app_token: str | None = None
    app_token_name: str | None = None


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _upload_binding_allows(request: web.Request, route: Route, token: str, service: str) -> VerifiedToken | None:
    """An expired token may continue the upload it opened (see registry/uploads.py)."""
    if route.kind != "upload" or not route.reference:
        return None
    _, bound = split_query(request.rel_url.raw_query_string, UPLOAD_PARAM)
    if bound is None:
        return None
    try:
        verified = request.app[keys.VERIFIER].verify(token, service, allow_expired=True)
    except TokenError:
        return None
    if request.app[keys.UPLOAD_BINDER].verify(bound, route.name, route.reference, verified.subject):
        return verified
    return None


def without_mount(raw_query: str) -> str:
    """A raw query with every `mount` and `from` taken out (a mount the caller may not make)."""
    raw_query, _ = split_query(raw_query, "mount")
    raw_query, _ = split_query(raw_query, "from")
    return raw_query


def registry_query(request: web.Request, access: Access | None = None) -> MultiDictProxy[str]:
    """The query as the registry will read it: Go's parse of what the gateway forwards, so every
    decision on `mount`, `from` and `digest` is taken on the values the registry acts on."""
    raw_query = request.rel_url.raw_query_string
    if access is not None and access.strip_mount:
        raw_query = without_mount(raw_query)
    return go_query(raw_query)


def challenge_scopes(request: web.Request, route: Route) -> tuple[Scope, ...]:
    scopes = required_access(request.method, route)
    source = mount_source(request.method, route, registry_query(request))
    if source and source != route.name:
        scopes += (Scope("repository", source, ("pull",)),)
    return scopes


def authorize(request: web.Request, route: Route) -> Access:
    """The access of a valid token that covers this request, or raise Challenge."""
    app = request.app
    needed = required_access(request.method, route)
    token = _bearer(request)
    if token is None:
        raise Challenge(challenge_scopes(request, route), None, "no bearer token")
    service = service_name(request, app[keys.SETTINGS])
    try:
        verified = app[keys.VERIFIER].verify(token, service)
    except TokenError as exc:
        fallback = _upload_binding_allows(request, route, token, service) if exc.expired else None
        if fallback is None:
            raise Challenge(challenge_scopes(request, route), "invalid_token", exc.reason) from None
        log.info("expired token of %r continues upload %s in %s", fallback.subject, route.reference, route.name)
        verified = fallback
    if app[keys.REVOCATIONS].is_revoked(verified.subject, verified.app_token, verified.issued_at):
        raise Challenge(
            challenge_scopes(request, route), "invalid_token",
            f"subject {verified.subject!r} is disabled or its application token was revoked",
        )
    revocations = app[keys.REVOCATIONS]
    for scope in needed:
        missing = [a for a in scope.actions if not verified.allows(scope.type, scope.name, a)]
        if missing:
            raise Challenge(
                challenge_scopes(request, route),
                "insufficient_scope",
                f"token of {verified.subject or 'anonymous'!r} lacks {','.join(missing)} on {scope.type}:{scope.name}",
                verified.subject, verified.app_token,
            )
        if scope.type == "repository" and revocations.predates_reservation(scope.name, verified.issued_at):
            raise Challenge(
                challenge_scopes(request, route), "invalid_token",
                f"token of {verified.subject or 'anonymous'!r} was issued before namespace"
                f" {namespace_of(scope.name)!r} was deleted and reserved",
            )
    sources = mount_sources(request.method, route, registry_query(request))
    strip = not all(
        verified.allows("repository", s, "pull") and not revocations.predates_reservation(s, verified.issued_at)
        for s in sources
    )
    if strip:
        log.info("mount from %s stripped: %r may not pull it", ", ".join(map(repr, sources)), verified.subject)
    return Access(
        subject=verified.subject, strip_mount=strip, app_token=verified.app_token, app_token_name=verified.app_token_name
    )


def challenge_response(request: web.Request, challenge: Challenge) -> web.Response:
    settings = request.app[keys.SETTINGS]
    log.info("%s %s refused (%s): %s", request.method, request.path, challenge.error or "no token", challenge.reason)
    header = challenge_header(
        token_realm(request, settings), service_name(request, settings), format_scopes(challenge.scopes), challenge.error
    )
    code, message = "UNAUTHORIZED", "authentication required"
    if challenge.error == "insufficient_scope":
        message = "access to the requested resource is not authorized"
    detail = [s.as_claim() for s in challenge.scopes] or None
    return error_response(code, message, detail, headers={"WWW-Authenticate": header})


async def missing_namespace_denial(request: web.Request, route: Route, challenge: Challenge) -> web.Response | None:
    """A request refused because its namespace does not exist gets a clear answer instead of a
    challenge a new token cannot satisfy: 403 DENIED for a push, 404 NAME_UNKNOWN for a read
    (clients look before they push); one refused because its namespace is reserved (deleted with
    repositories in it) gets 403 DENIED saying so. Only refused requests pay these lookups.

    Only for a caller to whom it reveals nothing: one who could create the namespace and so
    learn whether it exists anyway (`_may_create`). A user signed in with their password who
    could not create it, where the policy lets them not even pull, gets one clear answer (DENIED
    to a push, NAME_UNKNOWN to a read) whether the namespace is missing, reserved or hidden: no
    token would help them there, so no challenge is lost. Anonymous callers and other application tokens get
    the same challenge for a missing namespace as for one they may not see, so names cannot be
    probed."""
    if challenge.error != "insufficient_scope" or not route.name:
        return None
    namespace = namespace_of(route.name)
    if not namespace or not challenge.subject:
        return None
    identity = Identity(challenge.subject)
    rules = request.app[keys.POLICY_RULES]
    facts = await namespace_facts(request.app[keys.STORE], identity, namespace, rules)
    pushing = "push" in method_actions(request.method)
    if not await _may_create(request, challenge, namespace):
        if challenge.app_token is None and "pull" not in repository_actions(identity, route.name, facts, rules).actions:
            log.info(
                "%s %s denied (%s): namespace %r is %s to them", request.method, request.path, challenge.reason,
                namespace, "missing" if facts.kind == "missing" else f"{facts.kind} and hidden",
            )
            verb = "push to" if pushing else "read"
            message = f"namespace {namespace!r} does not exist or is not yours to {verb}; ask an administrator"
            return error_response("DENIED" if pushing else "NAME_UNKNOWN", message, {"namespace": namespace})
        return None
    if facts.kind == "reserved":
        log.info("%s %s denied: namespace %r is reserved", request.method, request.path, namespace)
        return error_response("DENIED", reserved_message(namespace), {"namespace": namespace, "reserved": True})
    if facts.kind != "missing":
        return None
    log.info("%s %s denied: namespace %r does not exist", request.method, request.path, namespace)
    message = f"namespace {namespace!r} does not exist; ask an administrator to create it"
    if pushing:
        return error_response("DENIED", message, {"namespace": namespace})
    return error_response("NAME_UNKNOWN", message, {"namespace": namespace})


async def _may_create(request: web.Request, challenge: Challenge, namespace: str) -> bool:
    """Whether the caller could create this namespace (so its existence is no secret to them): a
    name a user could have only admins create (`could_be_a_user`)."""
    if not challenge.subject:
        return False
    if could_be_a_user(namespace):
        user = await request.app[keys.STORE].get_user(challenge.subject)
        if user is None or not user.admin:
            return False
    if challenge.app_token is None:
        return True
    if not request.app[keys.POLICY_RULES].auto_create:
        return False
    record = await request.app[keys.STORE].get_app_token(challenge.app_token)
    return (
        record is not None and "push" in record.actions
        and (not record.namespaces or namespace in record.namespaces)
    )
