"""The host the gateway names in its challenge and Locations when no public URL is set."""

from __future__ import annotations

from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.public import request_host


def _request(host: str, sockname: object = ("10.0.0.5", 5000)) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.return_value = sockname
    return make_mocked_request("GET", "/v2/", headers={"Host": host}, transport=transport)


@pytest.mark.parametrize("host", ["registry.example.com", "registry.example.com:5000", "127.0.0.1:5000", "[::1]:5000", "localhost"])
def test_a_host_header_naming_a_host_is_used(host: str) -> None:
    assert request_host(_request(host)) == host


@pytest.mark.parametrize("host", ['evil",error="x', "a b", "a,b", "host:port", "-leading", "x:123456"])
def test_a_host_header_that_is_not_a_host_gives_the_sockets_own_address(host: str) -> None:
    assert request_host(_request(host)) == "10.0.0.5:5000"
    assert request_host(_request(host, ("::1", 5000, 0, 0))) == "[::1]:5000"
    assert request_host(_request(host, "/run/gateway.sock")) == "localhost"
