"""What an access line shows of a request target: secrets redacted however their names are
spelt, quotes escaped, the length bounded."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from yarl import URL

from gateway.ops.access_log import MAX_PATH, loggable_target


def _request(target: str) -> web.Request:
    """A request whose target is kept as sent, percent-escapes and all, as the server keeps it."""
    return make_mocked_request("GET", "/").clone(rel_url=URL(target, encoded=True))


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/v2/token?service=r&password=hunter2", "/v2/token?service=r&password=redacted"),
        ("/v2/token?p%61ssword=hunter2&x=1", "/v2/token?p%61ssword=redacted&x=1"),
        ("/v2/a/b/blobs/uploads/u?_state=abc%3D&_gw=1.ff", "/v2/a/b/blobs/uploads/u?_state=redacted&_gw=redacted"),
        ("/v2/a/b/blobs/uploads/u?%5Fstate=abc", "/v2/a/b/blobs/uploads/u?%5Fstate=redacted"),
        ('/v2/"quoted"', "/v2/%22quoted%22"),
    ],
)
def test_secret_query_values_are_redacted_and_quotes_escaped(target: str, expected: str) -> None:
    assert loggable_target(_request(target)) == expected


def test_a_long_target_is_cut() -> None:
    target = loggable_target(_request("/v2/_catalog?last=" + "a" * 20000))
    assert len(target) == MAX_PATH + 3 and target.endswith("...")
