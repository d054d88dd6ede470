"""What registry 2.8 reads as a request's form, so the gateway decides on the same values.

The registry reads `mount`, `from`, `digest` and `_state` with Go's `r.FormValue`, which parses
the URL query with `url.ParseQuery` and, for POST, PUT and PATCH, also a body whose Content-Type
is `application/x-www-form-urlencoded` (whose values then come before the query's) or
`multipart/form-data`. The gateway never lets a body be read as a form (`without_form_body`),
and reads the query the way Go does (`go_query`): `&` is the only separator, a pair holding `;`
or a bad `%` escape is dropped, `+` is a space, and the first of repeated keys is the one used.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote_plus

from multidict import CIMultiDict, MultiDict, MultiDictProxy

FORM_MEDIA_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
NEUTRAL_CONTENT_TYPE = "application/octet-stream"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _unescape(text: str) -> str | None:
    """Go's `url.QueryUnescape`: None where Go refuses the text (a `%` without two hex digits)."""
    if _BAD_ESCAPE.search(text):
        return None
    return unquote_plus(text, errors="replace")


@functools.lru_cache(maxsize=128)
def go_query(raw_query: str) -> MultiDictProxy[str]:
    """The query as Go's `url.ParseQuery` (Go 1.17 and later) sees it; `.get` gives the value
    `r.FormValue` returns. Read-only and kept for a while: a request's query is parsed by the
    challenge, the checks of its reference and the event recorder, each asking for it again."""
    values: MultiDict[str] = MultiDict()
    for pair in raw_query.split("&"):
        if not pair or ";" in pair:
            continue
        key, _, value = pair.partition("=")
        decoded_key, decoded_value = _unescape(key), _unescape(value)
        if decoded_key is not None and decoded_value is not None:
            values.add(decoded_key, decoded_value)
    return MultiDictProxy(values)


def read_as_form(content_type: str) -> bool:
    """Whether Go would parse a body of this Content-Type as a form. Go compares the media type
    lower-cased (Unicode-aware) and trimmed, whatever its parameters, even malformed ones; a
    value that is not plain ASCII counts as a form, since Go's case folding differs from Python's."""
    media_type = content_type.split(";", 1)[0]
    if not media_type.isascii():
        return True
    return media_type.strip().lower() in FORM_MEDIA_TYPES


def without_form_body(headers: CIMultiDict[str]) -> CIMultiDict[str]:
    """These request headers, but with `application/octet-stream` in place of every Content-Type
    when any of them would make the registry read the body as a form (Go reads the first; aiohttp
    refuses repeats, but every one is looked at all the same)."""
    if not any(read_as_form(value) for value in headers.getall("Content-Type", ())):
        return headers
    kept = headers.copy()
    kept["Content-Type"] = NEUTRAL_CONTENT_TYPE  # replaces every one
    return kept
