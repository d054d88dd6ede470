"""Two gateways on one store, as several instances run: what one changes, the other follows
through the store's change version (not its periodic revocation refresh, set to an hour here),
and the grant cache serves repeated token requests on MariaDB as on SQLite, bookkeeping written
elsewhere or not."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import aiohttp
import pytest

from gateway.store import ManifestRow, NewEvent, PullMark, Store, open_store
from tests.support.client import USERS
from tests.support.processes import Gateway
from tests.support.waiting import eventually_async

pytestmark = pytest.mark.slow  # several gateways or databases per test: run first (tests/conftest.py)

# A deadline that keeps a broken gateway from hanging the test, far below the hourly refresh:
# meeting it proves the change version carried the revocation (the promise is 1 s).
DEADLINE = 20.0


@pytest.fixture
def twins_env() -> dict[str, str]:
    return {"GATEWAY_REVOCATION_REFRESH_SECONDS": "3600"}


async def _token_status(session: aiohttp.ClientSession, gateway: Gateway, user: str, scope: str) -> tuple[int, str]:
    params = [("service", gateway.host), ("scope", scope)]
    headers = {"Authorization": aiohttp.encode_basic_auth(user, USERS[user])}
    async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
        body = await response.json()
        return response.status, str(body.get("token", ""))


async def _tags_status(session: aiohttp.ClientSession, gateway: Gateway, repository: str, token: str) -> int:
    async with session.get(f"{gateway.url}/v2/{repository}/tags/list", headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status


async def test_a_user_disabled_through_one_instance_is_refused_by_the_other(
    twins: tuple[Gateway, Gateway], session: aiohttp.ClientSession
) -> None:
    first, second = twins
    scope = "repository:alice/app:pull"
    status, token = await _token_status(session, second, "alice", scope)
    assert status == 200
    assert await _tags_status(session, second, "alice/app", token) == 404, "authorized: the repository is empty"
    assert (await _token_status(session, second, "alice", scope))[0] == 200  # the decision is now cached there

    first.cli("user", "disable", "alice")
    refused = await eventually_async(
        lambda: _tags_status(session, second, "alice/app", token), lambda status: status == 401, timeout=DEADLINE
    )
    assert refused == 401, "the other instance still accepted the disabled user's registry token"
    assert (await _token_status(session, second, "alice", scope))[0] == 401, "nor does it issue new tokens from its cache"

    first.cli("user", "enable", "alice")
    accepted = await eventually_async(
        lambda: _token_status(session, second, "alice", scope), lambda answer: answer[0] == 200, timeout=DEADLINE
    )
    assert accepted[0] == 200


async def test_the_same_token_request_within_a_second_gets_the_same_signed_token(
    twins: tuple[Gateway, Gateway], session: aiohttp.ClientSession
) -> None:
    """The grant cache answers from memory on both stores (on MariaDB it used to be off): asked
    twice in the same second, on an unchanged store, the answer is the very same token."""
    _, second = twins
    scope = "repository:alice/app:pull"
    pairs = []
    for _ in range(20):
        started = int(time.time())
        pair = [await _token_status(session, second, "alice", scope) for _ in range(2)]
        if int(time.time()) == started:
            pairs.append(pair)
        if len(pairs) >= 3:
            break
    assert pairs, "no two requests landed within one second"
    for (status_a, token_a), (status_b, token_b) in pairs:
        assert status_a == status_b == 200
        assert token_a == token_b, "the second request was decided and signed again"


async def _answer(session: aiohttp.ClientSession, gateway: Gateway, user: str, scope: str) -> tuple[str, int]:
    """The token answered, and the second it was signed in."""
    params = [("service", gateway.host), ("scope", scope)]
    headers = {"Authorization": aiohttp.encode_basic_auth(user, USERS[user])}
    async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
        assert response.status == 200
        body = await response.json()
    return str(body["token"]), int(datetime.fromisoformat(body["issued_at"]).timestamp())


async def _bookkeeping(store: Store, attempt: int) -> None:
    body = {"action": "pull", "target": {"repository": "alice/app", "tag": "latest"}}
    assert await store.add_event(NewEvent(f"e{attempt}", 1000 + attempt, "pull", "alice/app", "latest", "", "alice", body))
    await store.index_pulls([PullMark("alice/app", "latest", "", 1000 + attempt)])
    await store.create_session(f"session-{attempt}", "alice")


async def _push(store: Store, attempt: int) -> None:
    digest = "sha256:" + f"{attempt:064x}"
    manifest = ManifestRow("bob/app", digest, "application/vnd.oci.image.manifest.v1+json", 100, None, None, None, 1000)
    await store.index_push(manifest, "latest")


WRITES: dict[str, Callable[[Store, int], Awaitable[None]]] = {"bookkeeping": _bookkeeping, "a push": _push}


@pytest.mark.parametrize("write", sorted(WRITES))
async def test_bookkeeping_or_a_push_written_elsewhere_leaves_the_other_instance_answering_from_its_cache(
    twins: tuple[Gateway, Gateway], session: aiohttp.ClientSession, database_url: str, write: str
) -> None:
    """An event, pull times and a UI session committed by another process decide nothing, and a
    push (a tag moved, a manifest indexed) decides no token grant: the same request again gets
    the very same token while its answer is held (at least half of ANSWER_SECONDS after the
    second it was signed in). On SQLite any commit used to end it, and then any push.

    Tried until three pairs landed so, within DEADLINE: an answer signed in an earlier second is
    given again for up to ANSWER_SECONDS, so a fixed number of quick tries can all meet one."""
    _, second = twins
    scope = "repository:alice/app:pull"
    store = await open_store(database_url)
    held = 0
    deadline = time.monotonic() + DEADLINE
    try:
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            token, signed = await _answer(session, second, "alice", scope)
            await WRITES[write](store, attempt)
            again, _ = await _answer(session, second, "alice", scope)
            if int(time.time()) == signed:  # well within the answer's hold
                assert again == token, f"{write} committed elsewhere ended the cached answer"
                held += 1
            if held >= 3:
                break
    finally:
        await store.close()
    assert held, "no pair of requests landed within the second their answer was signed in"
