"""Web UI sessions: a random id in an HttpOnly cookie, a row in the store under the id's hash.

Every request checks the row again: not ended, within the idle and absolute lifetimes, and
its user still there (not deleted, not re-created since the sign-in) and not disabled, by the
store's row and this process's revocation view. A session that fails is ended for good, so
enabling the user again does not bring it back. The form token (CSRF) of a session is derived
from its id, so the store holds nothing that yields either.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from gateway import keys
from gateway.auth.permissions import Actor
from gateway.store import User
from gateway.store.sql import now

UI_PATH = "/ui"
SESSION_COOKIE = "portus_session"
_ID_BYTES = 32
_MAX_COOKIE = 128


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user of this request (their store row, read for this request)."""

    id_hash: str
    user: User
    csrf: str
    notice_key: bytes = field(repr=False)

    @property
    def actor(self) -> Actor:
        return Actor(self.user.name, admin=self.user.admin)


def id_hash(session_id: str) -> str:
    return hashlib.sha256(b"portus-gateway ui session:" + session_id.encode("utf-8")).hexdigest()


def csrf_token(session_id: str) -> str:
    return hashlib.sha256(b"portus-gateway ui form:" + session_id.encode("utf-8")).hexdigest()


def notice_key(session_id: str) -> bytes:
    """The key of the session's notices (gateway.ui.notices), apart from its form token, which pages show."""
    return hashlib.sha256(b"portus-gateway ui notice:" + session_id.encode("utf-8")).digest()


def set_private_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    """A cookie only this UI's pages get, never script (HttpOnly), never on cross-site
    subrequests (Lax), and only over HTTPS when browsers reach us over HTTPS."""
    response.set_cookie(
        name, value, path=UI_PATH, httponly=True, samesite="Lax", secure=request.config_dict[keys.SETTINGS].behind_tls,
    )


def forget_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path=UI_PATH)


async def current_session(request: web.Request) -> tuple[SignedIn | None, bool]:
    """The signed-in user of this request, and whether a session cookie came that is no longer
    good (ended, expired, its user gone or disabled): the caller then drops the cookie."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not session_id:
        return None, False
    if len(session_id) > _MAX_COOKIE:
        return None, True
    app = request.config_dict
    store, settings = app[keys.STORE], app[keys.SETTINGS]
    hashed = id_hash(session_id)
    row = await store.get_session(hashed)
    if row is None or row.ended_at is not None:
        return None, True
    moment = now()
    expired = moment - row.last_seen_at > settings.ui_session_idle or moment - row.created_at > settings.ui_session_max
    user = None if expired else await store.get_user(row.username)
    if (
        user is None or user.disabled or user.created_at > row.created_at
        or app[keys.REVOCATIONS].is_revoked(row.username, None, row.created_at)
    ):
        await store.end_session(hashed)
        return None, True
    await store.touch_session(hashed, moment)
    return SignedIn(hashed, user, csrf_token(session_id), notice_key(session_id)), False


async def start_session(request: web.Request, response: web.StreamResponse, username: str) -> bytes:
    """A new session with a new id (whatever id the browser had is ended: no fixation); its notice key."""
    app = request.config_dict
    store, settings = app[keys.STORE], app[keys.SETTINGS]
    old = request.cookies.get(SESSION_COOKIE, "")
    if old and len(old) <= _MAX_COOKIE:
        await store.end_session(id_hash(old))
    await store.prune_sessions(settings.ui_session_idle, settings.ui_session_max)
    session_id = secrets.token_urlsafe(_ID_BYTES)
    await store.create_session(id_hash(session_id), username)
    set_private_cookie(request, response, SESSION_COOKIE, session_id)
    return notice_key(session_id)


async def end_session(request: web.Request, response: web.StreamResponse, signed_in: SignedIn) -> None:
    await request.config_dict[keys.STORE].end_session(signed_in.id_hash)
    forget_cookie(response, SESSION_COOKIE)
