"""The extra HTTP headers an operator gives a webhook, checked where they are set (the API, the
configuration) so a bad one is refused there instead of failing every delivery to that endpoint."""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")  # an RFC 9110 token
_VALUE = re.compile(r"[\t\x20-\x7e]*")  # visible ASCII, spaces and tabs: no CR, LF or NUL
SIGNATURE_HEADER = "X-Gateway-Signature"
DELIVERY_HEADER = "X-Gateway-Delivery"
# Set by the gateway on every delivery, or by the HTTP client: an extra header may not replace them.
RESERVED = frozenset({
    "content-type", "content-length", "transfer-encoding", "host", "connection",
    SIGNATURE_HEADER.lower(), DELIVERY_HEADER.lower(),
})


def header_problem(name: str, value: str) -> str | None:
    """Why a webhook may not send `name: value`; None when it may."""
    if not _NAME.fullmatch(name):
        return f"header name {name[:100]!r} is not an HTTP token (letters, digits and !#$%&'*+.^_`|~-)"
    if name.lower() in RESERVED:
        return f"header {name!r} is set by the gateway"
    if not _VALUE.fullmatch(value):
        return f"the value of header {name!r} may hold only visible ASCII, spaces and tabs"
    return None


def headers_problem(headers: Mapping[str, str]) -> str | None:
    """Why a webhook may not send these headers (the first bad one); None when it may."""
    for name, value in headers.items():
        if (problem := header_problem(name, value)) is not None:
            return problem
    return None
