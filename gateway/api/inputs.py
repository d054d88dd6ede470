"""Request bodies: a JSON object whose fields are checked by name, type and value.

Strict on purpose: an unknown field, a wrong type or `null` is a 400 naming the field, so a
typo (`"admn": true`) fails loudly instead of being silently ignored.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from aiohttp import web

from gateway import safe_json
from gateway.api.errors import TOO_LARGE, ApiError, bad_request

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT = 4096
MAX_LIST = 1000


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or raise 400 (malformed) / 413 (too large)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(TOO_LARGE, f"request body larger than {MAX_BODY_BYTES} bytes")
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(TOO_LARGE, f"request body larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise bad_request("the request body must be a JSON object")
    try:
        data = safe_json.loads(raw)
    except ValueError:
        raise bad_request("the request body is not valid JSON (UTF-8)") from None
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object")
    try:  # "\ud800" escapes decode to lone surrogates, which no text column or hash can take
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("the request body holds text that is not valid Unicode (a lone surrogate)") from None
    return data


class Body:
    """Typed access to the fields of a JSON object body; refuses fields not in `allowed`."""

    def __init__(self, data: dict[str, Any], allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        unknown = sorted(k for k in data if k not in allowed)
        if unknown:
            shown = ", ".join(repr(k[:40]) for k in unknown[:5])
            raise bad_request(f"unknown field(s) {shown}; allowed: {', '.join(allowed)}")
        self._data = data

    def _get(self, name: str, required: bool) -> Any:
        if name not in self._data:
            if required:
                raise bad_request(f"field {name!r} is required")
            return None
        value = self._data[name]
        if value is None:
            raise bad_request(f"field {name!r} may not be null; leave it out instead")
        return value

    def text(self, name: str, *, required: bool = False, max_length: int = MAX_TEXT) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise bad_request(f"field {name!r} must be a string")
        if len(value) > max_length:
            raise bad_request(f"field {name!r} is longer than {max_length} characters")
        return value

    def required_text(self, name: str, *, max_length: int = MAX_TEXT) -> str:
        value = self.text(name, required=True, max_length=max_length)
        assert value is not None
        return value

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self._get(name, required)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise bad_request(f"field {name!r} must be an integer")
        return value

    def flag(self, name: str) -> bool | None:
        value = self._get(name, False)
        if value is not None and not isinstance(value, bool):
            raise bad_request(f"field {name!r} must be true or false")
        return value

    def choice(self, name: str, choices: Collection[str], *, required: bool = False) -> str | None:
        value = self.text(name, required=required)
        if value is not None and value not in choices:
            raise bad_request(f"field {name!r} must be one of {', '.join(choices)}")
        return value

    def texts(self, name: str, *, choices: Collection[str] | None = None) -> list[str] | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request(f"field {name!r} must be a list of strings")
        if len(value) > MAX_LIST:
            raise bad_request(f"field {name!r} has more than {MAX_LIST} items")
        if choices is not None and any(v not in choices for v in value):
            raise bad_request(f"field {name!r} may only hold {', '.join(choices)}")
        return value

    def text_map(self, name: str, *, max_items: int = 20, max_length: int = 1000) -> dict[str, str] | None:
        """A JSON object of string values (e.g. extra HTTP headers)."""
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, dict) or len(value) > max_items or not all(
            isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 100 and len(v) <= max_length
            for k, v in value.items()
        ):
            raise bad_request(f"field {name!r} must map up to {max_items} names to strings")
        return value
