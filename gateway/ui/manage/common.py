"""What the management pages share: reading a posted form, the one-line flash message after a
redirect (signed for the session: gateway.ui.notices), and the size of a page."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from yarl import URL

from gateway.ui.auth import field
from gateway.ui.notices import notice, notice_query

PAGE_SIZE = 50
FLASH = "done"


def text(form: MultiDictProxy[Any], name: str) -> str:
    """A posted text field, surrounding blanks dropped ('' when missing)."""
    return field(form, name).strip()


def checked(form: MultiDictProxy[Any], name: str) -> list[str]:
    """The values of the checked boxes named `name`."""
    return [value for value in form.getall(name, []) if isinstance(value, str)]


def flash(request: web.Request) -> str | None:
    """The one-line message a redirect after a POST carried, when this session's server made it."""
    return notice(request, FLASH)


def done(request: web.Request, path: str, message: str, **query: str) -> web.HTTPSeeOther:
    """The redirect after a successful POST, to a GET page, with its flash message signed for this session."""
    return web.HTTPSeeOther(str(URL(path).with_query({**query, **notice_query(request, FLASH, message)})))


def after(request: web.Request, name: str = "after") -> str:
    """Where a page of a list starts (a name from the previous page's "next" link)."""
    return request.query.get(name, "")[:256]
