"""The one-line notice a page shows after a POST redirected to it, carried in the redirect's query.

Anyone can write a query, so a notice travels with an HMAC of its name and text keyed by the
signed-in session's notice key (derived from the session id, which only that browser holds): a
page shows it only when the MAC verifies, compared in constant time. A crafted or edited link,
or one made for another session, shows nothing (no error), and no session means no notice.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from gateway.ui.pages import signed_in

SIGNATURE = "sig"
_LONGEST = 2000


def _mac(key: bytes, name: str, text: str) -> str:
    return hmac.new(key, f"{name}\0{text}".encode(), hashlib.sha256).hexdigest()


def signed_notice(key: bytes, name: str, text: str) -> dict[str, str]:
    """The query parameters carrying notice `name` made by the session whose notice key is `key`."""
    return {name: text, SIGNATURE: _mac(key, name, text)}


def notice_query(request: web.Request, name: str, text: str) -> dict[str, str]:
    """The notice parameters for this request's session (none without a session: none could be shown)."""
    who = signed_in(request)
    return {} if who is None else signed_notice(who.notice_key, name, text)


def notice(request: web.Request, name: str) -> str | None:
    """Notice `name` of this page's query when this session's server made it, else None."""
    who = signed_in(request)
    text, given = request.query.get(name, ""), request.query.get(SIGNATURE, "")
    if who is None or not text or len(text) > _LONGEST or not given.isascii():
        return None
    expected = _mac(who.notice_key, name, text)
    return text if hmac.compare_digest(given.encode("ascii"), expected.encode("ascii")) else None
