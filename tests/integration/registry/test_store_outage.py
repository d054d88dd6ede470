"""A store that fails in the middle of /v2 traffic (MariaDB restarting, a broken table) is a 503
UNAVAILABLE the client can retry, never a 500 with a traceback: the soak saw chunked uploads
answered 500 while MariaDB restarted (the upload state is read and written per request)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import aiohttp
import pymysql
from yarl import URL

from tests.integration.api.conftest import no_traceback_since
from tests.support.client import bearer
from tests.support.processes import Gateway


def _drop_uploads_table(database_url: str) -> None:
    """Break the store under the running gateway: its upload state has nowhere to live."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            db.execute("DROP TABLE uploads")
        return
    url = URL(database_url)
    connection = pymysql.connect(host=url.host, port=url.port or 3306, user=url.user, password=url.password or "",
                                 database=url.path.strip("/"))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE uploads")
    connection.close()


async def test_a_chunk_sent_while_the_store_fails_gets_503_unavailable(
    make_gateway: Callable[..., Gateway], database_url: str, session: aiohttp.ClientSession
) -> None:
    gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url})
    start = gateway.log_path.stat().st_size
    push = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/outage:pull,push")
    async with session.post(f"{gateway.url}/v2/alice/outage/blobs/uploads/", headers=push) as response:
        assert response.status == 202
        location = response.headers["Location"]
    _drop_uploads_table(database_url)
    headers = {**push, "Content-Type": "application/octet-stream", "Content-Range": "0-3"}
    async with session.patch(URL(gateway.url).join(URL(location)), data=b"data", headers=headers) as response:
        body = await response.json()
        assert response.status == 503, body
        assert body["errors"][0]["code"] == "UNAVAILABLE"
    no_traceback_since(gateway, start, allow_5xx=True)
